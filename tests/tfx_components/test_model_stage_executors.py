"""Executor-level tests of the evaluation and serving checks (PerplexityEvaluator, ServingValidator), no pipeline;
the models come from the TextTrainer executor (conftest)."""
import json
import math
import os

import pytest

pytest.importorskip("tfx")
pytestmark = pytest.mark.tfx


def model_artifact(uri):
    from tfx.types import standard_artifacts

    artifact = standard_artifacts.Model()
    artifact.uri = str(uri)
    artifact.id = abs(hash(str(uri))) % 10_000
    return artifact


def test_bless_rule():
    from tfx_components.perplexity_evaluator import bless

    assert bless(10.0, None, 20.0, 0.05)[0]
    assert not bless(25.0, None, 20.0, 0.05)[0]
    assert bless(10.4, 10.0, 20.0, 0.05)[0]
    blessed, reason = bless(10.6, 10.0, 20.0, 0.05)
    assert not blessed and "baseline" in reason
    assert not bless(float("nan"), None, 20.0, 0.05)[0]
    assert bless(1e6, None)[0]  # no bound given: any finite perplexity
    # relative to the unigram baseline: at most max_unigram_ratio x its perplexity
    assert bless(89.0, None, unigram_perplexity=100.0, max_unigram_ratio=0.9)[0]
    blessed, reason = bless(91.0, None, unigram_perplexity=100.0, max_unigram_ratio=0.9)
    assert not blessed and "0.910x the unigram baseline's 100.000" in reason
    assert bless(91.0, None, unigram_perplexity=100.0, max_unigram_ratio=None)[0]  # that check off
    # every bound must hold, and the reason names each one that does not
    blessed, reason = bless(95.0, 50.0, None, 0.05, unigram_perplexity=100.0, max_unigram_ratio=0.9)
    assert not blessed and "unigram baseline's 100.000" in reason and "blessed baseline's 50.000" in reason
    assert not bless(50.0, 40.0, None, 0.05, unigram_perplexity=100.0, max_unigram_ratio=0.9)[0]
    assert not bless(50.0, None, 45.0, 0.05, unigram_perplexity=100.0, max_unigram_ratio=0.9)[0]


def run_evaluator(tmp_path, examples, model, baseline=None, **props):
    from tfx.types import standard_artifacts

    from tfx_components.perplexity_evaluator import DEFAULT_MAX_UNIGRAM_RATIO, PerplexityEvaluatorExecutor

    evaluation, blessing = standard_artifacts.ModelEvaluation(), standard_artifacts.ModelBlessing()
    name = f"{len(os.listdir(tmp_path))}"
    evaluation.uri, blessing.uri = str(tmp_path / f"evaluation{name}"), str(tmp_path / f"blessing{name}")
    inputs = {"examples": [examples], "model": [model], "baseline_model": [baseline] if baseline else []}
    PerplexityEvaluatorExecutor().Do(inputs, {"evaluation": [evaluation], "blessing": [blessing]},
                                     {"max_unigram_ratio": DEFAULT_MAX_UNIGRAM_RATIO, "tolerance": 0.05, **props})
    return json.load(open(os.path.join(evaluation.uri, "metrics.json"))), blessing


def unigram_perplexity_by_hand(tokenizer, train_texts, eval_texts, num_tokens):
    """The causal unigram baseline computed directly: add-0.5 counts of each train text's tokens and <eos>,
    scored on each eval text's first num_tokens[i] targets."""
    import numpy as np

    from keras_llm.tokenizers.special_tokens import EOS_ID

    def targets(texts):
        return [list(ids) + [EOS_ID] for ids in tokenizer.tokenize(texts).to_list()]

    counts = np.full(tokenizer.vocabulary_size, 0.5)
    for ids in targets(train_texts):
        np.add.at(counts, ids, 1)
    log_p = np.log(counts / counts.sum())
    scored = [ids[:n] for ids, n in zip(targets(eval_texts), num_tokens)]
    return math.exp(-sum(log_p[ids].sum() for ids in scored) / sum(map(len, scored)))


def test_evaluator_scores_model_and_unigram_baseline_on_the_same_targets(tmp_path, stage_inputs, trained_lstm,
                                                                         clean_documents):
    import numpy as np
    import tensorflow as tf

    from tfx_components.model_paths import serving_model_path
    from tfx_components.perplexity_evaluator import scoring

    examples, _ = stage_inputs
    model, _ = trained_lstm
    metrics, blessing = run_evaluator(tmp_path, examples, model)
    # the model's perplexity computed again from the served `score` signature
    reloaded = tf.saved_model.load(serving_model_path(model.uri))
    scores = reloaded.signatures["score"](texts=tf.constant(clean_documents[200:]))
    expected = math.exp(-float(np.sum(scores["log_likelihood"])) / float(np.sum(scores["num_tokens"])))
    assert metrics["perplexity"] == pytest.approx(expected, rel=1e-4)
    assert metrics["num_texts"] == len(clean_documents) - 200 and metrics["task"] == "causal"
    assert metrics["num_tokens"] == int(np.sum(scores["num_tokens"]))
    unigram = unigram_perplexity_by_hand(scoring.run_tokenizer(model.uri), clean_documents[:200],
                                         clean_documents[200:], scores["num_tokens"].numpy())
    assert metrics["unigram_perplexity"] == pytest.approx(unigram, rel=1e-4)
    # 60 steps take the LSTM well below the unigram model: blessed by the default bound
    assert metrics["unigram_ratio"] == pytest.approx(metrics["perplexity"] / unigram, rel=1e-6)
    assert metrics["unigram_ratio"] < 0.8 and metrics["max_unigram_ratio"] == 0.9
    assert metrics["blessed"] and metrics["perplexity_threshold"] is None
    assert os.path.exists(os.path.join(blessing.uri, "BLESSED"))
    assert blessing.get_int_custom_property("blessed") == 1
    assert blessing.get_int_custom_property("current_model_id") == model.id
    assert blessing.get_float_custom_property("unigram_perplexity") == pytest.approx(unigram, rel=1e-4)

    strict, blessing = run_evaluator(tmp_path, examples, model, perplexity_threshold=1.0)
    assert not strict["blessed"] and "threshold" in strict["reason"]
    assert os.path.exists(os.path.join(blessing.uri, "NOT_BLESSED"))
    demanding, _ = run_evaluator(tmp_path, examples, model, max_unigram_ratio=0.1)
    assert not demanding["blessed"] and "unigram baseline" in demanding["reason"]


