"""PerplexityEvaluator's executor: perplexity of the eval split through the exported `score` signature."""
import json
import math
import os

import tensorflow as tf
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils

from tfx_components.model_paths import sample_texts, serving_model_path

BLESSED_FILE, NOT_BLESSED_FILE = "BLESSED", "NOT_BLESSED"


def saved_model_perplexity(model_dir, texts, batch_size=64):
    """exp(total negative log-likelihood / total tokens) over `texts`, via the SavedModel's `score` signature."""
    import tensorflow_text  # noqa: F401  (registers the ops the SavedModel uses)

    score = tf.saved_model.load(model_dir).signatures["score"]
    total_ll, total_tokens = 0.0, 0
    for start in range(0, len(texts), batch_size):
        out = score(texts=tf.constant(texts[start : start + batch_size]))
        total_ll += float(tf.reduce_sum(tf.cast(out["log_likelihood"], tf.float64)))
        total_tokens += int(tf.reduce_sum(out["num_tokens"]))
    if total_tokens == 0:
        raise ValueError(f"no tokens to score for {model_dir}")
    return math.exp(-total_ll / total_tokens), total_tokens


def bless(perplexity, baseline_perplexity, threshold, tolerance):
    """Blessed when below the absolute threshold and no more than `tolerance` (relative) worse than the
    baseline (the latest blessed model), if there is one. Returns (blessed, reason)."""
    if not math.isfinite(perplexity) or perplexity > threshold:
        return False, f"perplexity {perplexity:.3f} is above the threshold {threshold:.3f}"
    if baseline_perplexity is not None and perplexity > baseline_perplexity * (1.0 + tolerance):
        return False, (f"perplexity {perplexity:.3f} is worse than the blessed baseline's {baseline_perplexity:.3f} "
                       f"by more than {tolerance:.1%}")
    return True, "meets the threshold" + ("" if baseline_perplexity is None else " and the baseline")


class Executor(base_executor.BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        examples = artifact_utils.get_single_instance(input_dict["examples"])
        model = artifact_utils.get_single_instance(input_dict["model"])
        baselines = input_dict.get("baseline_model") or []
        baseline = baselines[0] if baselines else None
        # A re-run whose trainer was cached evaluates the very model that is already the latest blessed one.
        # Blessing it again would make TFX's Pusher push an identical copy under a new version.
        already_blessed = baseline is not None and baseline.id == model.id
        if already_blessed:
            baseline = None
        texts = sample_texts(examples.uri, exec_properties.get("split") or "eval",
                             exec_properties.get("text_feature") or "text", int(exec_properties.get("max_examples") or 2000))
        print(f"PerplexityEvaluator: scoring {len(texts)} eval texts with the trained SavedModel"
              f"{' and the blessed baseline' if baseline is not None else ''} ...", flush=True)
        perplexity, tokens = saved_model_perplexity(serving_model_path(model.uri), texts)
        baseline_perplexity = None
        if baseline is not None:
            baseline_perplexity, _ = saved_model_perplexity(serving_model_path(baseline.uri), texts)
        blessed, reason = bless(perplexity, baseline_perplexity, float(exec_properties["perplexity_threshold"]),
                                float(exec_properties["tolerance"]))
        if already_blessed:
            blessed, reason = False, "already the latest blessed model: nothing new to push"

        print(f"PerplexityEvaluator: perplexity {perplexity:.3f}; {'blessed' if blessed else 'not blessed'}: {reason}",
              flush=True)
        metrics = {"perplexity": perplexity, "num_tokens": tokens, "num_texts": len(texts),
                   "baseline_perplexity": baseline_perplexity, "blessed": blessed, "reason": reason}
        evaluation = artifact_utils.get_single_instance(output_dict["evaluation"])
        tf.io.gfile.makedirs(evaluation.uri)
        with tf.io.gfile.GFile(os.path.join(evaluation.uri, "metrics.json"), "w") as f:
            f.write(json.dumps(metrics, indent=2))
        evaluation.set_float_custom_property("perplexity", perplexity)

        blessing = artifact_utils.get_single_instance(output_dict["blessing"])
        tf.io.gfile.makedirs(blessing.uri)
        with tf.io.gfile.GFile(os.path.join(blessing.uri, BLESSED_FILE if blessed else NOT_BLESSED_FILE), "w") as f:
            f.write(reason + "\n")
        blessing.set_int_custom_property("blessed", int(blessed))
        blessing.set_string_custom_property("current_model", model.uri)
        blessing.set_int_custom_property("current_model_id", model.id)
        blessing.set_float_custom_property("perplexity", perplexity)
        blessing.set_string_custom_property("reason", reason)
        blessing.set_int_custom_property("already_blessed", int(already_blessed))
        if baseline is not None:
            blessing.set_string_custom_property("baseline_model", baseline.uri)
            blessing.set_int_custom_property("baseline_model_id", baseline.id)
            blessing.set_float_custom_property("baseline_perplexity", baseline_perplexity)
