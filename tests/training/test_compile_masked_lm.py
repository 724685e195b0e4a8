"""compile_language_model scores a masked LM on its masked positions only (weighted metrics)."""
import keras
import numpy as np

from keras_llm.models import BertMaskedLM
from keras_llm.training import compile_language_model
from keras_llm.training.metrics import MaskedTokenAccuracy, Perplexity


def _nll(logits, labels):
    shifted = logits - logits.max(-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    return -np.take_along_axis(log_probs, labels[..., None], axis=-1)[..., 0]


def test_masked_lm_metrics_count_only_the_masked_positions():
    keras.utils.set_random_seed(0)
    model = BertMaskedLM(dict(vocabulary_size=40, num_layers=1, hidden_dim=16, num_heads=2, intermediate_dim=32,
                              max_sequence_length=8, use_pooler=False))
    compile_language_model(model)
    rng = np.random.default_rng(0)
    inputs = rng.integers(1, 40, size=(6, 8)).astype("int32")
    logits = keras.ops.convert_to_numpy(model(inputs))
    predicted = logits.argmax(-1).astype("int32")
    weights = (rng.uniform(size=(6, 8)) < 0.3).astype("float32")
    weights[:, 0] = 1.0
    # unmasked positions: the prediction (trivially right); masked positions: some other id (wrong)
    wrong = np.where(predicted == 39, 1, predicted + 1).astype("int32")
    labels = np.where(weights > 0, wrong, predicted).astype("int32")

    results = model.evaluate(inputs, labels, sample_weight=weights, batch_size=6, verbose=0, return_dict=True)
    assert results["masked_token_accuracy"] == 0.0  # would be ~0.7 if every position counted
    nll = _nll(logits.astype("float64"), labels)
    expected_loss = (nll * weights).sum() / weights.sum()
    np.testing.assert_allclose(results["loss"], expected_loss, rtol=1e-4)
    np.testing.assert_allclose(results["perplexity"], np.exp(expected_loss), rtol=1e-4)


def test_masked_flag_and_explicit_metrics_win():
    inputs = keras.Input((4,), dtype="int32")
    model = keras.Model(inputs, keras.layers.Dense(9)(keras.layers.Embedding(9, 4)(inputs)))
    ids = np.ones((2, 4), "int32")
    labels = np.full((2, 4), 3, "int32")
    predicted = keras.ops.convert_to_numpy(model(ids)).argmax(-1)
    labels = np.where(np.arange(4) < 2, predicted, (predicted + 1) % 9 + (predicted == 8)).astype("int32")
    weights = np.tile(np.array([0, 0, 1, 1], "float32"), (2, 1))  # only the (wrong) last two positions count
    compile_language_model(model, masked=True)
    result = model.evaluate(ids, labels, sample_weight=weights, verbose=0, return_dict=True)
    assert result["masked_token_accuracy"] == 0.0
    compile_language_model(model, metrics=[MaskedTokenAccuracy()], weighted_metrics=[Perplexity()], masked=True)
    result = model.evaluate(ids, labels, sample_weight=weights, verbose=0, return_dict=True)
    assert result["masked_token_accuracy"] == 0.5 and "perplexity" in result  # plain metric: every position
