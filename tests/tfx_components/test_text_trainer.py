"""TextTrainer's executor and run_fn without a pipeline: the model family and strategy from custom_config, the
outputs in the `Model` artifact, and a failed execution resumed by the next one (TFX's layout of node dirs)."""
import json
import os

import numpy as np
import pytest

pytest.importorskip("tfx")
pytestmark = pytest.mark.tfx


def signatures(model_dir):
    import tensorflow as tf
    import tensorflow_text  # noqa: F401

    return sorted(tf.saved_model.load(model_dir).signatures)


def test_lstm_trainer_writes_serving_model_keras_run_logs_and_metrics(trained_lstm):
    from tfx_components.model_paths import keras_run_path, serving_model_path

    model, model_run = trained_lstm
    serving = serving_model_path(model.uri)
    assert os.path.exists(os.path.join(serving, "assets.extra", "tf_serving_warmup_requests"))
    assert signatures(serving) == ["generate", "generate_with_options", "score", "serving_default"]
    run = keras_run_path(model.uri)
    assert {"model.keras", "tokenizer", "train_config.json", "metrics.json"} <= set(os.listdir(run))
    metrics = json.load(open(os.path.join(model_run.uri, "metrics.json")))
    assert metrics["model"] == "lstm" and metrics["task"] == "causal" and metrics["preset"] == "lstm-small"
    assert metrics["steps"] == 60 and metrics["num_parameters"] > 0
    assert metrics["strategy"] == "_DefaultDistributionStrategy"  # "auto" on one device, as keras-llm train
    assert metrics["val_loss"] < np.log(300) - 1.0  # far below uniform over the 300-word vocabulary
    config = json.load(open(os.path.join(run, "train_config.json")))
    assert (config["hidden_dim"], config["num_layers"], config["steps"]) == (32, 1, 60)
    assert any(f.startswith("events.out") for _, _, files in os.walk(model_run.uri) for f in files)
    assert not os.listdir(os.path.join(os.path.dirname(os.path.dirname(model_run.uri)), "backup"))  # cleaned up


def test_bert_family_trains_a_masked_lm_under_the_configured_strategy(trained_bert):
    import keras

    from keras_llm.models import BertMaskedLM
    from tfx_components.model_paths import keras_run_path, serving_model_path

    model, model_run = trained_bert
    assert signatures(serving_model_path(model.uri)) == ["embed", "fill_mask", "serving_default"]
    metrics = json.load(open(os.path.join(model_run.uri, "metrics.json")))
    assert metrics["model"] == "bert" and metrics["task"] == "masked" and metrics["preset"] == "bert-tiny"
    assert metrics["strategy"] == "MirroredStrategy" and metrics["steps"] == 20
    assert 0 < metrics["val_masked_token_accuracy"] <= 1
    restored = keras.saving.load_model(os.path.join(keras_run_path(model.uri), "model.keras"), compile=False)
    assert isinstance(restored, BertMaskedLM) and restored.encoder.hidden_dim == 32


