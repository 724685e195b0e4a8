"""FeedForward: the shared layer contract (its values against two Keras Denses: test_layer_normalization.py)."""
import numpy as np
import pytest
from helpers import run_layer_test

from keras_llm.layers import FeedForward

X = np.random.default_rng(0).normal(size=(2, 5, 8)).astype("float32")


@pytest.mark.parametrize("activation", ["gelu", "gelu_approximate"])  # the two with their own TF kernels
def test_layer_contract(activation):
    run_layer_test(FeedForward, {"intermediate_dim": 16, "activation": activation}, X, expected_output_shape=X.shape)
