"""TransformerEncoderBlock and TransformerDecoderBlock."""
import keras
import numpy as np
import pytest
from helpers import run_layer_test

from keras_llm.layers import TransformerDecoderBlock, TransformerEncoderBlock

X = np.random.default_rng(0).normal(size=(2, 6, 8)).astype("float32")
MEMORY = np.random.default_rng(1).normal(size=(2, 4, 8)).astype("float32")


def test_encoder_contract_post_ln():
    run_layer_test(
        TransformerEncoderBlock,
        {"num_heads": 2, "intermediate_dim": 16, "dropout": 0.1, "norm_first": False},
        X,
        expected_output_shape=X.shape,
    )


def test_encoder_ignores_padding_tokens():
    block = TransformerEncoderBlock(num_heads=2, intermediate_dim=16)
    padding = np.array([[1, 1, 1, 1, 0, 0]] * 2)
    changed = X.copy()
    changed[:, 4:] += 5.0
    before = keras.ops.convert_to_numpy(block(X, padding_mask=padding))
    after = keras.ops.convert_to_numpy(block(changed, padding_mask=padding))
    np.testing.assert_allclose(after[:, :4], before[:, :4], atol=1e-5)
    # without the mask every position sees the change
    assert not np.allclose(keras.ops.convert_to_numpy(block(changed))[:, :4], before[:, :4], atol=1e-3)


def test_decoder_contract_pre_ln():
    run_layer_test(
        TransformerDecoderBlock,
        {"num_heads": 2, "intermediate_dim": 16, "dropout": 0.1},
        X,
        expected_output_shape=X.shape,
    )


@pytest.mark.parametrize("norm_first", [True, False])
def test_decoder_is_causal_and_cache_matches(norm_first):
    block = TransformerDecoderBlock(num_heads=2, intermediate_dim=16, norm_first=norm_first)
    full = keras.ops.convert_to_numpy(block(X))
    changed = X.copy()
    changed[:, 3:] += 1.0
    np.testing.assert_allclose(keras.ops.convert_to_numpy(block(changed))[:, :3], full[:, :3], atol=1e-6)

    cache = block.self_attention.init_cache(2, 6)
    steps = []
    for t in range(6):
        output, cache = block(X[:, t : t + 1], cache=cache, cache_index=t)
        steps.append(keras.ops.convert_to_numpy(output))
    np.testing.assert_allclose(np.concatenate(steps, axis=1), full, atol=1e-5)


def test_decoder_with_cross_attention_contract():
    run_layer_test(
        TransformerDecoderBlock,
        {"num_heads": 2, "intermediate_dim": 16, "use_cross_attention": True},
        {"decoder_sequence": X, "encoder_sequence": MEMORY},
        expected_output_shape=X.shape,
    )


def test_decoder_cross_attention():
    block = TransformerDecoderBlock(num_heads=2, intermediate_dim=16, use_cross_attention=True)
    encoder_padding = np.array([[1, 1, 1, 1], [1, 1, 0, 0]])
    output = keras.ops.convert_to_numpy(block(X, MEMORY, encoder_padding_mask=encoder_padding))
    assert output.shape == X.shape
    changed = MEMORY.copy()
    changed[1, 2:] += 3.0  # padded encoder positions: no effect
    again = keras.ops.convert_to_numpy(block(X, changed, encoder_padding_mask=encoder_padding))
    np.testing.assert_allclose(again, output, atol=1e-5)
    with pytest.raises(ValueError):
        block(X)
    restored = TransformerDecoderBlock.from_config(block.get_config())
    restored(X, MEMORY)
    assert len(restored.weights) == len(block.weights)
