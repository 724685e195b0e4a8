"""TransformerLanguageModel: training, cached decoding, saving, mixed precision, XLA."""
import os

import keras
import numpy as np
import pytest

from keras_llm.models import TransformerLanguageModel
from keras_llm.training import MaskedSparseCategoricalCrossentropy, compile_language_model

VOCAB, LENGTH = 40, 16
SMALL = dict(vocabulary_size=VOCAB, num_layers=2, hidden_dim=16, num_heads=2, intermediate_dim=32,
             max_sequence_length=LENGTH)


def _pattern_batches(rows=32):
    """Repeating cycles of 8 ids (offset per row), padded with 0 at the end of some rows."""
    rng = np.random.default_rng(0)
    cycle = np.arange(7, 15)
    tokens = np.stack([np.roll(np.tile(cycle, 3), -int(rng.integers(8)))[: LENGTH + 1] for _ in range(rows)])
    tokens[::4, -3:] = 0
    return tokens[:, :-1].astype("int32"), tokens[:, 1:].astype("int32")


@pytest.fixture(scope="module")
def trained():
    """A model trained with an XLA-compiled `fit` (one trace serves both the jit and the training test)."""
    keras.utils.set_random_seed(1)
    model = TransformerLanguageModel(**SMALL)  # no dropout: XLA-compiling its RNG on CPU costs seconds
    compile_language_model(model, optimizer={"learning_rate": 1e-2}, jit_compile=True)
    inputs, targets = _pattern_batches()
    history = model.fit(inputs, targets, batch_size=8, epochs=4, verbose=0)
    return model, history.history


def test_jit_compiled_fit_loss_falls(trained):
    model, history = trained
    assert model.jit_compile
    losses = history["loss"]
    assert losses[-1] < losses[0] - 0.5, losses
    assert np.allclose(np.exp(losses), history["perplexity"], rtol=0.05)


@pytest.mark.parametrize(
    "overrides",
    [{}, {"position": "sinusoidal", "norm_first": False, "tie_embeddings": False}],
    ids=["gpt", "post_ln_sinusoidal_untied"],
)
def test_cached_decoding_equals_full_forward(overrides):
    model = TransformerLanguageModel(**{**SMALL, **overrides})
    ids = np.random.default_rng(2).integers(1, VOCAB, size=(2, 10)).astype("int32")
    full = keras.ops.convert_to_numpy(model(ids))
    cache = model.init_cache(batch_size=2)
    assert len(cache) == 2 and all(tuple(t.shape) == (2, 2, LENGTH, 8) for pair in cache for t in pair)
    steps = []
    for t in range(ids.shape[1]):
        logits, cache = model.call_with_cache(ids[:, t : t + 1], cache, cache_index=t)
        steps.append(keras.ops.convert_to_numpy(logits))
    np.testing.assert_allclose(np.concatenate(steps, axis=1), full, atol=1e-5)
    # a prompt fed at once, then a step at a tensor index
    cache = model.init_cache(batch_size=2, max_length=12)
    prompt, cache = model.call_with_cache(ids[:, :6], cache, cache_index=0)
    np.testing.assert_allclose(prompt, full[:, :6], atol=1e-5)
    step, _ = model.call_with_cache(ids[:, 6:7], cache, keras.ops.convert_to_tensor(6, "int32"))
    np.testing.assert_allclose(step, full[:, 6:7], atol=1e-5)


def test_future_tokens_do_not_change_past_logits():
    model = TransformerLanguageModel(**SMALL)
    ids = np.random.default_rng(3).integers(1, VOCAB, size=(1, 12)).astype("int32")
    changed = ids.copy()
    changed[:, 7:] = (changed[:, 7:] + 1) % VOCAB
    np.testing.assert_allclose(model(changed)[:, :7], model(ids)[:, :7], atol=1e-6)


def test_tied_embeddings_share_the_table():
    tied, untied = TransformerLanguageModel(**SMALL), TransformerLanguageModel(**SMALL, tie_embeddings=False)
    tied.build((None, LENGTH))
    untied.build((None, LENGTH))
    assert untied.count_params() - tied.count_params() == VOCAB * 16


def test_save_load_round_trip(trained, tmp_path):
    model, _ = trained
    inputs, _ = _pattern_batches(4)
    path = os.path.join(tmp_path, "gpt.keras")
    model.save(path)
    restored = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(restored, TransformerLanguageModel)
    assert restored.get_config() == model.get_config()
    np.testing.assert_allclose(restored(inputs), model(inputs), atol=1e-6)
    # the compile arguments come back too
    assert type(restored.optimizer) is type(model.optimizer)
    assert restored.optimizer.no_decay_names == model.optimizer.no_decay_names
    assert isinstance(restored.loss, MaskedSparseCategoricalCrossentropy)


def test_mixed_bfloat16_forward_and_cache():
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model = TransformerLanguageModel(**SMALL)
        ids = np.ones((2, 8), "int32")
        logits = model(ids)
        cache = model.init_cache(2)
        step, cache = model.call_with_cache(ids[:, :1], cache, 0)
    finally:
        keras.config.set_dtype_policy(previous)
    assert model.compute_dtype == "bfloat16"
    assert keras.backend.standardize_dtype(logits.dtype) == "float32"
    assert all(keras.backend.standardize_dtype(t.dtype) == "bfloat16" for pair in cache for t in pair)
    assert np.all(np.isfinite(keras.ops.convert_to_numpy(logits)))
    np.testing.assert_allclose(step, logits[:, :1], atol=0.1)


@pytest.mark.parametrize("jit_compile", [False, True], ids=["graph", "xla"])
def test_mixed_bfloat16_fit_loss_falls(jit_compile):
    """Training under mixed_bfloat16 goes through every written-out gradient (loss, layer norm, GELU) with
    bfloat16 activations and float32 variables, with and without XLA."""
    if not jit_compile and keras.config.backend() != "tensorflow":
        # Those gradients are TensorFlow's (keras_llm.backend.tensorflow_kernels); elsewhere `jit_compile=False`
        # runs the step eagerly op by op (25 s under JAX) through the same keras.ops forms as the XLA case.
        pytest.skip("the graph case is TensorFlow's; other backends run the XLA case")
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        keras.utils.set_random_seed(1)
        model = TransformerLanguageModel(**SMALL)
        compile_language_model(model, optimizer={"learning_rate": 1e-2}, jit_compile=jit_compile)
        inputs, targets = _pattern_batches()
        losses = model.fit(inputs, targets, batch_size=8, epochs=4, verbose=0).history["loss"]
    finally:
        keras.config.set_dtype_policy(previous)
    assert all(keras.backend.standardize_dtype(w.dtype) == "float32" for w in model.trainable_weights)
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0] - 0.5, losses


def test_call_with_cache_on_a_fresh_model_builds_it(tmp_path):
    model = TransformerLanguageModel(**SMALL)
    ids = np.ones((1, 4), "int32")
    step, _ = model.call_with_cache(ids[:, :1], model.init_cache(1), 0)
    assert model.built
    np.testing.assert_allclose(model(ids)[:, :1], step, atol=1e-5)
    path = os.path.join(tmp_path, "fresh.keras")
    model.save(path)
    np.testing.assert_allclose(keras.saving.load_model(path)(ids), model(ids), atol=1e-6)
