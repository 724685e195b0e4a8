"""Starting a run from existing weights: `keras-llm train --init-from DIR` (`TrainConfig.init_from`).

DIR is one of:
- a `keras-llm train` run folder (`model.keras`, `tokenizer/`, `train_config.json`), or a TFX Trainer's Keras run
  folder (the same files);
- a `keras-llm convert` folder (`model.keras`, `converted.json`, and maybe `tokenizer/`);
- a checkpoint folder `keras_llm.models.from_pretrained` reads (a KerasHub preset or a Hugging Face folder).

The architecture is DIR's: the model family is taken from it, and a flag that contradicts it (another `--model`,
`--vocab-size`, `--num-layers`, `--hidden-dim`, `--num-heads`, `--seq-len` beyond its positions, or any
`--preset`) is one error line. `--dropout` is the one architecture flag a fine-tuning run may change (it has no
weights): the model is rebuilt from DIR's config with that rate. The model is rebuilt under the run's dtype
policy (`--mixed-precision`) and strategy, then given DIR's weights; its `token_conventions` (eos / pad /
suppressed ids) come with its config, so `compile_language_model` ignores the right padding id.

Tokenizer: DIR's own (`DIR/tokenizer/`, a `keras_llm` tokenizer) when it has one; else `--tokenizer-dir`, or
one trained on the training files with the model's vocabulary size. Whichever it is must have exactly the
model's vocabulary size, else one error line naming both sizes and DIR. `--tokenizer-dir` with a DIR that has a
different tokenizer is an error (the ids would not mean what the weights learned).

Resuming wins: an interrupted run (a backup with checkpoints in its folder) restores its own weights and
optimizer state over DIR's, so rerunning the same command continues where it stopped; DIR must still exist (it
gives the architecture). Changing `--init-from` while a run is interrupted is refused like any other setting.

The reading part (`read_init_source`, `resolve_init_from`) is plain Python (json and zip reads), so the command
checks DIR before TensorFlow's start-up; Keras is imported only to load the model.
"""
import dataclasses
import json
import os
import zipfile

from keras_llm.training.run_directory import file_fingerprint
from keras_llm.training.train_config import DEFAULT_SEQ_LEN, RECURRENT_KINDS, RECURRENT_SEQ_LEN

MODEL_FILE = "model.keras"
TOKENIZER_FOLDER = "tokenizer"
# Our model classes -> `--model` kind (RNNLanguageModel: its cell).
CLASS_KINDS = {"TransformerLanguageModel": "gpt", "BertMaskedLM": "bert", "Seq2SeqTransformer": "seq2seq"}
# Architecture flags checked against the loaded model's config (seq2seq: num_layers sets both stacks).
ARCHITECTURE_FLAGS = {"num_layers": ("num_layers",), "hidden_dim": ("hidden_dim",), "num_heads": ("num_heads",)}
SEQ2SEQ_NAMES = {"num_layers": ("num_encoder_layers", "num_decoder_layers")}


@dataclasses.dataclass(frozen=True)
class InitSource:
    """What `--init-from DIR` holds, read without loading it.

    Attributes:
        path: DIR. form: "run" (train_config.json), "converted" (converted.json), "model" (a bare model.keras) or
            "checkpoint" (a KerasHub / Hugging Face folder). class_name: the model class (ours, or the
            checkpoint's). kind: the `--model` kind it trains as. config: the model's constructor arguments
            (None for a checkpoint). vocabulary_size, context: the model's ids and positions (None: unknown or
            unlimited). tokenizer_dir: DIR/tokenizer when it holds a keras_llm tokenizer, else None.
    """

    path: str
    form: str
    class_name: str
    kind: str
    config: dict
    vocabulary_size: int
    context: int
    tokenizer_dir: str


def _error(path, message):
    return ValueError(f"--init-from {path}: {message}")


