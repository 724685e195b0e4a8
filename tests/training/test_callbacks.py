"""Training callbacks: throughput, gradient norm, NaN stop, step budget, progress bar, and the TensorBoard
logger -- whose output is read back with TensorBoard's own event loading and Projector plugin."""
import json
import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing import plugin_event_multiplexer
from tensorboard.backend.event_processing.data_provider import MultiplexerDataProvider
from tensorboard.plugins import base_plugin
from tensorboard.plugins.projector.projector_plugin import ProjectorPlugin
from tensorboard.util import tensor_util
from werkzeug import test as werkzeug_test
from werkzeug import wrappers

from keras_llm.training import callbacks as cb
from keras_llm.training import compile_language_model
from keras_llm.training.callbacks.tensorboard import LanguageModelTensorBoard
from keras_llm.training.text_samples import fill_mask_predictions, greedy_continuations, token_embedding_matrix
from lm_fixtures import make_model, word_tokenizer

SEQ = 8


def _data(tokenizer, rows=32, seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(7, tokenizer.vocabulary_size, size=(rows, SEQ + 1)).astype("int32")
    return ids[:, :-1], ids[:, 1:]


def _model(tokenizer, kind="transformer"):
    model = make_model(kind, tokenizer.vocabulary_size)
    return compile_language_model(model, optimizer={"learning_rate": 1e-2})


class Recorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.batches = []

    def on_train_batch_end(self, batch, logs=None):
        self.batches.append(dict(logs))


def _event_tensors(logdir):
    """run -> tag -> [(step, value)] for every tensor summary, loaded by TensorBoard's event multiplexer."""
    multiplexer = plugin_event_multiplexer.EventMultiplexer(tensor_size_guidance={"tensors": 0})
    multiplexer.AddRunsFromDirectory(str(logdir))
    multiplexer.Reload()
    out = {}
    for run, tags in multiplexer.Runs().items():
        out[run] = {tag: [(e.step, tensor_util.make_ndarray(e.tensor_proto)) for e in multiplexer.Tensors(run, tag)]
                    for tag in tags["tensors"]}
    return multiplexer, out


def test_tensorboard_logger_written_and_read_back_by_tensorboard(tmp_path):
    tokenizer = word_tokenizer()
    model = _model(tokenizer)
    x, y = _data(tokenizer)
    logdir = tmp_path / "tb"
    prompts = ["red green", "one two"]
    tensorboard = LanguageModelTensorBoard(
        logdir, update_freq=2, tokenizer=tokenizer, prompts=prompts,
        sample_fn=lambda p: greedy_continuations(model, tokenizer, p, max_new_tokens=3), profile_steps=(2, 3))
    callbacks = [cb.TokenThroughput(8 * SEQ), cb.GradientNormMonitor(), tensorboard]
    model.fit(x, y, batch_size=8, epochs=2, validation_data=(x[:8], y[:8]), callbacks=callbacks, verbose=0)

    multiplexer, tensors = _event_tensors(logdir)
    train, validation = tensors["train"], tensors["validation"]
    for tag in ("loss", "perplexity", "learning_rate", "tokens_per_second", "gradient_norm"):
        assert [step for step, _ in train[tag]] == [2, 4, 6, 8], tag  # global steps, every update_freq
        assert all(np.isfinite(value) and value > 0 for _, value in train[tag]), tag
    np.testing.assert_allclose(train["learning_rate"][0][1], 1e-2, rtol=1e-6)
    assert [step for step, _ in train["epoch_loss"]] == [4, 8]
    assert [step for step, _ in validation["epoch_loss"]] == [4, 8]
    assert {"epoch_loss", "epoch_perplexity"} <= set(validation)
    step, table = train["samples"][-1]
    text = table.item().decode()
    assert step == 8 and "'red green'" in text and "'one two'" in text and text.startswith("| input | model |")
    assert list((logdir / "train" / "plugins" / "profile").iterdir()), "profiler trace missing"

    # The Projector plugin finds the embedding through projector_config.pbtxt and serves vectors + vocabulary.
    context = base_plugin.TBContext(logdir=str(logdir), data_provider=MultiplexerDataProvider(multiplexer, str(logdir)))
    plugin = ProjectorPlugin(context)
    apps = plugin.get_plugin_apps()

    def get(route, **params):
        response = werkzeug_test.Client(apps[route], wrappers.Response).get(route, query_string=params)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_data()

    runs = json.loads(get("/runs"))
    assert runs == ["."]
    config = json.loads(get("/info", run="."))
    (embedding,) = config["embeddings"]
    assert embedding["tensorName"] == "token_embedding"
    metadata = get("/metadata", run=".", name="token_embedding").decode().splitlines()
    assert metadata == tokenizer.get_vocabulary()
    vectors = np.frombuffer(get("/tensor", run=".", name="token_embedding"), dtype="float32")
    expected = token_embedding_matrix(model)
    assert expected.shape == (tokenizer.vocabulary_size, 32)
    np.testing.assert_allclose(vectors.reshape(expected.shape), expected, rtol=1e-5, atol=1e-6)


def test_gradient_norm_is_the_norm_of_the_step_gradient():
    tokenizer = word_tokenizer()
    model = _model(tokenizer, "transformer")
    x, y = _data(tokenizer, rows=8)
    model(x)  # build
    with tf.GradientTape() as tape:
        loss = model.compute_loss(x=x, y=y, y_pred=model(x, training=True))
    grads = tape.gradient(loss, model.trainable_variables)
    expected = float(tf.linalg.global_norm([tf.convert_to_tensor(g) for g in grads]))
    recorder = Recorder()
    model.fit(x, y, batch_size=8, epochs=1, callbacks=[cb.GradientNormMonitor(), recorder], verbose=0, shuffle=False)
    np.testing.assert_allclose(recorder.batches[0]["gradient_norm"], expected, rtol=1e-4)


def test_throughput_progbar_and_step_budget(capsys):
    tokenizer = word_tokenizer()
    model = _model(tokenizer, "gru")
    x, y = _data(tokenizer)
    throughput = cb.TokenThroughput(8 * SEQ)
    recorder = Recorder()
    history = model.fit(x, y, batch_size=8, epochs=5, verbose=0,
                        callbacks=[throughput, cb.StopAtStep(6), cb.LanguageModelProgbar(verbose=1), recorder])
    assert cb.global_step(model) == 6 and len(history.history["loss"]) == 2  # stopped in the 2nd epoch
    assert throughput.steps == 6 and throughput.tokens_per_second > 0
    assert all(batch["tokens_per_second"] > 0 for batch in recorder.batches)
    assert history.history["tokens_per_second"][-1] == pytest.approx(throughput.tokens_per_second)
    out = capsys.readouterr().out
    assert "tokens_per_second" in out and "perplexity" in out and "Epoch 2/5" in out


def test_non_finite_loss_raises_naming_the_step_before_the_backup_saves(tmp_path):
    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    x = np.ones((6, 2), "float32")
    y = np.array([[1.0]] * 4 + [[np.inf]] + [[1.0]], "float32")  # batch 5 holds an infinite target
    backup = keras.callbacks.BackupAndRestore(str(tmp_path / "backup"), save_freq=1)
    with pytest.raises(cb.NonFiniteLossError, match=r"loss is (inf|nan) at step 5 \(epoch 1, batch 5\)") as info:
        model.fit(x, y, batch_size=1, epochs=1, shuffle=False, callbacks=[cb.NonFiniteLossGuard(), backup], verbose=0)
    assert info.value.step == 5 and not math.isfinite(info.value.value)
    metadata = json.loads((tmp_path / "backup" / "training_metadata.json").read_text())
    assert metadata["batch"] == 3  # the checkpoint of step 4 is kept; step 5 was never saved
    restored = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    restored.load_weights(str(tmp_path / "backup" / "latest.weights.h5"))
    assert all(np.isfinite(w).all() for w in restored.get_weights())


def test_text_samples_for_causal_and_masked_models():
    tokenizer = word_tokenizer()
    model = make_model("transformer", tokenizer.vocabulary_size)
    outputs = greedy_continuations(model, tokenizer, ["red", ""], max_new_tokens=4)
    assert len(outputs) == 2 and all(isinstance(o, str) and len(o.split()) <= 4 for o in outputs)
    filled = fill_mask_predictions(model, tokenizer, ["one two three"])  # any ids -> logits model works
    assert "(was two)" in filled[0] and filled[0].startswith("one [")
