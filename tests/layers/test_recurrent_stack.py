"""RecurrentStack: stacked SimpleRNN/LSTM/GRU with one state tensor in and out."""
import keras
import numpy as np
import pytest
from helpers import run_layer_test

from keras_llm.layers import RecurrentStack

X = np.random.default_rng(0).normal(size=(3, 8, 5)).astype("float32")


@pytest.mark.parametrize("cell,num_states", [("lstm", 2), ("gru", 1), ("rnn", 1)])
def test_state_carry_equals_one_pass(cell, num_states):
    stack = RecurrentStack(cell, units=6, num_layers=2, dropout=0.5, return_state=True)
    outputs, state = stack(X)
    assert tuple(state.shape) == (3, 2, num_states, 6)
    first, carried = stack(X[:, :5])
    second, final = stack(X[:, 5:], initial_state=carried)
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), outputs, atol=1e-5)
    np.testing.assert_allclose(final, state, atol=1e-5)
    zeros = stack.get_initial_state(3)
    np.testing.assert_allclose(stack(X, initial_state=zeros)[0], outputs, atol=1e-6)
    # the last layer's h is the last output
    np.testing.assert_allclose(keras.ops.convert_to_numpy(state)[:, -1, 0], outputs[:, -1], atol=1e-6)


def test_rejects_unknown_cell():
    with pytest.raises(ValueError):
        RecurrentStack("transformer")


def test_layer_contract():
    run_layer_test(
        RecurrentStack,
        {"cell": "lstm", "units": 6, "num_layers": 2, "dropout": 0.2},
        X,
        expected_output_shape=(3, 8, 6),
    )