def _kind_of(path, class_name, config):
    if class_name == "RNNLanguageModel":
        return config.get("cell", "lstm")
    if class_name in CLASS_KINDS:
        return CLASS_KINDS[class_name]
    hint = " (convert BERT with --task masked_lm)" if class_name == "BertEncoder" else ""
    raise _error(path, f"holds a {class_name}, which keras-llm train cannot train{hint}")


def model_setting(config, name):
    """A constructor argument of a model config, looking inside a wrapped encoder's config (BertMaskedLM)."""
    if name in config:
        return config[name]
    encoder = config.get("encoder")
    if isinstance(encoder, dict):
        return model_setting(encoder.get("config", encoder), name)
    return None


def _sizes(kind, config):
    """(vocabulary_size, context) of our model config."""
    if kind == "seq2seq":
        vocabulary = config.get("target_vocabulary_size")
        lengths = [n for n in (config.get("max_source_length"), config.get("max_target_length")) if n]
        return vocabulary, min(lengths) if lengths else None
    return model_setting(config, "vocabulary_size"), model_setting(config, "max_sequence_length")


def _read_keras_model_config(path, model_path):
    """The `config.json` inside a `.keras` archive: `(class_name, constructor config)`."""
    try:
        with zipfile.ZipFile(model_path) as archive:
            saved = json.loads(archive.read("config.json"))
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError):
        raise _error(path, f"{model_path} is not a readable Keras model archive") from None
    return saved.get("class_name"), saved.get("config") or {}


def _read_checkpoint_config(path):
    """(class name, kind, vocabulary size, context) of a KerasHub preset or Hugging Face folder's config.json."""
    file = os.path.join(path, "config.json")
    try:
        with open(file, encoding="utf-8") as handle:
            config = json.load(handle)
    except (OSError, ValueError):
        raise _error(path, f"{file} is not readable JSON") from None
    if not isinstance(config, dict):
        raise _error(path, f"{file} is not a checkpoint config")
    model_type, class_name = config.get("model_type"), config.get("class_name")
    if model_type == "gpt2":
        return "gpt2", "gpt", config.get("vocab_size"), config.get("n_positions")
    if model_type == "bert":
        return "bert", "bert", config.get("vocab_size"), config.get("max_position_embeddings")
    if class_name in ("GPT2Backbone", "BertBackbone"):
        inner = config.get("config") or {}
        kind = "gpt" if class_name == "GPT2Backbone" else "bert"
        return class_name, kind, inner.get("vocabulary_size"), inner.get("max_sequence_length")
    found = f"model_type {model_type!r}" if model_type else f"class_name {class_name!r}"
    raise _error(path, f"{file} describes a {found}, not a GPT-2 or BERT checkpoint")


def read_init_source(path):
    """The `InitSource` of DIR; FileNotFoundError / ValueError (one line naming DIR) when it is not a model
    folder. Reads only json files and the archive's config, not the weights."""
    path = os.fspath(path)
    if not os.path.isdir(path):
        raise FileNotFoundError(f"--init-from {path}: no such folder")
    tokenizer_dir = os.path.join(path, TOKENIZER_FOLDER)
    tokenizer_dir = tokenizer_dir if os.path.isfile(os.path.join(tokenizer_dir, "tokenizer.json")) else None
    model_path = os.path.join(path, MODEL_FILE)
    if os.path.isfile(model_path):
        class_name, config = _read_keras_model_config(path, model_path)
        kind = _kind_of(path, class_name, config)
        form = ("run" if os.path.isfile(os.path.join(path, "train_config.json")) else
                "converted" if os.path.isfile(os.path.join(path, "converted.json")) else "model")
        vocabulary, context = _sizes(kind, config)
        return InitSource(path, form, class_name, kind, config, vocabulary, context, tokenizer_dir)
    if os.path.isfile(os.path.join(path, "config.json")):
        class_name, kind, vocabulary, context = _read_checkpoint_config(path)
        return InitSource(path, "checkpoint", class_name, kind, None, vocabulary, context, tokenizer_dir)
    interrupted = " (an interrupted run: finish it first)" if os.path.isdir(os.path.join(path, "backup")) else ""
    raise _error(path, f"not a model folder: no {MODEL_FILE} (a keras-llm train or convert output) and no "
                       f"config.json (a KerasHub preset or Hugging Face checkpoint){interrupted}")


