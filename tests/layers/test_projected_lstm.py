"""ProjectedLSTM: the same outputs, states and gradients as keras.layers.LSTM with the same weights."""
import keras
import numpy as np
import pytest
from backend_gradients import value_and_gradients
from helpers import run_layer_test

from keras_llm.backend import ops as backend_ops
from keras_llm.backend import reference
from keras_llm.layers.projected_lstm import ProjectedLSTM


def _pair(**kwargs):
    keras.utils.set_random_seed(0)
    ours = ProjectedLSTM(6, return_sequences=True, return_state=True, **kwargs)
    peer = keras.layers.LSTM(6, return_sequences=True, return_state=True, **kwargs)
    x = np.random.default_rng(0).normal(size=(3, 7, 5)).astype("float32")
    ours.build(x.shape)
    peer.build(x.shape)
    peer.set_weights([w * 0 + np.random.default_rng(i).normal(size=w.shape) for i, w in enumerate(ours.get_weights())])
    ours.set_weights(peer.get_weights())
    return ours, peer, x


@pytest.mark.parametrize("kwargs", [{}, {"go_backwards": True}, {"use_bias": False}, {"unroll": True},
                                    {"zero_output_for_mask": True, "go_backwards": True}])
def test_outputs_and_states_match_keras_lstm(kwargs):
    ours, peer, x = _pair(**kwargs)
    state = [np.full((3, 6), 0.3, "float32"), np.full((3, 6), -0.2, "float32")]
    mask = np.array([[1] * 7, [1] * 4 + [0] * 3, [1] * 6 + [0]], bool)
    for call in ({}, {"initial_state": state}, {"mask": mask}):
        got = [keras.ops.convert_to_numpy(t) for t in ours(x, **call)]
        expected = [keras.ops.convert_to_numpy(t) for t in peer(x, **call)]
        assert len(got) == 3
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g, e, atol=1e-5)
            assert np.abs(e).max() > 0.05  # not trivially zero


def test_gradients_match_keras_lstm():
    ours, peer, x = _pair()
    grads = []
    for layer in (ours, peer):
        def loss(x, layer=layer):
            outputs, h, c = layer(x)
            return keras.ops.sum(outputs**2) + keras.ops.sum(c), ()

        grads.append(value_and_gradients(loss, [x], layer.trainable_variables)[1][1:])  # the variables' gradients
    for g, e in zip(*grads):
        np.testing.assert_allclose(np.asarray(g), np.asarray(e), atol=1e-4)
        assert np.abs(np.asarray(e)).max() > 1e-3


def test_config_round_trip_and_cell_dropout_fallback():
    layer = ProjectedLSTM(4, dropout=0.5, return_sequences=True)
    restored = ProjectedLSTM.from_config(layer.get_config())
    assert restored.get_config() == layer.get_config()
    out = keras.ops.convert_to_numpy(layer(np.ones((2, 3, 5), "float32"), training=True))  # Keras' own loop
    assert out.shape == (2, 3, 4)


def test_layer_contract():
    run_layer_test(ProjectedLSTM, {"units": 6, "return_sequences": True}, np.random.default_rng(1).normal(
        size=(3, 7, 5)).astype("float32"), expected_output_shape=(3, 7, 6))


def _unrolled_reference(*args, **kwargs):
    return reference.lstm(*args, unroll=True, **kwargs)


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_the_backends_loop_equals_the_reference(go_backwards, return_sequences):
    """`keras_llm.backend.ops.lstm` as the active backend runs it (TensorFlow: its own `tf.while_loop`; JAX: the
    reference's `keras.ops.scan`) against the reference's unrolled loop, masked, with its gradients."""
    rng = np.random.default_rng(1)
    projected = rng.normal(size=(3, 7, 24)).astype("float32")
    states = [rng.normal(size=(3, 6)).astype("float32") for _ in range(2)]
    recurrent_kernel = rng.normal(size=(6, 24)).astype("float32") * 0.3
    mask = np.array([[1] * 7, [1] * 4 + [0] * 3, [0] + [1] * 6], bool)

    def run(lstm):
        def loss(projected, h, c, kernel):
            last, outputs, (h, c) = lstm(projected, h, c, kernel, keras.activations.tanh, keras.activations.sigmoid,
                                         mask=mask, go_backwards=go_backwards, return_sequences=return_sequences)
            total = keras.ops.sum(last**2) + keras.ops.sum(c)
            if return_sequences:
                total = total + keras.ops.sum(outputs)
            return total, (last, outputs if return_sequences else last, h, c)

        return value_and_gradients(loss, [projected, *states, recurrent_kernel])

    (got, got_gradients), (expected, gradients) = run(backend_ops.lstm), run(_unrolled_reference)
    for g, e in zip(list(got) + got_gradients, list(expected) + gradients):
        np.testing.assert_allclose(g, e, atol=1e-5)
        assert np.abs(e).max() > 0.05