def test_evaluator_scores_a_masked_lm_on_masked_positions(tmp_path, stage_inputs, trained_bert, trained_lstm,
                                                          clean_documents):
    import numpy as np

    from keras_llm.training import Perplexity
    from keras_llm.training.trainer import load_trained
    from tfx_components.model_paths import keras_run_path
    from tfx_components.perplexity_evaluator import scoring

    examples, _ = stage_inputs
    model, _ = trained_bert
    texts = [t.encode() for t in clean_documents[200:]]
    # the blessed baseline is the causal LSTM: not comparable, so the masked LM is judged on the unigram rule
    metrics, blessing = run_evaluator(tmp_path, examples, model, baseline=trained_lstm[0])
    assert metrics["task"] == "masked" and metrics["baseline_perplexity"] is None
    assert "not comparable" in metrics["baseline_note"]
    assert blessing.get_int_custom_property("blessed") == int(metrics["blessed"])
    assert metrics["blessed"] == (metrics["perplexity"] <= 0.9 * metrics["unigram_perplexity"])
    # the same figure from Keras' own weighted Perplexity metric on the evaluator's masked batches
    keras_model, tokenizer, config = load_trained(keras_run_path(model.uri))
    batches = scoring.masked_eval_batches(config, tokenizer, texts)
    metric = Perplexity()
    for inputs, labels, weights in batches:
        metric.update_state(labels, keras_model(inputs, training=False), sample_weight=weights)
    assert metrics["perplexity"] == pytest.approx(float(metric.result()), rel=1e-4)
    assert metrics["num_tokens"] == int(sum(w.sum() for _, _, w in batches)) > 50
    # about 15% of the non-special tokens are scored, the same positions every time
    tokens = sum(len(ids) for ids in tokenizer.tokenize(texts).to_list())
    assert 0.08 * tokens < metrics["num_tokens"] < 0.22 * tokens
    again = scoring.masked_eval_batches(config, tokenizer, texts)
    assert all(np.array_equal(a[2], b[2]) for a, b in zip(batches, again))
    # the unigram baseline on those positions: the train split's non-special frequencies
    log_p = scoring.train_unigram_log_probs(tokenizer, examples.uri, "masked")
    unigram = math.exp(-sum(float((log_p[labels] * weights).sum()) for _, labels, weights in batches)
                       / metrics["num_tokens"])
    assert metrics["unigram_perplexity"] == pytest.approx(unigram, rel=1e-6)
    assert np.exp(log_p[:7]).max() < 1e-3  # special tokens: smoothing only


def test_serving_validator_blesses_within_budget_only(tmp_path, stage_inputs, trained_lstm):
    from tfx.types import standard_artifacts

    from tfx_components.serving_validator import ServingValidatorExecutor

    examples, _ = stage_inputs
    model, _ = trained_lstm
    results = {}
    for budget in (60_000.0, 0.0):
        blessing = standard_artifacts.InfraBlessing()
        blessing.uri = str(tmp_path / f"infra{int(budget)}")
        ServingValidatorExecutor().Do({"model": [model], "examples": [examples]}, {"blessing": [blessing]},
                                      {"latency_budget_ms": budget, "num_requests": 3})
        results[budget] = (blessing, json.load(open(os.path.join(blessing.uri, "report.json"))))
    blessing, report = results[60_000.0]
    assert blessing.get_int_custom_property("blessed") == 1
    assert os.path.exists(os.path.join(blessing.uri, "INFRA_BLESSED"))
    assert {w["signature"] for w in report["warmup"]} == {"generate", "score"}
    assert {"serving_default", "generate", "score", "generate_with_options"} <= set(report["signatures"])
    assert len(report["latencies_ms"]) == 3 and report["p95_ms"] > 0
    assert results[0.0][0].get_int_custom_property("blessed") == 0


def test_serving_validator_rejects_a_model_that_does_not_load(tmp_path, stage_inputs, trained_lstm):
    import shutil

    from tfx.types import standard_artifacts

    from tfx_components.model_paths import serving_model_path
    from tfx_components.serving_validator import ServingValidatorExecutor

    examples, _ = stage_inputs
    model, _ = trained_lstm
    broken = model_artifact(tmp_path / "broken")
    shutil.copytree(model.uri, broken.uri)
    os.remove(os.path.join(serving_model_path(broken.uri), "saved_model.pb"))
    blessing = standard_artifacts.InfraBlessing()
    blessing.uri = str(tmp_path / "infra_broken")
    ServingValidatorExecutor().Do({"model": [broken], "examples": [examples]}, {"blessing": [blessing]},
                                  {"latency_budget_ms": 60_000.0, "num_requests": 1})
    assert blessing.get_int_custom_property("blessed") == 0
    assert "does not serve TF-only" in blessing.get_string_custom_property("reason")
