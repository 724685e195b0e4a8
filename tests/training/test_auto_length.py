"""Training with the defaults: automatic length, a held-out validation split, early stopping that keeps the best
epoch (and survives a crash), and the per-family learning-rate defaults."""
import json
import math

import keras
import numpy as np
import pytest

from keras_llm import datasets
from keras_llm.data.splits import holdout_split
from keras_llm.training import defaults
from keras_llm.training.callbacks.best_checkpoint import BestCheckpoint
from keras_llm.training.trainer import evaluate_language_model, make_eval_dataset, train_language_model
from helpers import CrashAt

TINY = {"seq_len": 16, "batch_size": 8, "vocab_size": 200, "hidden_dim": 32, "num_layers": 1, "dropout": 0.0,
        "verbose": 0, "sample_prompts": ["the"], "sample_tokens": 3, "serving_dir": ""}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "sentences.txt"
    datasets.write_corpus(datasets.grammar_sentences(400, seed=3), str(path))
    return str(path)


def _strings(dataset):
    return [t.decode() for t in dataset.as_numpy_iterator()]


def test_holdout_split_holds_out_every_nth_example_and_loses_none(tmp_path):
    path = tmp_path / "lines.txt"
    path.write_text("".join(f"line {i}\n" for i in range(47)) + "\n   \n")  # blank lines are dropped first
    train, held_out = holdout_split([str(path)], every=10)
    assert _strings(held_out) == ["line 9", "line 19", "line 29", "line 39"]
    assert _strings(train) == [f"line {i}" for i in range(47) if i % 10 != 9]
    assert _strings(train) == _strings(holdout_split([str(path)], every=10)[0])  # deterministic
    with pytest.raises(ValueError, match="every must be >= 2"):
        holdout_split([str(path)], every=1)


def test_defaults_depend_on_family_and_length():
    assert defaults.default_learning_rate(recurrent=True) == 1e-3
    assert defaults.default_learning_rate(recurrent=False, width=64) == 3e-3
    assert defaults.default_learning_rate(recurrent=False, width=256) == 1e-3
    assert defaults.default_learning_rate(recurrent=False, width=768) == 3e-4
    assert defaults.default_warmup_steps(400) == 20 and defaults.default_warmup_steps(10**6) == 1000
    assert defaults.auto_epochs(50) == (50, 30)  # small data: capped at 30 passes
    assert defaults.auto_epochs(400) == (400, 5)
    assert defaults.auto_epochs(10**5) == (1000, 3)  # a big corpus is validated every 1000 steps


def _model():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    return model


def test_best_checkpoint_stops_after_patience_and_restores_the_best_epoch(tmp_path):
    model = _model()
    best = BestCheckpoint(tmp_path / "best", patience=2)
    best.set_model(model)
    kernels = {}
    for epoch, value in enumerate([3.0, 2.0, 2.5, 2.6, 1.0]):
        model.layers[0].kernel.assign(np.full((4, 3), float(epoch), "float32"))
        kernels[epoch] = model.get_weights()
        best.on_epoch_end(epoch, {"val_loss": value})
        if getattr(model, "stop_training", False):
            break
    assert (epoch, best.stopped_epoch, best.best_epoch, best.best_value) == (3, 3, 1, 2.0)
    best.on_train_end()
    np.testing.assert_array_equal(model.get_weights()[0], kernels[1][0])
    # Only the best and the previous best epochs' weights are kept on disk.
    assert sorted(p.name for p in (tmp_path / "best").iterdir()) == ["best.json", "epoch-0.weights.h5",
                                                                     "epoch-1.weights.h5"]


def test_best_checkpoint_resume_drops_epochs_after_the_checkpoint(tmp_path):
    model = _model()
    first = BestCheckpoint(tmp_path, patience=2)
    first.set_model(model)
    for epoch, value in enumerate([3.0, 2.0, 2.5, 2.6]):
        first.on_epoch_end(epoch, {"val_loss": value})
    assert first.stopped
    # The process died after recording epoch 3 but before the checkpoint of epoch 3 was written.
    resumed = BestCheckpoint(tmp_path, patience=2).resume(completed_epochs=3)
    assert sorted(resumed.values) == [0, 1, 2] and not resumed.stopped and resumed.best_epoch == 1
    assert BestCheckpoint(tmp_path, patience=2).resume(completed_epochs=4).stopped


