"""PerplexityEvaluator's executor: eval-split perplexity of the trained model, of the unigram baseline on the same
targets (`scoring`), of the latest blessed model; the blessing decision (`bless`)."""
import json
import math
import os

import tensorflow as tf
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils

from keras_llm.tasks import TASKS
from tfx_components.model_paths import sample_texts, serving_model_path
from tfx_components.perplexity_evaluator import scoring

BLESSED_FILE, NOT_BLESSED_FILE = "BLESSED", "NOT_BLESSED"
DEFAULT_MAX_UNIGRAM_RATIO = 0.9


def bless(perplexity, baseline_perplexity, threshold=None, tolerance=0.05, unigram_perplexity=None,
          max_unigram_ratio=None):
    """The blessing rule. A model is blessed when its perplexity is finite and
    - at most `threshold` (None: no absolute bound),
    - at most `max_unigram_ratio` times the unigram baseline's `unigram_perplexity` (either None: not checked),
    - no more than `tolerance` (relative) above the latest blessed model's `baseline_perplexity`, if any.

    Returns:
        `(blessed, reason)`: every rule that failed, or else every rule met, joined by "; ".

    Example:
        >>> bless(40.0, None, unigram_perplexity=120.0, max_unigram_ratio=0.9)
        (True, 'perplexity 40.000 is 0.333x the unigram baseline (at most 0.9x)')
    """
    if not math.isfinite(perplexity):
        return False, f"perplexity {perplexity} is not finite"
    met, failed = [], []
    if threshold is not None:
        if perplexity > threshold:
            failed.append(f"above the threshold {threshold:.3f}")
        else:
            met.append(f"at most the threshold {threshold:.3f}")
    if unigram_perplexity is not None and max_unigram_ratio is not None:
        ratio = perplexity / unigram_perplexity
        if ratio > max_unigram_ratio:
            failed.append(f"{ratio:.3f}x the unigram baseline's {unigram_perplexity:.3f} (at most "
                          f"{max_unigram_ratio}x to be blessed)")
        else:
            met.append(f"{ratio:.3f}x the unigram baseline (at most {max_unigram_ratio}x)")
    if baseline_perplexity is not None:
        if perplexity > baseline_perplexity * (1.0 + tolerance):
            failed.append(f"worse than the blessed baseline's {baseline_perplexity:.3f} by more than {tolerance:.1%}")
        else:
            met.append(f"within {tolerance:.1%} of the blessed baseline's {baseline_perplexity:.3f}")
    if failed:
        return False, f"perplexity {perplexity:.3f} is " + "; ".join(failed)
    return True, f"perplexity {perplexity:.3f} is " + ("; ".join(met) if met else "finite (no bound set)")


def _optional_float(value):
    return None if value is None or value == "" else float(value)


def evaluate_model(model_uri, examples_uri, texts, feature="text", with_unigram=True):
    """`{"task", "perplexity", "num_tokens", "unigram_perplexity"}` of one `Model` artifact on `texts` (the
    unigram baseline's on the same targets, or None without `with_unigram`)."""
    task = scoring.model_task(model_uri)
    tokenizer = scoring.run_tokenizer(model_uri) if with_unigram else None
    log_probs = scoring.train_unigram_log_probs(tokenizer, examples_uri, task, feature) if with_unigram else None
    if TASKS[task].masked_targets:
        perplexity, unigram, count = scoring.masked_lm_perplexities(model_uri, texts, log_probs)
        return {"task": task, "perplexity": perplexity, "num_tokens": count, "unigram_perplexity": unigram}
    log_likelihoods, num_tokens = scoring.saved_model_scores(serving_model_path(model_uri), texts)
    if not num_tokens.sum():
        raise ValueError(f"no tokens to score for {model_uri}")
    unigram = scoring.causal_unigram_perplexity(tokenizer, texts, num_tokens, log_probs) if with_unigram else None
    return {"task": task, "perplexity": math.exp(-log_likelihoods.sum() / num_tokens.sum()),
            "num_tokens": int(num_tokens.sum()), "unigram_perplexity": unigram}


