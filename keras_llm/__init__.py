"""keras_llm: language models for Keras 3 and TensorFlow.

Flow: tokenizers -> data -> layers/models -> training -> generation -> export -> tfx_components.
"""
from keras_llm.version import __version__

__all__ = ["__version__"]