@pytest.mark.slow  # end to end; the TFX stack runs it (scripts/test.sh)
def test_automatic_length_validates_on_a_held_out_split_and_keeps_the_best_epoch(corpus, tmp_path):
    result = train_language_model({"model": "gru", "train": [corpus], "output": str(tmp_path), **TINY})
    metrics = result.metrics
    per_epoch = metrics["total_steps"] // result.config.epochs
    assert (per_epoch, result.config.epochs) == defaults.auto_epochs(per_epoch)
    assert metrics["epochs_run"] <= result.config.epochs and 1 <= metrics["best_epoch"] <= metrics["epochs_run"]
    assert metrics["stopped_early"] == (metrics["epochs_run"] < result.config.epochs)
    assert metrics["steps"] == metrics["epochs_run"] * per_epoch  # the steps trained, not the best epoch's
    assert result.config.learning_rate == 1e-3 and result.config.warmup_steps == int(0.05 * metrics["total_steps"])
    saved = json.loads((tmp_path / "train_config.json").read_text())
    assert saved["epochs"] == result.config.epochs and saved["patience"] == defaults.AUTO_PATIENCE
    # The weights written are the best epoch's: the held-out split scores exactly the best validation loss.
    _, held_out = holdout_split([corpus], every=20)
    dataset, steps = make_eval_dataset(result.config, result.tokenizer, held_out)
    keras_llm_loss = result.model.evaluate(dataset, steps=steps, return_dict=True, verbose=0)["loss"]
    np.testing.assert_allclose(keras_llm_loss, metrics["val_loss"], rtol=1e-5)
    np.testing.assert_allclose(metrics["val_perplexity"], math.exp(metrics["val_loss"]), rtol=1e-6)
    assert min(result.history["val_loss"]) == pytest.approx(metrics["val_loss"], rel=1e-6)
    assert not (tmp_path / "backup").exists()
    # Trained, not near a unigram model: the held-out perplexity is far below the vocabulary size.
    assert metrics["val_perplexity"] < 0.25 * result.tokenizer.vocabulary_size
    assert evaluate_language_model(str(tmp_path), [corpus])["perplexity"] < metrics["val_perplexity"] * 1.5


@pytest.mark.slow  # end to end; the TFX stack runs it (scripts/test.sh)
def test_early_stopping_run_resumes_to_the_weights_of_an_uninterrupted_run(corpus, tmp_path):
    settings = dict(TINY, model="lstm", train=[corpus], epochs=6, valid_split=0.05, patience=2, deterministic=True)
    reference = train_language_model(dict(settings, output=str(tmp_path / "reference")))
    per_epoch = reference.metrics["total_steps"] // 6
    crash = per_epoch * 2 + per_epoch // 2  # in the middle of the third epoch
    with pytest.raises(KeyboardInterrupt):
        train_language_model(dict(settings, output=str(tmp_path / "resumed")), callbacks=[CrashAt(crash)])
    state = json.loads((tmp_path / "resumed" / "backup" / "best" / "best.json").read_text())
    assert sorted(map(int, state["values"])) == [0, 1]
    resumed = train_language_model(dict(settings, output=str(tmp_path / "resumed")))
    for key in ("best_epoch", "epochs_run", "stopped_early", "val_loss", "steps"):
        assert resumed.metrics[key] == reference.metrics[key], key
    for a, b in zip(reference.model.get_weights(), resumed.model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_compile_language_model_defaults_follow_the_family_and_the_length():
    from keras_llm.models import RNNLanguageModel, TransformerLanguageModel
    from keras_llm.training import compile_language_model
    from keras_llm.training.schedules import WarmupDecaySchedule

    recurrent = compile_language_model(RNNLanguageModel(50, hidden_dim=8))
    assert float(keras.ops.convert_to_numpy(recurrent.optimizer.learning_rate)) == pytest.approx(1e-3)
    wide = compile_language_model(TransformerLanguageModel(50, num_layers=1, hidden_dim=768, num_heads=12,
                                                           intermediate_dim=32, max_sequence_length=8),
                                  total_steps=400)
    schedule = wide.optimizer._learning_rate
    assert isinstance(schedule, WarmupDecaySchedule)
    assert (schedule.peak_learning_rate, schedule.warmup_steps, schedule.total_steps) == (3e-4, 20, 400)
    given = compile_language_model(RNNLanguageModel(50, hidden_dim=8), optimizer={"learning_rate": 0.5})
    assert float(keras.ops.convert_to_numpy(given.optimizer.learning_rate)) == pytest.approx(0.5)
