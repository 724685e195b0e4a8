"""TokenAndPositionEmbedding: learned and sinusoidal positions, start_index."""
import keras
import numpy as np
import pytest
from helpers import run_layer_test

from keras_llm.layers import TokenAndPositionEmbedding
from keras_llm.layers.token_and_position_embedding import sinusoidal_position_encoding

TOKENS = np.random.default_rng(0).integers(0, 50, size=(2, 10)).astype("int32")


@pytest.mark.parametrize("position", ["learned", "sinusoidal"])
def test_start_index_embeds_the_right_positions(position):
    layer = TokenAndPositionEmbedding(50, 16, 8, position=position)
    full = keras.ops.convert_to_numpy(layer(TOKENS))
    for start in (0, 3, 9):
        part = layer(TOKENS[:, start : start + 1], start_index=start)
        np.testing.assert_allclose(part, full[:, start : start + 1], atol=1e-6)
    tensor_start = layer(TOKENS[:, 4:6], start_index=keras.ops.convert_to_tensor(4, "int32"))
    np.testing.assert_allclose(tensor_start, full[:, 4:6], atol=1e-6)


def test_sinusoidal_values():
    encoding = keras.ops.convert_to_numpy(sinusoidal_position_encoding(keras.ops.arange(5), 6))
    positions = np.arange(5)[:, None]
    frequencies = 1.0 / 10000.0 ** (np.arange(3) * 2 / 6)
    expected = np.concatenate([np.sin(positions * frequencies), np.cos(positions * frequencies)], axis=-1)
    np.testing.assert_allclose(encoding, expected, atol=1e-5)


def test_sinusoidal_has_no_position_weights():
    layer = TokenAndPositionEmbedding(50, 16, 8, position="sinusoidal")
    layer(TOKENS)
    assert [w.name for w in layer.weights] == ["embeddings"]
    with pytest.raises(ValueError):
        TokenAndPositionEmbedding(50, 16, 8, position="rotary")


def test_layer_contract():
    layer = run_layer_test(
        TokenAndPositionEmbedding,
        {"vocabulary_size": 50, "max_sequence_length": 16, "embedding_dim": 8},
        TOKENS,
        expected_output_shape=(2, 10, 8),
    )
    assert tuple(layer.token_embeddings.shape) == (50, 8)
