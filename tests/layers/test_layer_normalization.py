"""LayerNormalization and GELU (`keras_llm.backend.ops`: written-out gradients on TensorFlow) and FeedForward
against Keras' own."""
import keras
import numpy as np
import pytest
from backend_gradients import value_and_gradients
from helpers import run_layer_test
from keras import ops

from keras_llm.layers import FeedForward, LayerNormalization
from keras_llm.backend import ops as backend_ops
from keras_llm.backend import reference

RNG = np.random.default_rng(0)
# Rows with different means and scales, one constant row (variance 0: epsilon decides).
X = (RNG.normal(size=(2, 5, 8)) * RNG.uniform(0.1, 10.0, size=(2, 5, 1)) + RNG.normal(size=(2, 5, 1)) * 3).astype(
    "float32"
)
X[1, 2] = 4.0
UPSTREAM = RNG.normal(size=X.shape).astype("float32")


def _pair(**kwargs):
    ours, reference = LayerNormalization(**kwargs), keras.layers.LayerNormalization(**kwargs)
    ours.build(X.shape)
    reference.build(X.shape)
    weights = [RNG.normal(size=w.shape).astype("float32") for w in reference.weights]
    ours.set_weights(weights)
    reference.set_weights(weights)
    return ours, reference


def _value_and_gradients(layer, x, compiled=False):
    """The layer's output and the gradients of `sum(output * UPSTREAM)` w.r.t. x and its weights (numpy; run
    eagerly or inside a `tf.function` / `jax.jit`)."""

    def loss(x):
        y = layer(x)
        return ops.sum(ops.cast(y, "float32") * UPSTREAM), y

    y, gradients = value_and_gradients(loss, [x], layer.trainable_weights, compiled=compiled)
    return [y] + gradients


def test_contract():
    run_layer_test(LayerNormalization, {"epsilon": 1e-5}, X, expected_output_shape=X.shape)


@pytest.mark.parametrize("kwargs", [{"epsilon": 1e-5}, {"epsilon": 1e-3, "axis": 2}, {"axis": [-1]}])
def test_values_and_gradients_equal_keras(kwargs):
    ours, reference = _pair(**kwargs)
    got, expected = _value_and_gradients(ours, X), _value_and_gradients(reference, X)
    assert len(got) == 4  # output, d/dx, d/dgamma, d/dbeta
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-4 * np.abs(e).max())
    # the gradient with respect to x is far from zero, so a dropped term would show
    assert np.abs(got[1]).max() > 0.1


def test_in_a_function_and_with_other_axes():
    ours, reference = _pair(axis=1)  # not the last axis: Keras' own code, still the same values
    np.testing.assert_allclose(ours(X), reference(X), atol=1e-5)
    ours, reference = _pair()
    expected = _value_and_gradients(reference, X)
    for g, e in zip(_value_and_gradients(ours, X, compiled=True), expected):
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-4 * np.abs(e).max())


def test_bfloat16_inputs_normalize_in_float32():
    ours, reference = _pair(dtype="mixed_bfloat16")
    x = ops.cast(X, "bfloat16")
    got, expected = _value_and_gradients(ours, x), _value_and_gradients(reference, x)
    assert got[0].dtype == expected[0].dtype and keras.backend.standardize_dtype(ours(x).dtype) == "bfloat16"
    for g, e in zip(got, expected):
        np.testing.assert_allclose(np.asarray(g, "float32"), np.asarray(e, "float32"), rtol=2e-2,
                                   atol=2e-2 * np.abs(np.asarray(e, "float32")).max())


def _activation_and_gradient(activation, x):
    """`activation(x)` and its elementwise derivative (numpy)."""
    y, (gradient,) = value_and_gradients(lambda x: (ops.sum(activation(x)), activation(x)), [x])
    return y, gradient


@pytest.mark.parametrize("approximate,gradient_atol", [(False, 1e-6), (True, 1e-5)], ids=["exact", "tanh"])
def test_gelu_and_its_gradient_equal_keras(approximate, gradient_atol):
    x = np.linspace(-8.0, 8.0, 101, dtype="float32")
    ours, our_gradient = _activation_and_gradient(lambda v: backend_ops.gelu(v, approximate=approximate), x)
    expected, gradient = _activation_and_gradient(lambda v: reference.gelu(v, approximate=approximate), x)
    np.testing.assert_allclose(ours, expected, atol=1e-6)
    np.testing.assert_allclose(our_gradient, gradient, atol=gradient_atol)
    # the other GELU differs by more than that: the check can tell the two apart
    other = keras.activations.gelu(x, approximate=not approximate)
    assert np.abs(np.asarray(other) - np.asarray(expected)).max() > 1e-4


def test_layer_norm_op_and_its_gradients_equal_the_reference():
    gamma, beta = RNG.normal(size=8).astype("float32"), RNG.normal(size=8).astype("float32")

    def run(layer_norm):
        def loss(x, gamma, beta):
            y = layer_norm(x, gamma, beta, 1e-5)
            return ops.sum(y * UPSTREAM), y

        return value_and_gradients(loss, [X, gamma, beta])

    (got, got_gradients), (expected, gradients) = run(backend_ops.layer_norm), run(reference.layer_norm)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    for g, e in zip(got_gradients, gradients):
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-4 * np.abs(e).max())
    assert np.abs(got_gradients[0]).max() > 0.1


@pytest.mark.parametrize("activation,approximate", [("gelu", False), ("gelu_approximate", True), ("gelu_new", True)])
def test_feed_forward_equals_two_keras_denses_with_gelu(activation, approximate):
    layer = FeedForward(16, activation=activation)
    layer.build(X.shape)
    gelu = lambda v: keras.activations.gelu(v, approximate=approximate)  # noqa: E731
    reference = keras.Sequential([keras.layers.Dense(16, activation=gelu), keras.layers.Dense(8)])
    reference.build(X.shape)
    reference.set_weights(layer.get_weights())
    got, expected = _value_and_gradients(layer, X), _value_and_gradients(reference, X)
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-5, atol=1e-4)
    for g, e in zip(got[1:], expected[1:]):
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-4 * np.abs(e).max())