def check_tokenizer_dir(source, tokenizer_dir):
    """`--tokenizer-dir` with a DIR that brings another tokenizer: a ValueError (the same files are fine)."""
    if tokenizer_dir and source.tokenizer_dir and file_fingerprint(tokenizer_dir) != file_fingerprint(
            source.tokenizer_dir):
        raise _error(source.path, f"has its own tokenizer ({source.tokenizer_dir}), and --tokenizer-dir "
                                  f"{tokenizer_dir} is another one; leave --tokenizer-dir out")


def resolve_init_from(values):
    """Explicit settings (a dict of `TrainConfig` fields: a config file's and the flags given) with what
    `--init-from` decides filled in: `model` (DIR's family), `vocab_size` (the model's), and `seq_len` when not
    given (the usual default, within the model's positions). Raises ValueError (one line naming DIR) for an
    explicit setting that contradicts DIR. Without `init_from`, returns `values` unchanged."""
    values = {str(k).replace("-", "_"): v for k, v in dict(values).items()}
    if not values.get("init_from"):
        return values
    source = read_init_source(values["init_from"])
    model = values.get("model")
    if model is not None and model != source.kind:
        raise _error(source.path, f"holds a {source.kind} model ({source.class_name}), not --model {model}; "
                                  f"leave --model out")
    if values.get("preset"):
        raise _error(source.path, f"--preset {values['preset']} conflicts with it: the architecture comes from "
                                  f"the model in it")
    vocab_size = values.get("vocab_size")
    if vocab_size is not None and source.vocabulary_size and vocab_size != source.vocabulary_size:
        raise _error(source.path, f"--vocab-size {vocab_size} conflicts with its model's vocabulary of "
                                  f"{source.vocabulary_size} tokens; leave --vocab-size out")
    tokenizer = values.get("tokenizer")
    if tokenizer and source.tokenizer_dir:
        saved = _tokenizer_class(source.tokenizer_dir)
        if saved and saved.lower() != f"{tokenizer}tokenizer":
            raise _error(source.path, f"--tokenizer {tokenizer} conflicts with its tokenizer (a {saved}); leave "
                                      f"--tokenizer out")
    check_tokenizer_dir(source, values.get("tokenizer_dir"))
    values["model"] = source.kind
    if source.vocabulary_size:
        values["vocab_size"] = int(source.vocabulary_size)
    seq_len = values.get("seq_len")
    if seq_len is None and source.context:
        default = RECURRENT_SEQ_LEN if source.kind in RECURRENT_KINDS else DEFAULT_SEQ_LEN
        values["seq_len"] = min(default, int(source.context))
    elif seq_len is not None and source.context and seq_len > source.context:
        raise _error(source.path, f"--seq-len {seq_len} exceeds its model's {source.context} positions")
    return values


def _tokenizer_class(tokenizer_dir):
    try:
        with open(os.path.join(tokenizer_dir, "tokenizer.json"), encoding="utf-8") as handle:
            return json.load(handle).get("class")
    except (OSError, ValueError, AttributeError):
        return None


# ----------------------------------------------------------------------------------------------------------
# Loading (Keras from here on)


def load_source_model(source):
    """DIR's model as saved (a `.keras` archive) or converted from its checkpoint (`from_pretrained`);
    ValueError (one line naming DIR) when it does not load."""
    import keras

    if source.form == "checkpoint":
        from keras_llm.models import from_pretrained

        try:
            return from_pretrained(source.path, task="masked_lm" if source.kind == "bert" else None)
        except ValueError as e:
            raise _error(source.path, str(e).strip().splitlines()[0]) from None
    model_path = os.path.join(source.path, MODEL_FILE)
    try:
        return keras.saving.load_model(model_path, compile=False)
    except Exception as e:  # noqa: BLE001 - any load failure is reported as one line naming the file
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise _error(source.path, f"{model_path} cannot be loaded: {first}") from None


