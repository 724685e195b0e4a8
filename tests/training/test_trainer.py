"""`train_language_model` / `evaluate_language_model`: outputs, explicit dirs for TFX, resume, NaN stop,
the model registry and one-line setting errors."""
import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_llm.export import export_saved_model

from helpers import CrashAt
from keras_llm import datasets
from keras_llm.cli import main
from keras_llm.tokenizers import train_tokenizer
from keras_llm.training import callbacks as cb
from keras_llm.training import model_registry
from keras_llm.training.model_registry import ModelKind, UnavailableModelError, build_model
from keras_llm.training.train_config import TrainConfig
from keras_llm.training.trainer import (
    evaluate_language_model,
    load_trained,
    make_dataset,
    sample_function,
    train_language_model,
)

TINY = {"seq_len": 16, "batch_size": 8, "vocab_size": 200, "hidden_dim": 32, "num_layers": 1, "num_heads": 2,
        "dropout": 0.0, "verbose": 0, "sample_prompts": ["the"], "sample_tokens": 3}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "documents.txt"
    datasets.write_corpus(datasets.grammar_documents(120, seed=1), str(path))
    return str(path)


def _settings(corpus, output, **overrides):
    settings = {"model": "gpt", "train": [corpus], "output": str(output), **TINY, **overrides}
    if settings["model"] in ("rnn", "lstm", "gru"):
        settings.pop("num_heads")
    return settings


def test_train_with_given_tokenizer_and_explicit_output_dirs(corpus, tmp_path):
    tokenizer = train_tokenizer("word", corpus, 200)
    tensorboard, serving = tmp_path / "model_run", tmp_path / "serving_model"
    result = train_language_model(_settings(corpus, tmp_path / "run", valid=[corpus], steps=6, steps_per_epoch=3,
                                            tensorboard_dir=str(tensorboard), serving_dir=str(serving)),
                                  exporter=export_saved_model,
                                  tokenizer=tokenizer)
    assert result.tokenizer is tokenizer
    assert os.path.dirname(result.paths["serving"]) == str(serving)
    assert os.path.isfile(os.path.join(result.paths["serving"], "saved_model.pb"))
    assert os.listdir(tensorboard / "train") and os.listdir(tensorboard / "validation")
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    for key in ("loss", "perplexity", "tokens_per_second", "num_parameters", "val_loss", "val_perplexity"):
        assert np.isfinite(metrics[key]) and metrics[key] > 0, key
    assert metrics["steps"] == 6 and metrics["num_parameters"] == result.model.count_params()

    model, loaded_tokenizer, config = load_trained(str(tmp_path / "run"))
    assert config.model == "gpt" and loaded_tokenizer.get_vocabulary() == tokenizer.get_vocabulary()
    for a, b in zip(model.get_weights(), result.model.get_weights()):
        np.testing.assert_array_equal(a, b)
    evaluation = evaluate_language_model(str(tmp_path / "run"), [corpus])
    assert set(evaluation) == {"loss", "perplexity", "num_tokens"}
    # same data, same weights, same batches as the last validation pass
    np.testing.assert_allclose(evaluation["loss"], metrics["val_loss"], rtol=1e-5)
    np.testing.assert_allclose(evaluation["perplexity"], metrics["val_perplexity"], rtol=1e-5)
    assert evaluation["num_tokens"] > 1000


def test_epochs_mode_trains_whole_passes(corpus, tmp_path):
    result = train_language_model(_settings(corpus, tmp_path, model="gru", epochs=2, serving_dir=""))
    one_pass = make_dataset(result.config, result.tokenizer, [corpus], shuffle=False)
    per_epoch = int(one_pass.reduce(0, lambda n, *_: n + 1))
    assert result.metrics["steps"] == 2 * per_epoch and len(result.history["loss"]) == 2
    assert result.paths["serving"] is None and not (tmp_path / "serving").exists()


