"""Activations that Keras has no serializable name for, registered for `.keras` saving.

`gelu_approximate` is GPT-2's and BERT-tf's tanh form of GELU (`keras.activations.gelu(x, approximate=True)`),
which Keras 3 exposes only as a keyword of `gelu`, so a model config cannot name it; it runs
`keras_llm.backend.ops.gelu`. Models and layers take the activation through `get_activation`, which resolves
our names first, then Keras' own.
"""
import keras

from keras_llm.backend.ops import gelu

# Names other libraries give the tanh form (Hugging Face configs: "gelu_new", "gelu_pytorch_tanh").
APPROXIMATE_GELU_NAMES = ("gelu_approximate", "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "gelu_tanh")


@keras.saving.register_keras_serializable(package="keras_llm", name="gelu_approximate")
def gelu_approximate(x):
    """GELU's tanh approximation, `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`.

    Example:
    >>> round(float(gelu_approximate(keras.ops.convert_to_tensor(1.0))), 4)
    0.8412
    """
    return gelu(x, approximate=True)


def get_activation(identifier):
    """An activation from a name (ours: `gelu_approximate` and its Hugging Face aliases; then any
    `keras.activations` name), a serialized form or a callable.

    Example:
    >>> get_activation("gelu_new") is gelu_approximate, get_activation("relu") is keras.activations.relu
    (True, True)
    """
    if isinstance(identifier, str) and identifier.split(">")[-1] in APPROXIMATE_GELU_NAMES:
        return gelu_approximate
    return keras.activations.get(identifier)