def _without_dtype(value):
    """A serialized config without its dtype policies, so the rebuilt model takes the run's global policy."""
    if isinstance(value, dict):
        return {k: _without_dtype(v) for k, v in value.items() if k != "dtype"}
    if isinstance(value, list):
        return [_without_dtype(v) for v in value]
    return value


def _set_dropout(config, dropout):
    if "dropout" in config:
        config["dropout"] = dropout
        return True
    encoder = config.get("encoder")
    return isinstance(encoder, dict) and _set_dropout(encoder.get("config", encoder), dropout)


def check_against_model(source, source_model, config, model_class):
    """ValueError (one line naming DIR) when the run's `TrainConfig` contradicts the loaded model: its class is
    not `model_class` (the `--model` kind's) or another cell, an architecture flag differs, or `--seq-len`
    exceeds its positions."""
    model_config = source_model.get_config()
    if not isinstance(source_model, model_class) or (
            config.model in RECURRENT_KINDS and model_config.get("cell") != config.model):
        kind = _kind_of(source.path, type(source_model).__name__, model_config)
        raise _error(source.path, f"holds a {kind} model ({type(source_model).__name__}), not --model "
                                  f"{config.model}; leave --model out")
    for flag, names in ARCHITECTURE_FLAGS.items():
        value = getattr(config, flag)
        if value is None:
            continue
        names = SEQ2SEQ_NAMES.get(flag, names) if config.model == "seq2seq" else names
        has = [model_setting(model_config, name) for name in names]
        if any(v is None for v in has):
            raise _error(source.path, f"--{flag.replace('_', '-')} does not apply to its "
                                      f"{type(source_model).__name__}")
        if any(v != value for v in has):
            raise _error(source.path, f"--{flag.replace('_', '-')} {value} conflicts with its model's "
                                      f"{has[0]}; leave it out (the architecture comes from the model)")
    if config.dropout is not None and not _set_dropout(dict(model_config), config.dropout):
        raise _error(source.path, f"--dropout does not apply to its {type(source_model).__name__}")
    _, context = _sizes(config.model, model_config)
    if context and config.seq_len > context:
        raise _error(source.path, f"--seq-len {config.seq_len} exceeds its model's {context} positions")


def model_vocabulary_size(model):
    """The number of token ids the model reads and predicts (a seq2seq model: its target vocabulary)."""
    config = model.get_config()
    return model_setting(config, "target_vocabulary_size") or model_setting(config, "vocabulary_size")


def check_tokenizer(source, model, tokenizer, origin):
    """ValueError (one line naming both sizes and DIR) when `tokenizer` does not have exactly the model's ids;
    `origin` says where the tokenizer came from."""
    expected = model_vocabulary_size(model)
    if expected is not None and tokenizer.vocabulary_size != expected:
        raise _error(source.path, f"its model has a vocabulary of {expected} tokens but the run's tokenizer "
                                  f"({origin}) has {tokenizer.vocabulary_size}; give --tokenizer-dir with the "
                                  f"model's tokenizer")


def initial_model(source_model, sample_inputs, dropout=None):
    """A new model of `source_model`'s class and config (under the current dtype policy and strategy scope;
    `dropout` replaces its rate), built on `sample_inputs` and holding `source_model`'s weights."""
    config = _without_dtype(source_model.get_config())
    if dropout is not None:
        _set_dropout(config, dropout)
    model = type(source_model).from_config(config)
    model(sample_inputs)
    weights = source_model.get_weights()
    if len(weights) != len(model.weights):
        raise ValueError(f"the rebuilt {type(model).__name__} has {len(model.weights)} variables, the loaded one "
                         f"{len(weights)}")
    model.set_weights(weights)
    return model
