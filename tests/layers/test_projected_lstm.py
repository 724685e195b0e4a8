"""ProjectedLSTM: the same outputs, states and gradients as keras.layers.LSTM with the same weights."""
import keras
import numpy as np
import pytest
from backend_gradients import value_and_gradients
from helpers import run_layer_test

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


@pytest.mark.parametrize("kwargs", [{}, {"go_backwards": True}, {"use_bias": False}])
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