def test_resume_continues_mid_epoch_to_the_same_weights(corpus, tmp_path):
    settings = dict(model="lstm", steps=10, steps_per_epoch=6, checkpoint_every=2, serving_dir="")
    reference = train_language_model(_settings(corpus, tmp_path / "reference", **settings))
    with pytest.raises(KeyboardInterrupt):
        train_language_model(_settings(corpus, tmp_path / "resumed", **settings), callbacks=[CrashAt(5)])
    assert not (tmp_path / "resumed" / "model.keras").exists()
    assert json.loads((tmp_path / "resumed" / "backup" / "training_metadata.json").read_text())["batch"] == 3
    resumed = train_language_model(_settings(corpus, tmp_path / "resumed", **settings))
    assert resumed.metrics["steps"] == 10 and not (tmp_path / "resumed" / "backup").exists()
    for a, b in zip(reference.model.get_weights(), resumed.model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_non_finite_loss_stops_naming_the_step_and_keeps_the_checkpoint(corpus, tmp_path):
    settings = _settings(corpus, tmp_path, model="lstm", steps=8, checkpoint_every=1, learning_rate=1e38)
    pattern = r"^loss is (nan|inf) at step (\d+) .*last good checkpoint kept in"
    with pytest.raises(cb.NonFiniteLossError, match=pattern) as info:
        train_language_model(settings)
    assert "\n" not in str(info.value)
    metadata = json.loads((tmp_path / "backup" / "training_metadata.json").read_text())
    assert metadata["batch"] == info.value.step - 2  # saved after the step before the bad one
    assert not (tmp_path / "model.keras").exists()


@pytest.mark.parametrize("kind", ["bert", "seq2seq"])
def test_other_tasks_train_when_their_model_exists(kind, tmp_path, capsys):
    lines = (datasets.grammar_translation_pairs(60, seed=0) if kind == "seq2seq"
             else datasets.grammar_documents(60, seed=0))
    path = tmp_path / "data.txt"
    datasets.write_corpus(lines, str(path))
    result = train_language_model(_settings(str(path), tmp_path / "run", model=kind, steps=2),
                                  exporter=export_saved_model)
    assert np.isfinite(result.metrics["loss"]) and (tmp_path / "run" / "model.keras").exists()
    main_signature = {"bert": "fill_mask", "seq2seq": "generate"}[kind]
    assert main_signature in tf.saved_model.load(result.paths["serving"]).signatures
    assert main(["export", "--model-dir", str(tmp_path / "run"), "--output", str(tmp_path / "cli"), "--version", "3"]) == 0
    assert main_signature in tf.saved_model.load(str(tmp_path / "cli" / "3")).signatures
    assert set(evaluate_language_model(str(tmp_path / "run"), [str(path)])) == {"loss", "perplexity", "num_tokens"}
    samples = sample_function(result.model, result.tokenizer, result.config)(["the red dog", ""])
    assert len(samples) == 2 and all(isinstance(text, str) for text in samples)
    assert main(["generate", "--model-dir", str(tmp_path / "run"), "--prompt", "x"]) == 2
    assert "generate needs a causal language model" in capsys.readouterr().err


def test_unavailable_model_kind_is_one_clear_error(monkeypatch):
    monkeypatch.setitem(model_registry.MODEL_KINDS, "gpt", ModelKind("gpt", "causal", "NotWrittenYet", "X", {}))
    with pytest.raises(UnavailableModelError, match="^--model gpt is not available yet"):
        build_model(TrainConfig(train=["x"], output="y", steps=1), 50)


@pytest.mark.parametrize("settings, message", [
    ({"steps": 1, "epochs": 1}, "at most one of --epochs and --steps"),
    ({"patience": -1}, "--patience must be an integer >= 0"),
    ({"valid_split": 0.75}, r"--valid-split must be in \[0, 0.5\]"),
    ({"learning_rate": 0}, "--learning-rate must be positive"),
    ({"steps": 1, "train": None}, "--train is required"),
    ({"steps": 0}, "--steps must be a positive integer"),
    ({"steps": 1, "model": "transformer"}, "--model must be one of"),
    ({"steps": 1, "hidden_dim": 30, "num_heads": 4}, "not divisible"),
    ({"steps": 1, "dropout": 1.5}, "--dropout must be in"),
    ({"steps": 1, "seq_lenn": 3}, "unknown setting"),
])
def test_impossible_settings_are_one_line_errors(settings, message):
    values = {"model": "gpt", "train": ["a.txt"], "output": "out", **settings}
    with pytest.raises(ValueError, match=message):
        TrainConfig.from_dict(values).validate()


@pytest.mark.parametrize("overrides, message", [
    ({"model": "lstm", "num_heads": 2}, "--num-heads does not apply to --model lstm"),
    ({"model": "lstm", "preset": "gpt-tiny"}, "is a TransformerLanguageModel, not a --model lstm"),
    ({"model": "gpt", "preset": "gpt-tiny", "seq_len": 512}, "exceeds the model's max_sequence_length"),
    ({"model": "gpt", "preset": "nope"}, "unknown preset"),
])
def test_architecture_conflicts_are_errors(overrides, message):
    config = TrainConfig.from_dict({"train": ["a.txt"], "output": "o", "steps": 1, **overrides}).validate()
    with pytest.raises(ValueError, match=message):
        build_model(config, 50)


def test_missing_training_file_fails_before_any_work(tmp_path):
    with pytest.raises(FileNotFoundError, match="corpus file not found: .*missing.txt"):
        train_language_model({"train": [str(tmp_path / "missing.txt")], "output": str(tmp_path), "steps": 1})
    assert not any(tmp_path.iterdir())
