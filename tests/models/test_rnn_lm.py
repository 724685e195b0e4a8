"""RNNLanguageModel: training, step-wise decoding with state, saving."""
import os

import keras
import numpy as np
import pytest

from keras_llm.models import RNNLanguageModel
from keras_llm.training import compile_language_model

VOCAB = 30


def _pattern_batches(rows=32, length=12):
    cycle = np.arange(5, 11)
    starts = np.random.default_rng(0).integers(6, size=rows)
    tokens = np.stack([np.roll(np.tile(cycle, 3), -int(s))[: length + 1] for s in starts])
    tokens[::3, -2:] = 0
    return tokens[:, :-1].astype("int32"), tokens[:, 1:].astype("int32")


@pytest.fixture(scope="module")
def trained():
    keras.utils.set_random_seed(1)
    model = RNNLanguageModel(VOCAB, cell="lstm", num_layers=2, hidden_dim=24, dropout=0.1)
    compile_language_model(model, optimizer={"learning_rate": 2e-2})
    inputs, targets = _pattern_batches()
    history = model.fit(inputs, targets, batch_size=8, epochs=4, verbose=0)
    return model, history.history


def test_loss_falls(trained):
    losses = trained[1]["loss"]
    assert losses[-1] < losses[0] - 0.5, losses


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_step_by_step_with_state_equals_full_sequence(cell):
    model = RNNLanguageModel(VOCAB, cell=cell, num_layers=2, hidden_dim=12, embedding_dim=8, tie_embeddings=True)
    ids = np.random.default_rng(2).integers(1, VOCAB, size=(2, 9)).astype("int32")
    full = keras.ops.convert_to_numpy(model(ids))
    state = model.init_state(2)
    assert tuple(state.shape) == (2, 2, 2 if cell == "lstm" else 1, 12)
    steps = []
    for t in range(ids.shape[1]):
        logits, state = model.call_with_state(ids[:, t : t + 1], state)
        steps.append(keras.ops.convert_to_numpy(logits))
    np.testing.assert_allclose(np.concatenate(steps, axis=1), full, atol=1e-5)
    _, state_full = model.call_with_state(ids)
    np.testing.assert_allclose(state, state_full, atol=1e-5)


def test_tied_projection_weights():
    tied = RNNLanguageModel(VOCAB, num_layers=1, hidden_dim=12, embedding_dim=8, tie_embeddings=True)
    tied.build((None, 5))
    assert tied.projection is not None and tied.lm_head is None
    assert "embedding/embeddings" in [w.path.split("/", 1)[1] for w in tied.weights]
    same = RNNLanguageModel(VOCAB, num_layers=1, hidden_dim=8, tie_embeddings=True)
    same.build((None, 5))
    assert same.projection is None


def test_save_load_round_trip(trained, tmp_path):
    model, _ = trained
    inputs, _ = _pattern_batches(4)
    path = os.path.join(tmp_path, "lstm.keras")
    model.save(path)
    restored = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(restored, RNNLanguageModel)
    assert restored.get_config() == model.get_config()
    np.testing.assert_allclose(restored(inputs), model(inputs), atol=1e-6)
    _, state = restored.call_with_state(inputs[:, :3])
    _, expected_state = model.call_with_state(inputs[:, :3])
    np.testing.assert_allclose(state, expected_state, atol=1e-6)


def test_mixed_bfloat16_forward():
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model = RNNLanguageModel(VOCAB, cell="gru", num_layers=1, hidden_dim=8)
        logits = model(np.ones((2, 5), "int32"))
    finally:
        keras.config.set_dtype_policy(previous)
    assert model.compute_dtype == "bfloat16"
    assert keras.backend.standardize_dtype(logits.dtype) == "float32"
    assert np.all(np.isfinite(keras.ops.convert_to_numpy(logits)))


def test_call_with_state_on_a_fresh_model_builds_it():
    model = RNNLanguageModel(VOCAB, cell="gru", num_layers=1, hidden_dim=8)
    ids = np.ones((1, 4), "int32")
    logits, _ = model.call_with_state(ids)
    assert model.built
    np.testing.assert_allclose(model(ids), logits, atol=1e-6)
