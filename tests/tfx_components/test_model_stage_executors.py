"""Executor-level tests of the model stage (TextTrainer, PerplexityEvaluator, ServingValidator), no pipeline."""
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


@pytest.fixture(scope="module")
def trained(tmp_path_factory, clean_documents):
    """Runs the TextTrainer executor (TFX's GenericExecutor + our run_fn) on tiny data; returns what it made."""
    from tfx.proto import trainer_pb2
    from tfx.types import standard_artifacts
    from tfx.utils import json_utils, proto_utils

    from keras_llm.tokenizers import WordTokenizer
    from tfx_components.artifact_types import Vocabulary
    from tfx_components.text_trainer import RUN_FN, TextTrainerExecutor

    from tfx_helpers import write_examples_to

    tmp_path = tmp_path_factory.mktemp("trained")
    examples = write_examples_to(tmp_path / "examples", train=clean_documents[:200], eval=clean_documents[200:])
    vocabulary = Vocabulary()
    vocabulary.uri = str(tmp_path / "vocabulary")
    WordTokenizer.train(examples_texts(clean_documents[:200]), 300).save(vocabulary.uri)
    model = model_artifact(tmp_path / "model")
    model_run = standard_artifacts.ModelRun()
    model_run.uri = str(tmp_path / "model_run")
    config = {"model": "lstm", "seq_len": 16, "batch_size": 8, "learning_rate": 0.01,
              "model_options": {"hidden_dim": 32, "num_layers": 1}, "max_new_tokens": 8}
    TextTrainerExecutor().Do(
        {"examples": [examples], "vocabulary": [vocabulary]},
        {"model": [model], "model_run": [model_run]},
        {"train_args": proto_utils.proto_to_json(trainer_pb2.TrainArgs(num_steps=30)),
         "eval_args": proto_utils.proto_to_json(trainer_pb2.EvalArgs(num_steps=3)),
         "run_fn": RUN_FN, "custom_config": json_utils.dumps(config)})
    return examples, model, model_run


def examples_texts(texts):
    import tensorflow as tf

    return tf.data.Dataset.from_tensor_slices(texts)


def test_trainer_writes_serving_model_logs_and_metrics(trained):
    from tfx_components.model_paths import serving_model_path

    _, model, model_run = trained
    serving = serving_model_path(model.uri)
    assert os.path.exists(os.path.join(serving, "saved_model.pb"))
    assert os.path.exists(os.path.join(serving, "assets.extra", "tf_serving_warmup_requests"))
    metrics = json.load(open(os.path.join(model_run.uri, "metrics.json")))
    assert metrics["model"] == "lstm" and metrics["num_parameters"] > 0
    assert metrics["eval_loss"] < math.log(300)  # learned something beyond uniform over the vocabulary
    assert any(f.startswith("events.out") for _, _, files in os.walk(model_run.uri) for f in files)


def test_bless_rule():
    from tfx_components.perplexity_evaluator import bless

    assert bless(10.0, None, 20.0, 0.05)[0]
    assert not bless(25.0, None, 20.0, 0.05)[0]
    assert bless(10.4, 10.0, 20.0, 0.05)[0]
    blessed, reason = bless(10.6, 10.0, 20.0, 0.05)
    assert not blessed and "baseline" in reason
    assert not bless(float("nan"), None, 20.0, 0.05)[0]


def run_evaluator(tmp_path, examples, model, baseline=None, **props):
    from tfx.types import standard_artifacts

    from tfx_components.perplexity_evaluator import PerplexityEvaluatorExecutor

    evaluation, blessing = standard_artifacts.ModelEvaluation(), standard_artifacts.ModelBlessing()
    name = f"{len(os.listdir(tmp_path))}"
    evaluation.uri, blessing.uri = str(tmp_path / f"evaluation{name}"), str(tmp_path / f"blessing{name}")
    inputs = {"examples": [examples], "model": [model], "baseline_model": [baseline] if baseline else []}
    PerplexityEvaluatorExecutor().Do(inputs, {"evaluation": [evaluation], "blessing": [blessing]},
                                     {"perplexity_threshold": 1e9, "tolerance": 0.05, **props})
    return evaluation, blessing


def test_evaluator_perplexity_matches_python_scoring_and_blesses(tmp_path, trained, clean_documents):
    import numpy as np

    from tfx_components.model_paths import serving_model_path

    examples, model, _ = trained
    evaluation, blessing = run_evaluator(tmp_path, examples, model)
    metrics = json.load(open(os.path.join(evaluation.uri, "metrics.json")))
    assert os.path.exists(os.path.join(blessing.uri, "BLESSED"))
    assert blessing.get_int_custom_property("blessed") == 1
    assert blessing.get_int_custom_property("current_model_id") == model.id
    # the same perplexity computed in Python from the Keras model behind the export
    import tensorflow as tf

    reloaded = tf.saved_model.load(serving_model_path(model.uri))
    scores = reloaded.signatures["score"](texts=tf.constant(clean_documents[200:]))
    expected = math.exp(-float(np.sum(scores["log_likelihood"])) / float(np.sum(scores["num_tokens"])))
    assert metrics["perplexity"] == pytest.approx(expected, rel=1e-4)
    assert metrics["num_texts"] == len(clean_documents) - 200
    _, strict = run_evaluator(tmp_path, examples, model, perplexity_threshold=1.0)
    assert strict.get_int_custom_property("blessed") == 0
    assert os.path.exists(os.path.join(strict.uri, "NOT_BLESSED"))


def test_serving_validator_blesses_within_budget_only(tmp_path, trained):
    from tfx.types import standard_artifacts

    from tfx_components.serving_validator import ServingValidatorExecutor

    examples, model, _ = trained
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


def test_serving_validator_rejects_a_model_that_does_not_load(tmp_path, trained):
    import shutil

    from tfx.types import standard_artifacts

    from tfx_components.model_paths import serving_model_path
    from tfx_components.serving_validator import ServingValidatorExecutor

    examples, model, _ = trained
    broken = model_artifact(tmp_path / "broken")
    shutil.copytree(model.uri, broken.uri)
    os.remove(os.path.join(serving_model_path(broken.uri), "saved_model.pb"))
    blessing = standard_artifacts.InfraBlessing()
    blessing.uri = str(tmp_path / "infra_broken")
    ServingValidatorExecutor().Do({"model": [broken], "examples": [examples]}, {"blessing": [blessing]},
                                  {"latency_budget_ms": 60_000.0, "num_requests": 1})
    assert blessing.get_int_custom_property("blessed") == 0
    assert "does not serve TF-only" in blessing.get_string_custom_property("reason")
