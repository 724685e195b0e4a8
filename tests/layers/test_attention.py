"""MultiHeadAttention: parity with keras.layers.MultiHeadAttention, masks, and the key/value cache."""
import keras
import numpy as np
import pytest
from backend_gradients import value_and_gradients
from helpers import run_layer_test

from keras_llm.backend import ops as backend_ops
from keras_llm.backend import reference
from keras_llm.layers import MultiHeadAttention
from keras_llm.layers.multi_head_attention import attention_mask_from

BATCH, LENGTH, DIM, HEADS = 2, 7, 16, 4


def _inputs(seed=0, length=LENGTH):
    return np.random.default_rng(seed).normal(size=(BATCH, length, DIM)).astype("float32")


def _copy_from_keras(ours, theirs):
    pairs = [
        (ours.query_dense, theirs.query_dense),
        (ours.key_dense, theirs.key_dense),
        (ours.value_dense, theirs.value_dense),
        (ours.output_dense, theirs.output_dense),
    ]
    for mine, reference in pairs:
        assert [w.shape for w in mine.get_weights()] == [w.shape for w in reference.get_weights()]
        mine.set_weights(reference.get_weights())


@pytest.fixture(scope="module")
def pair():
    """Our layer carrying the weights of a Keras MultiHeadAttention, plus that layer."""
    x = _inputs()
    reference = keras.layers.MultiHeadAttention(num_heads=HEADS, key_dim=DIM // HEADS)
    reference(x, x)
    ours = MultiHeadAttention(num_heads=HEADS, key_dim=DIM // HEADS)
    ours(x)
    _copy_from_keras(ours, reference)
    return ours, reference


@pytest.mark.parametrize("causal", [False, True])
def test_parity_with_keras_multi_head_attention(pair, causal):
    ours, reference = pair
    x = _inputs(1)
    expected = reference(x, x, use_causal_mask=causal)
    np.testing.assert_allclose(ours(x, use_causal_mask=causal), expected, atol=1e-5)


def test_parity_with_padding_and_explicit_masks(pair):
    ours, reference = pair
    x = _inputs(2)
    padding = np.ones((BATCH, LENGTH), bool)
    padding[1, 4:] = False
    explicit = np.random.default_rng(3).random((BATCH, LENGTH, LENGTH)) > 0.3
    explicit[..., 0] = True  # every query sees at least one key
    expected = reference(x, x, attention_mask=explicit & padding[:, None, :], use_causal_mask=True)
    actual = ours(x, attention_mask=explicit, padding_mask=padding, use_causal_mask=True)
    np.testing.assert_allclose(actual, expected, atol=1e-5)


def _numpy_attention(layer, query, memory):
    """Softmax attention written out in numpy from a Keras `MultiHeadAttention`'s weights."""
    def project(dense, x):
        kernel, bias = dense.get_weights()
        return np.einsum("btd,dhk->bthk", x, kernel) + bias

    queries, keys, values = (project(d, x) for d, x in ((layer.query_dense, query), (layer.key_dense, memory),
                                                        (layer.value_dense, memory)))
    scores = np.einsum("bqhk,bvhk->bhqv", queries, keys) / np.sqrt(queries.shape[-1])
    probabilities = np.exp(scores - scores.max(-1, keepdims=True))
    probabilities /= probabilities.sum(-1, keepdims=True)
    kernel, bias = layer.output_dense.get_weights()
    return np.einsum("bqhd,hde->bqe", np.einsum("bhqv,bvhd->bqhd", probabilities, values), kernel) + bias


def test_cross_attention_parity_with_different_lengths():
    query, memory = _inputs(4, length=3), _inputs(5, length=9)
    reference = keras.layers.MultiHeadAttention(num_heads=2, key_dim=8, value_dim=4)
    reference.build(query.shape, memory.shape)
    ours = MultiHeadAttention(num_heads=2, key_dim=8, value_dim=4)
    ours(query, memory)
    _copy_from_keras(ours, reference)
    expected = _numpy_attention(reference, query, memory)
    np.testing.assert_allclose(ours(query, memory), expected, atol=1e-5)
    if keras.backend.backend() == "tensorflow":  # Keras' own layer on JAX rejects values narrower than keys
        np.testing.assert_allclose(reference(query, memory), expected, atol=1e-5)


def test_causal_mask_leaks_nothing_from_the_future(pair):
    ours, _ = pair
    x = _inputs(6)
    for t in range(LENGTH):
        _, (gradient,) = value_and_gradients(lambda x: (keras.ops.sum(ours(x, use_causal_mask=True)[:, t]), ()), [x])
        assert np.all(gradient[:, t + 1 :] == 0.0)
        assert np.any(gradient[:, : t + 1] != 0.0)


def test_cache_one_token_at_a_time_equals_full_forward(pair):
    ours, _ = pair
    x = _inputs(7)
    full = keras.ops.convert_to_numpy(ours(x, use_causal_mask=True))
    max_length = LENGTH + 3  # unused cache slots must stay invisible
    cache = ours.init_cache(BATCH, max_length)
    steps = []
    for t in range(LENGTH):
        output, cache = ours(x[:, t : t + 1], cache=cache, cache_index=t)
        steps.append(keras.ops.convert_to_numpy(output))
    np.testing.assert_allclose(np.concatenate(steps, axis=1), full, atol=1e-5)
    keys, values = (keras.ops.convert_to_numpy(c) for c in cache)
    for tensor in (keys, values):
        assert tensor.shape == (BATCH, HEADS, max_length, DIM // HEADS)
        assert np.all(np.any(tensor[:, :, :LENGTH] != 0.0, axis=-1))  # every written slot
        np.testing.assert_array_equal(tensor[:, :, LENGTH:], 0.0)


def test_cache_prompt_chunk_then_tensor_index(pair):
    ours, _ = pair
    x = _inputs(8)
    full = keras.ops.convert_to_numpy(ours(x, use_causal_mask=True))
    cache = ours.init_cache(BATCH, LENGTH)
    prompt, cache = ours(x[:, :4], cache=cache, cache_index=0)
    np.testing.assert_allclose(prompt, full[:, :4], atol=1e-5)
    step, cache = ours(x[:, 4:5], cache=cache, cache_index=keras.ops.convert_to_tensor(4, "int32"))
    np.testing.assert_allclose(step, full[:, 4:5], atol=1e-5)


def test_mask_helper_combines_masks():
    padding = np.array([[1, 1, 0]])
    mask = keras.ops.convert_to_numpy(attention_mask_from(3, 3, padding_mask=padding, causal=True))
    expected = np.array([[[1, 0, 0], [1, 1, 0], [1, 1, 0]]], bool)
    np.testing.assert_array_equal(mask, expected)
    assert attention_mask_from(2, 2) is None


def test_layer_contract():
    run_layer_test(
        MultiHeadAttention,
        {"num_heads": 2, "key_dim": 4, "dropout": 0.1},
        _inputs(9),
        call_kwargs={"use_causal_mask": True},
        expected_output_shape=(BATCH, LENGTH, DIM),
    )


@pytest.mark.parametrize("padded", [False, True])
def test_fused_paths_equal_separate_projections_and_explicit_softmax(pair, padded):
    """Self-attention runs one fused QKV matmul (`self_attention`); passing the input again as `value` takes the
    three separate projections (`attention`), and `_explicit_attention` (the dropout path) the materialized
    softmax. All three agree."""
    ours, _ = pair
    x = _inputs(4)
    padding = np.ones((BATCH, LENGTH), bool)
    if padded:
        padding[0, 5:] = False
    mask_kwargs = {"padding_mask": padding} if padded else {}
    fused = ours(x, use_causal_mask=True, **mask_kwargs)
    separate = ours(x, x, use_causal_mask=True, **mask_kwargs)
    np.testing.assert_allclose(fused, separate, atol=1e-5)
    queries, keys, values = reference.qkv_projection(x, *ours._qkv_weights())
    for got, dense in zip((queries, keys, values), (ours.query_dense, ours.key_dense, ours.value_dense)):
        np.testing.assert_allclose(got, dense(x), atol=1e-5)
    mask = attention_mask_from(LENGTH, LENGTH, padding_mask=padding if padded else None, causal=True)
    explicit = ours.output_dense(ours._explicit_attention(queries, keys, values, mask, (DIM // HEADS) ** -0.5, None))
    np.testing.assert_allclose(fused, explicit, atol=1e-5)


def test_causal_attention_ops_equal_the_reference(pair):
    """The causal `attention` and `self_attention` the active backend runs (TensorFlow: matmuls with the heads
    first, the scale folded into the query kernel) give the reference's values and gradients."""
    ours, _ = pair
    x = _inputs(10)
    kernels, biases = ours._qkv_weights()
    queries, keys, values = reference.qkv_projection(x, kernels, biases)
    scale = (DIM // HEADS) ** -0.5
    expected = reference.attention(queries, keys, values, scale, is_causal=True)
    np.testing.assert_allclose(backend_ops.attention(queries, keys, values, scale, is_causal=True), expected,
                               atol=1e-5)
    weights = [keras.ops.convert_to_numpy(w) for w in list(kernels) + list(biases)]
    upstream = np.random.default_rng(3).normal(size=(BATCH, LENGTH, HEADS, DIM // HEADS)).astype("float32")

    def fused(self_attention):
        def loss(x, *weights):
            attended = self_attention(x, tuple(weights[:3]), tuple(weights[3:]), scale, is_causal=True)
            return keras.ops.sum(attended * upstream), attended

        return value_and_gradients(loss, [x] + weights)

    (got, got_gradients), (want, want_gradients) = fused(backend_ops.self_attention), fused(reference.self_attention)
    np.testing.assert_allclose(want, expected, atol=1e-5)
    np.testing.assert_allclose(got, want, atol=1e-5)
    for i, (g, w) in enumerate(zip(got_gradients, want_gradients)):
        np.testing.assert_allclose(g, w, atol=1e-4)
        # all far from zero but the key bias's (it shifts a query's scores all alike: the softmax ignores it)
        assert np.abs(w).max() > 1e-3 or i == 5
