"""Named model configurations: `from_preset("lstm-medium", vocabulary_size=10000)`.

`PRESETS` maps a name to the model class, its constructor arguments (everything but `vocabulary_size`, which
comes from the tokenizer) and a one-line description. Add entries (BERT, seq2seq, ...) next to these.
Presets carry architecture only, no weights.
"""
from keras_llm.models.rnn_language_model import RNNLanguageModel
from keras_llm.models.transformer_language_model import TransformerLanguageModel

PRESETS = {
    "lstm-small": {
        "model_class": RNNLanguageModel,
        "config": {"cell": "lstm", "num_layers": 2, "hidden_dim": 200, "dropout": 0.0, "tie_embeddings": False},
        "description": "Zaremba et al. (2014) small PTB LSTM: 2 x 200 units, no dropout.",
    },
    "lstm-medium": {
        "model_class": RNNLanguageModel,
        "config": {"cell": "lstm", "num_layers": 2, "hidden_dim": 650, "dropout": 0.5, "tie_embeddings": False},
        "description": "Zaremba et al. (2014) medium PTB LSTM: 2 x 650 units, dropout 0.5.",
    },
    "gpt-tiny": {
        "model_class": TransformerLanguageModel,
        "config": {
            "num_layers": 2,
            "hidden_dim": 64,
            "num_heads": 2,
            "intermediate_dim": 256,
            "max_sequence_length": 256,
            "dropout": 0.0,
        },
        "description": "A 2-layer, 64-wide GPT for tests and quick experiments.",
    },
    "gpt2-small": {
        "model_class": TransformerLanguageModel,
        "config": {
            "num_layers": 12,
            "hidden_dim": 768,
            "num_heads": 12,
            "intermediate_dim": 3072,
            "max_sequence_length": 1024,
            "dropout": 0.1,
        },
        "description": "GPT-2 small shape (Radford et al., 2019): 12 layers, 768 wide, 12 heads, 1024 positions.",
    },
}


def preset_config(name, /, **overrides):
    """The constructor arguments of preset `name`, updated with `overrides` (a new dict).

    Example:
    >>> preset_config("lstm-medium", dropout=0.3)["hidden_dim"]
    650
    """
    if name not in PRESETS:
        raise ValueError(f"Unknown preset {name!r}; available: {sorted(PRESETS)}")
    return {**PRESETS[name]["config"], **overrides}


def from_preset(name, /, vocabulary_size, **overrides):
    """Builds the model of preset `name` (untrained) for a vocabulary of `vocabulary_size` ids.

    Args:
        name: a key of `PRESETS` (positional, so that `name=` in `overrides` names the model).
        vocabulary_size: size of the tokenizer's vocabulary.
        **overrides: constructor arguments that replace the preset's (e.g. `dropout=0.2`, `name="lm"`).

    Returns:
        An instance of the preset's model class. Unknown override names raise Keras' `ValueError`.

    Example:
    >>> model = from_preset("gpt-tiny", vocabulary_size=200, max_sequence_length=32)
    >>> model.num_layers
    2
    """
    config = preset_config(name, **overrides)
    return PRESETS[name]["model_class"](vocabulary_size=vocabulary_size, **config)
