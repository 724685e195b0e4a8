"""RNNAttention (Luong / Bahdanau scores) and RecurrentStack's padding mask."""
import keras
import numpy as np
import pytest
from helpers import run_layer_test

from keras_llm.layers import RecurrentStack, RNNAttention


@pytest.mark.parametrize("style", ["luong", "bahdanau"])
def test_attention_weights_skip_masked_memory(style):
    layer = RNNAttention(style, units=8)
    query = np.random.default_rng(0).normal(size=(2, 3, 6)).astype("float32")
    memory = np.random.default_rng(1).normal(size=(2, 5, 4)).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    context, weights = layer(query, memory, memory_mask=mask, return_attention_weights=True)
    assert tuple(context.shape) == (2, 3, 4) and tuple(weights.shape) == (2, 3, 5)
    weights = keras.ops.convert_to_numpy(weights)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-6)
    assert np.all(weights[0, :, 3:] == 0.0)
    np.testing.assert_allclose(context, np.einsum("bts,bsd->btd", weights, memory), atol=1e-6)
    # padding memory positions changes nothing
    short = layer(query[:1], memory[:1, :3])
    np.testing.assert_allclose(short, context[:1], atol=1e-6)
    assert RNNAttention.from_config(layer.get_config()).get_config() == layer.get_config()
    with pytest.raises(ValueError, match="style"):
        RNNAttention("dot-product")


def test_recurrent_stack_mask_keeps_the_state_over_padding():
    stack = RecurrentStack("lstm", units=6, num_layers=2, return_state=True)
    x = np.random.default_rng(2).normal(size=(1, 4, 3)).astype("float32")
    padded = np.concatenate([x, np.ones((1, 3, 3), "float32")], axis=1)
    mask = np.array([[True] * 4 + [False] * 3])
    outputs, state = stack(x)
    padded_outputs, padded_state = stack(padded, mask=mask)
    np.testing.assert_allclose(padded_state, state, atol=1e-6)
    np.testing.assert_allclose(padded_outputs[:, :4], outputs, atol=1e-6)


@pytest.mark.parametrize("style", ["luong", "bahdanau"])
def test_layer_contract(style):
    rng = np.random.default_rng(3)
    inputs = {"query": rng.normal(size=(2, 3, 6)).astype("float32"),
              "memory": rng.normal(size=(2, 5, 4)).astype("float32")}
    run_layer_test(RNNAttention, {"style": style, "units": 8}, inputs, expected_output_shape=(2, 3, 4))
