"""The model kinds `keras-llm train --model ...` knows: which class, which task, which defaults.

Adding a kind is one `MODEL_KINDS` entry, and its name in its task's `model_kinds` (`keras_llm.tasks`, where
the `keras-llm` command reads its choices): the task (`"causal"`, `"masked"`, `"seq2seq"`) decides the dataset
builder, the metrics, the text samples and the serving module. Classes are looked up in `keras_llm.models` by
name when a model is built, so a kind whose class does not exist yet fails with one clear line instead of an
import error.
"""
import dataclasses

import keras_llm.models as models
from keras_llm.tasks import task_of_kind


class UnavailableModelError(ValueError):
    """The model kind is registered but its class is not in `keras_llm.models` (yet)."""


@dataclasses.dataclass(frozen=True)
class ModelKind:
    """One `--model` choice.

    Attributes:
        name: the `--model` value.
        task: `"causal"` (next-token LM), `"masked"` (BERT-style MLM) or `"seq2seq"` (source -> target).
        class_name: the model class in `keras_llm.models`.
        preset_class_name: the class the kind's presets build (BERT presets describe the encoder).
        defaults: architecture used without `--preset`, before flag overrides.
    """

    name: str
    task: str
    class_name: str
    preset_class_name: str
    defaults: dict

    def model_class(self):
        cls = getattr(models, self.class_name, None)
        if cls is None:
            raise UnavailableModelError(f"--model {self.name} is not available yet "
                                        f"(keras_llm.models.{self.class_name} does not exist in this version)")
        return cls


def _kind(name, class_name, defaults, preset_class_name=None):
    """A `ModelKind` whose task is the one `keras_llm.tasks` lists the kind under."""
    return ModelKind(name, task_of_kind(name).name, class_name, preset_class_name or class_name, defaults)


def _rnn(cell):
    return _kind(cell, "RNNLanguageModel", {"cell": cell, "num_layers": 2, "hidden_dim": 256, "dropout": 0.3,
                                            "tie_embeddings": True, "output_bias": True})


MODEL_KINDS = {
    "rnn": _rnn("rnn"),
    "lstm": _rnn("lstm"),
    "gru": _rnn("gru"),
    "gpt": _kind("gpt", "TransformerLanguageModel",
                 {"num_layers": 2, "hidden_dim": 128, "num_heads": 4, "dropout": 0.1, "output_bias": True}),
    "bert": _kind("bert", "BertMaskedLM", {"num_layers": 2, "hidden_dim": 128, "num_heads": 4, "dropout": 0.1},
                  preset_class_name="BertEncoder"),
    "seq2seq": _kind("seq2seq", "Seq2SeqTransformer",
                     {"num_encoder_layers": 2, "num_decoder_layers": 2, "hidden_dim": 128, "num_heads": 4,
                      "dropout": 0.1}),
}

# Flags that set an architecture argument, and the argument(s) they set per class.
_OVERRIDES = {
    "num_layers": {"Seq2SeqTransformer": ("num_encoder_layers", "num_decoder_layers")},
    "num_heads": {"RNNLanguageModel": ()},
}


def _architecture(kind, config):
    """Constructor arguments (without vocabulary sizes): preset or defaults, then flags, then lengths."""
    if config.preset:
        preset = models.PRESETS.get(config.preset)
        if preset is None:
            raise ValueError(f"unknown preset {config.preset!r}; available: {', '.join(sorted(models.PRESETS))}")
        if preset["model_class"].__name__ != kind.preset_class_name:
            name = preset["model_class"].__name__
            raise ValueError(f"preset {config.preset!r} is a {name}, not a --model {kind.name}")
        arguments = dict(preset["config"])
    else:
        arguments = dict(kind.defaults)
    for flag in ("num_layers", "hidden_dim", "num_heads", "dropout"):
        value = getattr(config, flag)
        if value is None:
            continue
        names = _OVERRIDES.get(flag, {}).get(kind.preset_class_name, (flag,))
        if not names:
            raise ValueError(f"--{flag.replace('_', '-')} does not apply to --model {kind.name}")
        arguments.update({name: value for name in names})
    if kind.name in ("rnn", "lstm", "gru"):
        arguments["cell"] = kind.name
    if "num_heads" in arguments and arguments["hidden_dim"] % arguments["num_heads"]:
        raise ValueError(f"hidden dim {arguments['hidden_dim']} is not divisible by {arguments['num_heads']} heads")
    if kind.preset_class_name != "RNNLanguageModel" and (config.hidden_dim or not config.preset):
        arguments["intermediate_dim"] = 4 * arguments["hidden_dim"]
    _set_lengths(kind, config, arguments)
    return arguments


def _set_lengths(kind, config, arguments):
    """Position tables: at least `seq_len` (default exactly `seq_len`; a preset may allow more)."""
    names = {"TransformerLanguageModel": ("max_sequence_length",), "BertEncoder": ("max_sequence_length",),
             "Seq2SeqTransformer": ("max_source_length", "max_target_length")}.get(kind.preset_class_name, ())
    for name in names:
        limit = arguments.get(name)
        if limit is None:
            arguments[name] = config.seq_len
        elif limit < config.seq_len:
            raise ValueError(f"--seq-len {config.seq_len} exceeds the model's {name} ({limit})")


def build_model(config, vocabulary_size):
    """A new, untrained model for `config` (a `TrainConfig`) and a vocabulary of `vocabulary_size` ids."""
    kind = MODEL_KINDS[config.model]
    cls = kind.model_class()
    arguments = _architecture(kind, config)
    if kind.preset_class_name != kind.class_name:  # the class wraps the encoder its presets describe (BERT)
        return cls(dict(arguments, vocabulary_size=vocabulary_size))
    if task_of_kind(kind.name).holds_pairs:  # source and target vocabularies: one tokenizer, one size
        return cls(vocabulary_size, vocabulary_size, **arguments)
    return cls(vocabulary_size=vocabulary_size, **arguments)
