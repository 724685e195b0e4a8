"""Language models (pure Keras 3) and their presets."""
from keras_llm.models.presets import PRESETS, from_preset, preset_config
from keras_llm.models.rnn_language_model import RNNLanguageModel
from keras_llm.models.transformer_language_model import TransformerLanguageModel

__all__ = [
    "PRESETS",
    "RNNLanguageModel",
    "TransformerLanguageModel",
    "from_preset",
    "preset_config",
]
