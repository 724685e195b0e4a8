"""Named model configurations: `from_preset("lstm-medium", vocabulary_size=10000)`.

`PRESETS` maps a name to the model class, its constructor arguments (everything but the vocabulary size(s),
which come from the tokenizer(s)) and a one-line description. Encoder-decoder presets name two vocabulary
arguments (`"vocabulary_arguments"`: source, target). Presets carry architecture only, no weights.
"""
from keras_llm.models.bert_encoder import BertEncoder
from keras_llm.models.lstm_seq2seq import LSTMSeq2Seq
from keras_llm.models.rnn_language_model import RNNLanguageModel
from keras_llm.models.seq2seq_transformer import Seq2SeqTransformer
from keras_llm.models.transformer_language_model import TransformerLanguageModel

SEQ2SEQ_VOCABULARY_ARGUMENTS = ("source_vocabulary_size", "target_vocabulary_size")


def _bert(num_layers, hidden_dim, num_heads, intermediate_dim):
    return {
        "num_layers": num_layers,
        "hidden_dim": hidden_dim,
        "num_heads": num_heads,
        "intermediate_dim": intermediate_dim,
        "max_sequence_length": 512,
        "num_segments": 2,
        "dropout": 0.1,
    }


PRESETS = {
    "lstm-small": {
        "model_class": RNNLanguageModel,
        "config": {"cell": "lstm", "num_layers": 2, "hidden_dim": 200, "dropout": 0.3, "tie_embeddings": True,
                   "output_bias": True},
        "description": "The size of Zaremba et al.'s (2014) small PTB LSTM, 2 x 200 units, with dropout 0.3 and the "
                       "output tied to the embedding (Press & Wolf, 2017): without them it overfits a small corpus "
                       "within a few passes.",
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
            "dropout": 0.2,
            "output_bias": True,
        },
        "description": "A 2-layer, 64-wide GPT for tests and quick experiments; dropout 0.2, since without it it "
                       "overfits a WikiText-2-sized corpus (200k words) within 10 passes.",
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
            "activation": "gelu_approximate",
        },
        "description": "GPT-2 small shape (Radford et al., 2019): 12 layers, 768 wide, 12 heads, 1024 positions, "
                       "tanh GELU.",
    },
    "bert-tiny": {
        "model_class": BertEncoder,
        "config": _bert(2, 128, 2, 512),
        "description": "BERT-Tiny (Turc et al., 2019): 2 layers, 128 wide, 2 heads, 512 positions.",
    },
    "bert-mini": {
        "model_class": BertEncoder,
        "config": _bert(4, 256, 4, 1024),
        "description": "BERT-Mini (Turc et al., 2019): 4 layers, 256 wide, 4 heads, 512 positions.",
    },
    "bert-base": {
        "model_class": BertEncoder,
        "config": _bert(12, 768, 12, 3072),
        "description": "BERT-Base (Devlin et al., 2019): 12 layers, 768 wide, 12 heads, 512 positions.",
    },
    "seq2seq-small": {
        "model_class": Seq2SeqTransformer,
        "vocabulary_arguments": SEQ2SEQ_VOCABULARY_ARGUMENTS,
        "config": {
            "num_encoder_layers": 3,
            "num_decoder_layers": 3,
            "hidden_dim": 256,
            "num_heads": 4,
            "intermediate_dim": 1024,
            "max_source_length": 128,
            "max_target_length": 128,
            "dropout": 0.1,
        },
        "description": "A 3+3-layer, 256-wide pre-LN encoder-decoder transformer with 4 heads.",
    },
    "lstm-seq2seq-small": {
        "model_class": LSTMSeq2Seq,
        "vocabulary_arguments": SEQ2SEQ_VOCABULARY_ARGUMENTS,
        "config": {"cell": "lstm", "num_layers": 2, "hidden_dim": 256, "attention": "luong", "dropout": 0.1},
        "description": "A 2 x 256 LSTM encoder-decoder with Luong attention (Luong et al., 2015).",
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
        vocabulary_size: size of the tokenizer's vocabulary; for encoder-decoder presets either one size
            (shared) or a `(source, target)` pair.
        **overrides: constructor arguments that replace the preset's (e.g. `dropout=0.2`, `name="lm"`).

    Returns:
        An instance of the preset's model class. Unknown override names raise Keras' `ValueError`.

    Example:
    >>> model = from_preset("gpt-tiny", vocabulary_size=200, max_sequence_length=32)
    >>> model.num_layers
    2
    """
    config = preset_config(name, **overrides)
    entry = PRESETS[name]
    names = entry.get("vocabulary_arguments", ("vocabulary_size",))
    sizes = tuple(vocabulary_size) if isinstance(vocabulary_size, (tuple, list)) else (vocabulary_size,) * len(names)
    if len(sizes) != len(names):
        raise ValueError(f"preset {name!r} takes {len(names)} vocabulary size(s) ({', '.join(names)}), got {sizes}")
    return entry["model_class"](**dict(zip(names, sizes)), **config)