class CountSteps:
    """Wraps `train_language_model` to add callbacks: a crash at a step, or a count of the steps trained."""

    def __init__(self, original, crash_at=None):
        import keras

        from helpers import CrashAt

        counter = self

        class Count(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                counter.steps += 1

        self.steps, self.original = 0, original
        self.callbacks = [Count()] + ([CrashAt(crash_at)] if crash_at else [])

    def __call__(self, config, **kwargs):
        return self.original(config, callbacks=self.callbacks, **kwargs)


def test_failed_trainer_is_resumed_by_its_rerun_to_the_uninterrupted_weights(tmp_path, stage_inputs, monkeypatch):
    import keras

    from keras_llm.training import trainer
    from tfx_components.model_paths import keras_run_path
    from tfx_components.text_trainer.executor import backup_root
    from tfx_helpers import run_text_trainer

    # lstm-small's dropout 0.3 stays on: a resume must also restore the dropout seed states.
    config = {"model": "lstm", "seq_len": 16, "batch_size": 8, "hidden_dim": 16, "num_layers": 1,
              "checkpoint_every": 5, "deterministic": True, "max_new_tokens": 4}
    node = tmp_path / "pipeline" / "TextTrainer"
    # TFX's executor reloads the run_fn module, which then imports the trainer module's function: wrap that.
    original = trainer.train_language_model
    monkeypatch.setattr(trainer, "train_language_model", CountSteps(original, crash_at=12))
    with pytest.raises(KeyboardInterrupt):
        run_text_trainer(node, *stage_inputs, config, 20, execution=1)
    backups = os.listdir(backup_root(str(node / "model_run" / "1")))
    assert len(backups) == 1  # this run's folder, named by its run key
    folder = os.path.join(backup_root(str(node / "model_run" / "1")), backups[0])
    assert "seeds-10.json" in os.listdir(folder)  # the checkpoint of step 10, with the dropout seed states

    rerun = CountSteps(original)
    monkeypatch.setattr(trainer, "train_language_model", rerun)
    model, model_run = run_text_trainer(node, *stage_inputs, config, 20, execution=2)  # TFX's re-execution
    assert rerun.steps == 10  # steps 11-20 only
    assert json.load(open(os.path.join(model_run.uri, "metrics.json")))["steps"] == 20
    assert not os.path.exists(folder)

    reference = CountSteps(original)
    monkeypatch.setattr(trainer, "train_language_model", reference)
    uninterrupted, _ = run_text_trainer(tmp_path / "other" / "TextTrainer", *stage_inputs, config, 20)
    assert reference.steps == 20
    weights = [keras.saving.load_model(os.path.join(keras_run_path(m.uri), "model.keras"), compile=False).get_weights()
               for m in (model, uninterrupted)]
    assert len(weights[0]) == len(weights[1]) > 0
    for resumed, expected in zip(*weights):
        np.testing.assert_allclose(resumed, expected, atol=1e-6)


def fn_args(custom_config, tmp_path):
    from tfx.components.trainer.fn_args_utils import FnArgs

    return FnArgs(train_files=[str(tmp_path / "train*")], eval_files=[str(tmp_path / "eval*")], train_steps=5,
                  eval_steps=1, serving_model_dir=str(tmp_path / "model" / "Format-Serving"),
                  model_run_dir=str(tmp_path / "model_run"), custom_config=custom_config)


def test_pipeline_defaults_are_the_commands(tmp_path):
    from keras_llm.training.train_config import TrainConfig
    from tfx_components.text_trainer.run_fn import train_config_from_fn_args

    config = train_config_from_fn_args(fn_args({"vocabulary_uri": "vocab", "run_key": "k", "backup_root": "b"},
                                               tmp_path))
    assert (config.model, config.preset, config.distribute) == ("gpt", "gpt-tiny", TrainConfig().distribute)
    assert (config.steps, config.tokenizer_dir, config.backup_dir) == (5, "vocab", os.path.join("b", "k"))
    assert config.serving_dir == str(tmp_path / "model" / "Format-Serving")
    assert config.output == str(tmp_path / "model" / "keras_llm")
    bert = train_config_from_fn_args(fn_args({"vocabulary_uri": "v", "model": "bert", "distribute": "none"},
                                             tmp_path))
    assert (bert.model, bert.preset, bert.distribute) == ("bert", "bert-tiny", "none")


@pytest.mark.parametrize("custom_config, message", [
    ({"model": "seq2seq"}, "not a language model family"),
    ({"model": "transformer"}, "not a language model family"),
    ({"distribute": "everywhere"}, "--distribute must be one of"),
    ({"learning_rat": 0.1}, "unknown key(s) ['learning_rat']"),
    ({"model_options": {"cell": "gru"}}, "model_options: unknown key(s) ['cell']"),
])
def test_bad_custom_config_is_a_one_line_error(tmp_path, custom_config, message):
    from tfx_components.text_trainer.run_fn import train_config_from_fn_args

    with pytest.raises(ValueError) as error:
        train_config_from_fn_args(fn_args(dict(custom_config, vocabulary_uri="v"), tmp_path))
    assert message in str(error.value) and "\n" not in str(error.value)