class Executor(base_executor.BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        examples = artifact_utils.get_single_instance(input_dict["examples"])
        model = artifact_utils.get_single_instance(input_dict["model"])
        baselines = input_dict.get("baseline_model") or []
        baseline = baselines[0] if baselines else None
        threshold = _optional_float(exec_properties.get("perplexity_threshold"))
        ratio_bound = _optional_float(exec_properties.get("max_unigram_ratio"))
        tolerance = float(exec_properties.get("tolerance") or 0.0)
        feature = exec_properties.get("text_feature") or "text"
        # A re-run whose trainer was cached evaluates the very model that is already the latest blessed one.
        # Blessing it again would make TFX's Pusher push an identical copy under a new version.
        already_blessed = baseline is not None and baseline.id == model.id
        if already_blessed:
            baseline = None
        texts = sample_texts(examples.uri, exec_properties.get("split") or "eval", feature,
                             int(exec_properties.get("max_examples") or 2000))
        print(f"PerplexityEvaluator: scoring {len(texts)} eval texts with the trained model, the unigram "
              f"baseline{' and the blessed model' if baseline is not None else ''} ...", flush=True)
        current = evaluate_model(model.uri, examples.uri, texts, feature)
        baseline_perplexity, baseline_note = None, None
        baseline_task = scoring.model_task(baseline.uri) if baseline is not None else None
        if baseline_task not in (None, current["task"]):
            baseline_note = (f"the blessed model is a {baseline_task} LM, this one a {current['task']} LM: "
                             f"their perplexities are not comparable, so not compared")
            baseline = None
        if baseline is not None:
            baseline_perplexity = evaluate_model(baseline.uri, examples.uri, texts, feature, with_unigram=False)[
                "perplexity"]
        perplexity, unigram_perplexity = current["perplexity"], current["unigram_perplexity"]
        blessed, reason = bless(perplexity, baseline_perplexity, threshold, tolerance, unigram_perplexity, ratio_bound)
        if already_blessed:
            blessed, reason = False, "already the latest blessed model: nothing new to push"

        print(f"PerplexityEvaluator: {current['task']} perplexity {perplexity:.3f} (unigram baseline "
              f"{unigram_perplexity:.3f}); {'blessed' if blessed else 'not blessed'}: {reason}", flush=True)
        metrics = {"task": current["task"], "perplexity": perplexity, "num_tokens": current["num_tokens"],
                   "num_texts": len(texts), "unigram_perplexity": unigram_perplexity,
                   "unigram_ratio": perplexity / unigram_perplexity, "max_unigram_ratio": ratio_bound,
                   "perplexity_threshold": threshold, "baseline_perplexity": baseline_perplexity,
                   "baseline_note": baseline_note, "tolerance": tolerance, "blessed": blessed, "reason": reason}
        evaluation = artifact_utils.get_single_instance(output_dict["evaluation"])
        tf.io.gfile.makedirs(evaluation.uri)
        with tf.io.gfile.GFile(os.path.join(evaluation.uri, "metrics.json"), "w") as f:
            f.write(json.dumps(metrics, indent=2))
        evaluation.set_float_custom_property("perplexity", perplexity)
        evaluation.set_float_custom_property("unigram_perplexity", unigram_perplexity)

        blessing = artifact_utils.get_single_instance(output_dict["blessing"])
        tf.io.gfile.makedirs(blessing.uri)
        with tf.io.gfile.GFile(os.path.join(blessing.uri, BLESSED_FILE if blessed else NOT_BLESSED_FILE), "w") as f:
            f.write(reason + "\n")
        blessing.set_int_custom_property("blessed", int(blessed))
        blessing.set_string_custom_property("current_model", model.uri)
        blessing.set_int_custom_property("current_model_id", model.id)
        blessing.set_float_custom_property("perplexity", perplexity)
        blessing.set_float_custom_property("unigram_perplexity", unigram_perplexity)
        blessing.set_string_custom_property("reason", reason)
        blessing.set_int_custom_property("already_blessed", int(already_blessed))
        if baseline is not None:
            blessing.set_string_custom_property("baseline_model", baseline.uri)
            blessing.set_int_custom_property("baseline_model_id", baseline.id)
            blessing.set_float_custom_property("baseline_perplexity", baseline_perplexity)
