"""`gelu_approximate`: GPT-2's tanh GELU under a name a model config can save and load."""
import keras
import numpy as np
import pytest

from keras_llm.layers import FeedForward, gelu_approximate, get_activation
from keras_llm.models import TransformerLanguageModel


@pytest.mark.parametrize("name", ["gelu_approximate", "gelu_new", "gelu_pytorch_tanh", "keras_llm>gelu_approximate"])
def test_names_resolve_to_the_tanh_gelu(name):
    x = np.linspace(-4.0, 4.0, 17).astype("float32")
    values = np.asarray(get_activation(name)(keras.ops.convert_to_tensor(x)))
    np.testing.assert_allclose(values, np.asarray(keras.activations.gelu(x, approximate=True)), atol=1e-6)
    assert np.abs(values - np.asarray(keras.activations.gelu(x, approximate=False))).max() > 1e-4


def test_keras_names_still_resolve():
    assert get_activation("relu") is keras.activations.relu and get_activation("gelu") is keras.activations.gelu


def test_a_model_with_the_tanh_gelu_saves_and_loads(tmp_path):
    model = TransformerLanguageModel(40, num_layers=1, hidden_dim=8, num_heads=2, intermediate_dim=16,
                                     max_sequence_length=6, activation="gelu_new")
    ids = np.arange(12).reshape(2, 6) % 40
    expected = np.asarray(model(ids))
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.blocks[0].feed_forward.activation is gelu_approximate
    np.testing.assert_allclose(np.asarray(loaded(ids)), expected, atol=1e-6)


def test_feed_forward_config_round_trips_the_activation():
    layer = FeedForward(8, activation="gelu_approximate")
    assert FeedForward.from_config(layer.get_config()).activation is gelu_approximate
