"""Pretrained GPT-2 and BERT weights from local folders, into keras_llm's own models.

`from_pretrained(path)` reads a folder the user already has (nothing is downloaded) and returns a
`TransformerLanguageModel` (GPT-2) or a `BertMaskedLM` / `BertEncoder` (BERT) holding its weights, so fit,
generation, `.keras` saving and export work on it unchanged. Two folder formats:

- a KerasHub preset (what `keras_hub` models' `save_to_preset(dir)` writes: `config.json` naming the backbone
  class, `model.weights.h5`, ...): read through keras-hub itself (it must be installed), then copied over by
  variable path;
- a Hugging Face checkpoint (`config.json` with `model_type` "gpt2" or "bert", and `model.safetensors` or a
  sharded `model.safetensors.index.json`): read with the `safetensors` package's numpy API (no torch).

Each source yields our model's constructor arguments and a `{our variable path: array}` map; `_assign` checks
that the two cover each other exactly, with the same shapes, and names the tensor and file otherwise.

GPT-2 (both formats) becomes a `TransformerLanguageModel` with learned positions, pre-LN blocks, the tanh GELU
(`gelu_approximate`), tied input/output embeddings, no output bias and GPT-2's layer-norm epsilon. Its
vocabulary keeps GPT-2's ids, which do not follow keras_llm's special-token layout (ids 0-6), so the model
carries `token_conventions={"eos_id": <|endoftext|>, "suppressed_ids": [], "pad_id": None}` for generation
and for `compile_language_model` (no target id is padding: GPT-2's id 0 is "!").
"""
import itertools
import json
import os

import keras
import numpy as np

from keras_llm.models.bert_encoder import BertEncoder
from keras_llm.models.bert_masked_lm import BertMaskedLM
from keras_llm.models.transformer_language_model import TransformerLanguageModel

CONFIG_FILE = "config.json"
SAFETENSORS_FILE = "model.safetensors"
SAFETENSORS_INDEX = "model.safetensors.index.json"
GPT2_END_OF_TEXT = "<|endoftext|>"


class PretrainedFormatError(ValueError):
    """A folder that is not a checkpoint we can read, or whose tensors do not fit the model it describes."""


def from_pretrained(path, task=None):
    """Our model with the weights of the checkpoint folder `path` (a KerasHub preset or a Hugging Face folder).

    Args:
        path: a local folder.
        task: for BERT, `"masked_lm"` (a `BertMaskedLM`; default when the checkpoint has the masked-LM head) or
            `"encoder"` (the `BertEncoder` alone). Ignored for GPT-2 (always a causal LM).

    Returns:
        A built `TransformerLanguageModel`, `BertMaskedLM` or `BertEncoder`.

    Raises:
        PretrainedFormatError: one line naming the file, field or tensor that is missing or does not fit.

    Example:
        >>> import tempfile
        >>> import keras_hub
        >>> folder = tempfile.mkdtemp()
        >>> keras_hub.models.GPT2Backbone(vocabulary_size=50, num_layers=1, num_heads=2, hidden_dim=8,
        ...                               intermediate_dim=16, max_sequence_length=16).save_to_preset(folder)
        >>> model = from_pretrained(folder)  # or a Hugging Face folder: config.json + model.safetensors
        >>> type(model).__name__, model.num_layers, model.vocabulary_size
        ('TransformerLanguageModel', 1, 50)
    """
    path = os.fspath(path)
    config = _read_config(path)
    if "model_type" in config:
        architecture, model_config, weights, sources = _huggingface(path, config)
    elif "class_name" in config:
        architecture, model_config, weights, sources = _keras_hub(path, config)
    else:
        raise PretrainedFormatError(
            f"{os.path.join(path, CONFIG_FILE)}: neither a Hugging Face config (no 'model_type') nor a KerasHub "
            "preset config (no 'class_name')"
        )
    model = _build(architecture, model_config, weights, task, path)
    _assign(model, weights, sources)
    return model


def convert_checkpoint(source, output, task=None):
    """`keras-llm convert`: writes `output/model.keras` (our model with the checkpoint's weights),
    `output/tokenizer/` (GPT-2's BPE files as a keras_llm `BytePairTokenizer`, when the folder has them) and
    `output/converted.json` (what was read, the class, parameter count, config and tokenizer); returns that
    summary."""
    model = from_pretrained(source, task=task)
    os.makedirs(output, exist_ok=True)
    path = os.path.join(output, "model.keras")
    model.save(path)
    summary = {"source": os.path.abspath(source), "model": path, "class": type(model).__name__,
               "parameters": int(model.count_params()),
               "config": {k: v for k, v in model.get_config().items() if k not in ("name", "trainable", "dtype")}}
    summary["tokenizer"] = _convert_tokenizer(source, output, model)
    with open(os.path.join(output, "converted.json"), "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=2, default=str)
    return summary


def _convert_tokenizer(source, output, model):
    """Writes `output/tokenizer/` (a keras_llm `BytePairTokenizer`) from the checkpoint's GPT-2 BPE files;
    -> its path, or None when the folder has none (BERT's vocab.txt is not converted)."""
    try:  # tokenizers run on TensorFlow; a JAX-only install converts the weights alone
        from keras_llm.tokenizers.pretrained import checkpoint_tokenizer
    except ImportError:
        return None
    tokenizer = checkpoint_tokenizer(source)
    if tokenizer is None:
        return None
    size = getattr(model, "vocabulary_size", None)
    if size is not None and tokenizer.vocabulary_size > size:
        raise PretrainedFormatError(f"{source}: the tokenizer has {tokenizer.vocabulary_size} tokens but the "
                                    f"model's vocabulary only {size}")
    directory = os.path.join(output, "tokenizer")
    tokenizer.save(directory)
    return directory


def _read_config(path):
    if not os.path.isdir(path):
        raise PretrainedFormatError(f"{path}: not a folder (from_pretrained reads a local checkpoint folder)")
    file = os.path.join(path, CONFIG_FILE)
    if not os.path.exists(file):
        raise PretrainedFormatError(f"{file}: missing (a checkpoint folder has a {CONFIG_FILE})")
    try:
        with open(file, encoding="utf-8") as handle:
            config = json.load(handle)
    except (OSError, ValueError) as error:
        raise PretrainedFormatError(f"{file}: not readable JSON ({error})") from None
    if not isinstance(config, dict):
        raise PretrainedFormatError(f"{file}: expected a JSON object, got {type(config).__name__}")
    return config


def _field(config, key, file, default=None, required=True):
    if key in config and config[key] is not None:
        return config[key]
    if required and default is None:
        raise PretrainedFormatError(f"{file}: missing field '{key}'")
    return default


# ----------------------------------------------------------------------------------------------------------
# Hugging Face folders


def _read_safetensors(path):
    """`({name: array}, {name: file})` from model.safetensors or the shards its index names."""
    from safetensors.numpy import load_file

    index = os.path.join(path, SAFETENSORS_INDEX)
    if os.path.exists(index):
        with open(index, encoding="utf-8") as handle:
            files = sorted(set(json.load(handle).get("weight_map", {}).values()))
        if not files:
            raise PretrainedFormatError(f"{index}: no 'weight_map' entries")
    elif os.path.exists(os.path.join(path, SAFETENSORS_FILE)):
        files = [SAFETENSORS_FILE]
    else:
        others = [f for f in ("pytorch_model.bin", "tf_model.h5", "flax_model.msgpack") if os.path.exists(
            os.path.join(path, f))]
        found = f" (found {', '.join(others)}: convert it to safetensors first)" if others else ""
        raise PretrainedFormatError(f"{path}: no {SAFETENSORS_FILE} or {SAFETENSORS_INDEX}{found}")
    tensors, sources = {}, {}
    for name in files:
        file = os.path.join(path, name)
        if not os.path.exists(file):
            raise PretrainedFormatError(f"{file}: missing (named by {SAFETENSORS_INDEX})")
        try:
            loaded = load_file(file)
        except Exception as error:  # safetensors raises its own error types for corrupt headers and data
            raise PretrainedFormatError(f"{file}: not a readable safetensors file ({error})") from None
        for key, value in loaded.items():
            tensors[key] = value
            sources[key] = file
    return tensors, sources


def _strip_prefix(tensors, sources, anchor, prefixes):
    """Names without a leading `prefix.` (`transformer.` in GPT2LMHeadModel files, `bert.` in BERT ones), found
    from the tensor `anchor` that every checkpoint of the architecture has."""
    for prefix in ("",) + prefixes:
        if prefix + anchor in tensors:
            cut = len(prefix)
            return ({k[cut:] if k.startswith(prefix) else k: v for k, v in tensors.items()},
                    {k[cut:] if k.startswith(prefix) else k: v for k, v in sources.items()})
    raise PretrainedFormatError(f"no tensor '{anchor}' (nor under {', '.join(p + anchor for p in prefixes)}) in "
                                f"{sorted(set(sources.values()))[0] if sources else 'the checkpoint'}")


def _huggingface(path, config):
    file = os.path.join(path, CONFIG_FILE)
    model_type = config["model_type"]
    if model_type not in ("gpt2", "bert"):
        raise PretrainedFormatError(f"{file}: model_type '{model_type}' is not supported (gpt2 or bert)")
    tensors, sources = _read_safetensors(path)
    if model_type == "gpt2":
        return _huggingface_gpt2(config, file, tensors, sources)
    return _huggingface_bert(config, file, tensors, sources)


def _huggingface_gpt2(config, file, tensors, sources):
    tensors, sources = _strip_prefix(tensors, sources, "wte.weight", ("transformer.",))
    hidden = int(_field(config, "n_embd", file))
    heads = int(_field(config, "n_head", file))
    model_config = dict(
        vocabulary_size=int(_field(config, "vocab_size", file)),
        num_layers=int(_field(config, "n_layer", file)),
        hidden_dim=hidden,
        num_heads=heads,
        intermediate_dim=int(_field(config, "n_inner", file, default=4 * hidden)),
        max_sequence_length=int(_field(config, "n_positions", file)),
        dropout=float(_field(config, "resid_pdrop", file, default=0.1)),
        activation=str(_field(config, "activation_function", file, default="gelu_new")),
        layer_norm_epsilon=float(_field(config, "layer_norm_epsilon", file, default=1e-5)),
    )
    if hidden % heads:
        raise PretrainedFormatError(f"{file}: n_embd {hidden} is not divisible by n_head {heads}")
    head_dim = hidden // heads
    reader = _TensorReader(tensors, sources)
    take = reader.take
    take("wte.weight", "embedding/token_embedding/embeddings")
    take("wpe.weight", "embedding/position_embedding/embeddings")
    for i in range(model_config["num_layers"]):
        h, ours = f"h.{i}.", f"decoder_block_{i}/"
        take(h + "ln_1.weight", ours + "self_attention_norm/gamma")
        take(h + "ln_1.bias", ours + "self_attention_norm/beta")
        take(h + "ln_2.weight", ours + "feed_forward_norm/gamma")
        take(h + "ln_2.bias", ours + "feed_forward_norm/beta")
        # c_attn is a Conv1D: [in, 3 * hidden] with the query, key and value columns side by side.
        qkv, qkv_bias = reader.read(h + "attn.c_attn.weight"), reader.read(h + "attn.c_attn.bias")
        _expect(qkv, (hidden, 3 * hidden), h + "attn.c_attn.weight", sources)
        _expect(qkv_bias, (3 * hidden,), h + "attn.c_attn.bias", sources)
        for part, name in enumerate(("query", "key", "value")):
            columns = slice(part * hidden, (part + 1) * hidden)
            reader.put(ours + f"self_attention/{name}/kernel", qkv[:, columns].reshape(hidden, heads, head_dim),
                       h + "attn.c_attn.weight")
            reader.put(ours + f"self_attention/{name}/bias", qkv_bias[columns].reshape(heads, head_dim),
                       h + "attn.c_attn.bias")
        take(h + "attn.c_proj.weight", ours + "self_attention/attention_output/kernel",
             lambda w, name: _reshaped(w, (heads, head_dim, hidden), name, sources))
        take(h + "attn.c_proj.bias", ours + "self_attention/attention_output/bias")
        take(h + "mlp.c_fc.weight", ours + "feed_forward/intermediate_dense/kernel")
        take(h + "mlp.c_fc.bias", ours + "feed_forward/intermediate_dense/bias")
        take(h + "mlp.c_proj.weight", ours + "feed_forward/output_dense/kernel")
        take(h + "mlp.c_proj.bias", ours + "feed_forward/output_dense/bias")
    take("ln_f.weight", "final_norm/gamma")
    take("ln_f.bias", "final_norm/beta")
    end_id = config.get("eos_token_id")
    model_config["token_conventions"] = {"eos_id": None if end_id is None else int(end_id), "suppressed_ids": [],
                                         "pad_id": None}
    return "gpt2", model_config, reader.weights(), sources


def _huggingface_bert(config, file, tensors, sources):
    tensors, sources = _strip_prefix(tensors, sources, "embeddings.word_embeddings.weight", ("bert.",))
    activation = str(_field(config, "hidden_act", file, default="gelu"))
    model_config = dict(
        vocabulary_size=int(_field(config, "vocab_size", file)),
        num_layers=int(_field(config, "num_hidden_layers", file)),
        hidden_dim=int(_field(config, "hidden_size", file)),
        num_heads=int(_field(config, "num_attention_heads", file)),
        intermediate_dim=int(_field(config, "intermediate_size", file)),
        max_sequence_length=int(_field(config, "max_position_embeddings", file)),
        num_segments=int(_field(config, "type_vocab_size", file, default=2)),
        dropout=float(_field(config, "hidden_dropout_prob", file, default=0.1)),
        activation=activation,
        layer_norm_epsilon=float(_field(config, "layer_norm_eps", file, default=1e-12)),
    )
    hidden, heads = model_config["hidden_dim"], model_config["num_heads"]
    if hidden % heads:
        raise PretrainedFormatError(f"{file}: hidden_size {hidden} is not divisible by num_attention_heads {heads}")
    head_dim = hidden // heads
    reader = _TensorReader(tensors, sources)
    take = reader.take

    def name_of(stem, kind):
        """Old BERT checkpoints name layer-norm weights gamma/beta, new ones weight/bias."""
        for candidate in ((stem + ".weight", stem + ".gamma") if kind == "scale" else (stem + ".bias", stem + ".beta")):
            if candidate in tensors:
                return candidate
        raise PretrainedFormatError(f"tensor '{stem}.{'weight' if kind == 'scale' else 'bias'}' missing from "
                                    f"{_files(sources)}")

    def norm(stem, ours):
        take(name_of(stem, "scale"), ours + "/gamma")
        take(name_of(stem, "shift"), ours + "/beta")

    def linear(shape):
        """A torch Linear weight is [out, in]: transpose, then split the heads as our layer holds them."""
        return lambda w, name: _reshaped(w.T, shape, name, sources)

    # Our names: the encoder's variables under "encoder/", the masked-LM head's at the top (`_relative_paths`).
    take("embeddings.word_embeddings.weight", "encoder/embedding/token_embedding/embeddings")
    take("embeddings.position_embeddings.weight", "encoder/embedding/position_embedding/embeddings")
    if model_config["num_segments"]:
        take("embeddings.token_type_embeddings.weight", "encoder/segment_embedding/embeddings")
    norm("embeddings.LayerNorm", "encoder/embedding_norm")
    for i in range(model_config["num_layers"]):
        layer, ours = f"encoder.layer.{i}.", f"encoder/encoder_block_{i}/"
        for name in ("query", "key", "value"):
            take(layer + f"attention.self.{name}.weight", ours + f"self_attention/{name}/kernel",
                 linear((hidden, heads, head_dim)))
            take(layer + f"attention.self.{name}.bias", ours + f"self_attention/{name}/bias",
                 lambda b, name: _reshaped(b, (heads, head_dim), name, sources))
        take(layer + "attention.output.dense.weight", ours + "self_attention/attention_output/kernel",
             linear((heads, head_dim, hidden)))
        take(layer + "attention.output.dense.bias", ours + "self_attention/attention_output/bias")
        norm(layer + "attention.output.LayerNorm", ours + "self_attention_norm")
        take(layer + "intermediate.dense.weight", ours + "feed_forward/intermediate_dense/kernel",
             linear((hidden, model_config["intermediate_dim"])))
        take(layer + "intermediate.dense.bias", ours + "feed_forward/intermediate_dense/bias")
        take(layer + "output.dense.weight", ours + "feed_forward/output_dense/kernel",
             linear((model_config["intermediate_dim"], hidden)))
        take(layer + "output.dense.bias", ours + "feed_forward/output_dense/bias")
        norm(layer + "output.LayerNorm", ours + "feed_forward_norm")
    model_config["use_pooler"] = "pooler.dense.weight" in tensors
    if model_config["use_pooler"]:
        take("pooler.dense.weight", "encoder/pooler/kernel", linear((hidden, hidden)))
        take("pooler.dense.bias", "encoder/pooler/bias")
    if "cls.predictions.transform.dense.weight" in tensors:
        take("cls.predictions.transform.dense.weight", "head_dense/kernel", linear((hidden, hidden)))
        take("cls.predictions.transform.dense.bias", "head_dense/bias")
        norm("cls.predictions.transform.LayerNorm", "head_norm")
        take("cls.predictions.bias", "output_bias")
    return "bert", model_config, reader.weights(), sources


# ----------------------------------------------------------------------------------------------------------
# KerasHub presets

# keras-hub backbone variable paths (after the backbone's own name) -> ours, by architecture.
_KERAS_HUB_GPT2 = (
    ("token_embedding/embeddings", "embedding/token_embedding/embeddings"),
    ("position_embedding/embeddings", "embedding/position_embedding/embeddings"),
    ("transformer_layer_{i}/self_attention/{qkvo}/{kb}", "decoder_block_{i}/self_attention/{qkvo}/{kb}"),
    ("transformer_layer_{i}/self_attention_layer_norm/{gb}", "decoder_block_{i}/self_attention_norm/{gb}"),
    ("transformer_layer_{i}/feedforward_intermediate_dense/{kb}", "decoder_block_{i}/feed_forward/intermediate_dense/{kb}"),
    ("transformer_layer_{i}/feedforward_output_dense/{kb}", "decoder_block_{i}/feed_forward/output_dense/{kb}"),
    ("transformer_layer_{i}/feedforward_layer_norm/{gb}", "decoder_block_{i}/feed_forward_norm/{gb}"),
    ("layer_norm/{gb}", "final_norm/{gb}"),
)
_KERAS_HUB_BERT = (
    ("token_embedding/embeddings", "encoder/embedding/token_embedding/embeddings"),
    ("position_embedding/embeddings", "encoder/embedding/position_embedding/embeddings"),
    ("segment_embedding/embeddings", "encoder/segment_embedding/embeddings"),
    ("embeddings_layer_norm/{gb}", "encoder/embedding_norm/{gb}"),
    ("transformer_layer_{i}/self_attention_layer/{qkvo}/{kb}",
     "encoder/encoder_block_{i}/self_attention/{qkvo}/{kb}"),
    ("transformer_layer_{i}/self_attention_layer_norm/{gb}", "encoder/encoder_block_{i}/self_attention_norm/{gb}"),
    ("transformer_layer_{i}/feedforward_intermediate_dense/{kb}",
     "encoder/encoder_block_{i}/feed_forward/intermediate_dense/{kb}"),
    ("transformer_layer_{i}/feedforward_output_dense/{kb}", "encoder/encoder_block_{i}/feed_forward/output_dense/{kb}"),
    ("transformer_layer_{i}/feedforward_layer_norm/{gb}", "encoder/encoder_block_{i}/feed_forward_norm/{gb}"),
    ("pooled_dense/{kb}", "encoder/pooler/{kb}"),
)


def _keras_hub_names(table, num_layers):
    """`{their path: our path}`: each pattern of `table` expanded over the placeholders it names."""
    choices = {"i": range(num_layers), "qkvo": ("query", "key", "value", "attention_output"),
               "kb": ("kernel", "bias"), "gb": ("gamma", "beta")}
    names = {}
    for theirs, ours in table:
        keys = [key for key in choices if "{" + key + "}" in theirs]
        for values in itertools.product(*(choices[key] for key in keys)):
            fill = dict(zip(keys, values))
            names[theirs.format(**fill)] = ours.format(**fill)
    return names


def _keras_hub(path, config):
    file = os.path.join(path, CONFIG_FILE)
    class_name = config["class_name"]
    if class_name not in ("GPT2Backbone", "BertBackbone"):
        raise PretrainedFormatError(f"{file}: class_name '{class_name}' is not supported (GPT2Backbone or "
                                    "BertBackbone)")
    weights_file = os.path.join(path, "model.weights.h5")
    if not os.path.exists(weights_file):
        raise PretrainedFormatError(f"{weights_file}: missing (a KerasHub preset holds its weights there)")
    try:
        import keras_hub
    except ImportError:
        raise PretrainedFormatError(f"{path}: reading a KerasHub preset needs keras-hub installed "
                                    "(pip install keras-hub)") from None
    hub_config = config.get("config", {})
    try:
        backbone = keras_hub.models.Backbone.from_preset(path)
    except Exception as error:  # keras-hub/h5py errors for a truncated or mismatched weights file
        raise PretrainedFormatError(f"{weights_file}: keras-hub could not load it ({type(error).__name__}: "
                                    f"{str(error).splitlines()[0] if str(error) else ''})") from None
    prefix = backbone.name + "/"
    theirs = {v.path[len(prefix):] if v.path.startswith(prefix) else v.path: v for v in backbone.weights}
    common = dict(
        vocabulary_size=int(hub_config["vocabulary_size"]),
        num_layers=int(hub_config["num_layers"]),
        hidden_dim=int(hub_config["hidden_dim"]),
        num_heads=int(hub_config["num_heads"]),
        intermediate_dim=int(hub_config["intermediate_dim"]),
        max_sequence_length=int(hub_config["max_sequence_length"]),
        dropout=float(hub_config.get("dropout", 0.1)),
    )
    if class_name == "GPT2Backbone":
        architecture, table = "gpt2", _KERAS_HUB_GPT2
        model_config = dict(common, activation="gelu_approximate", layer_norm_epsilon=1e-5,
                            token_conventions={"eos_id": _keras_hub_end_id(path), "suppressed_ids": [], "pad_id": None})
    else:
        architecture, table = "bert", _KERAS_HUB_BERT
        # keras-hub's BERT runs the tanh GELU (Hugging Face's runs the exact one): load it as it ran.
        model_config = dict(common, num_segments=int(hub_config.get("num_segments", 2)), activation="gelu_approximate",
                            layer_norm_epsilon=1e-12, use_pooler="pooled_dense/kernel" in theirs)
    names = _keras_hub_names(table, common["num_layers"])
    weights, origin = {}, {}
    for their_name, our_name in names.items():
        if their_name not in theirs:
            if our_name.startswith("encoder/pooler/") or our_name.startswith("encoder/segment_embedding/"):
                continue
            raise PretrainedFormatError(f"variable '{their_name}' missing from {weights_file}")
        weights[our_name] = keras.ops.convert_to_numpy(theirs[their_name])
        origin[our_name] = f"variable '{their_name}' of {weights_file}"
    sources = {name: weights_file for name in theirs}
    return architecture, model_config, _Weights(weights, origin), sources


def _keras_hub_end_id(path):
    """GPT-2's <|endoftext|> id from the preset's tokenizer vocabulary, when the preset has one."""
    for root, _, files in os.walk(path):
        if "vocabulary.json" in files:
            with open(os.path.join(root, "vocabulary.json"), encoding="utf-8") as handle:
                vocabulary = json.load(handle)
            if GPT2_END_OF_TEXT in vocabulary:
                return int(vocabulary[GPT2_END_OF_TEXT])
    return None


# ----------------------------------------------------------------------------------------------------------
# Building and filling our model


class _Weights(dict):
    """`{our variable path: array}` and, per entry, where it came from (for error messages)."""

    def __init__(self, weights, origin):
        super().__init__(weights)
        self.origin = origin


class _TensorReader:
    """Checkpoint tensors -> our `{variable path: array}`, remembering which tensor each value came from."""

    def __init__(self, tensors, sources):
        self.tensors, self.sources = tensors, sources
        self.values, self.origin = {}, {}

    def read(self, name):
        if name not in self.tensors:
            raise PretrainedFormatError(f"tensor '{name}' missing from {_files(self.sources)}")
        return np.asarray(self.tensors[name])

    def put(self, ours, value, name):
        """`value` (derived from tensor `name`) for our variable `ours`."""
        self.values[ours] = value
        self.origin[ours] = f"tensor '{name}' of {self.sources[name]}"

    def take(self, name, ours, transform=None):
        """Tensor `name`, through `transform(value, name)` if given, for our variable `ours`."""
        value = self.read(name)
        self.put(ours, transform(value, name) if transform else value, name)

    def weights(self):
        return _Weights(self.values, self.origin)


def _files(sources):
    files = sorted(set(sources.values()))
    return files[0] if len(files) == 1 else f"the {len(files)} files of the checkpoint"


def _expect(value, shape, name, sources):
    if tuple(value.shape) != tuple(shape):
        raise PretrainedFormatError(f"tensor '{name}' of {sources.get(name, 'the checkpoint')} has shape "
                                    f"{tuple(value.shape)}, expected {tuple(shape)} from config.json")


def _reshaped(value, shape, name, sources):
    if int(np.prod(value.shape)) != int(np.prod(shape)):
        raise PretrainedFormatError(f"tensor '{name}' of {sources.get(name, 'the checkpoint')} has shape "
                                    f"{tuple(value.shape)}, which does not fit {tuple(shape)} from config.json")
    return value.reshape(shape)


def _build(architecture, model_config, weights, task, path):
    if architecture == "gpt2":
        model = TransformerLanguageModel(**model_config, tie_embeddings=True, output_bias=False,
                                         position="learned", norm_first=True)
        model.build((None, None))
        return model
    has_head = "head_dense/kernel" in weights
    task = task or ("masked_lm" if has_head else "encoder")
    if task not in ("masked_lm", "encoder"):
        raise ValueError(f"task must be 'masked_lm' or 'encoder' for BERT, got {task!r}")
    encoder = BertEncoder(**model_config)
    if task == "encoder":
        for name in [k for k in weights if not k.startswith("encoder/")]:
            del weights[name]
        for name in list(weights):
            weights[name[len("encoder/"):]] = weights.pop(name)
            weights.origin[name[len("encoder/"):]] = weights.origin.get(name, "")
        encoder.build((None, None))
        return encoder
    if not has_head:
        raise PretrainedFormatError(f"{path}: the checkpoint has no masked-LM head (cls.predictions.*); load it "
                                    "with task='encoder'")
    model = BertMaskedLM(encoder)
    model.build((None, None))
    return model


def _relative_paths(model):
    """`{path: variable}` with paths relative to `model` (its own name cut off) and, for a model that wraps an
    encoder (`BertMaskedLM`), the encoder's name written `encoder`."""
    encoder = getattr(model, "encoder", None)
    paths = {}
    for variable in model.weights:
        path = variable.path
        if path.startswith(model.name + "/"):
            path = path[len(model.name) + 1:]
        if encoder is not None and path.startswith(encoder.name + "/"):
            path = "encoder/" + path[len(encoder.name) + 1:]
        paths[path] = variable
    return paths


def _assign(model, weights, sources):
    """Sets every variable of `model` from `weights` (keys: `_relative_paths`)."""
    ours = _relative_paths(model)
    missing = sorted(set(ours) - set(weights))
    if missing:
        raise PretrainedFormatError(f"the checkpoint has no value for our variable '{missing[0]}'"
                                    + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
    unused = sorted(set(weights) - set(ours))
    if unused:
        raise PretrainedFormatError(f"{weights.origin.get(unused[0], unused[0])} has no place in the model")
    for name, variable in ours.items():
        value = weights[name]
        if tuple(value.shape) != tuple(variable.shape):
            raise PretrainedFormatError(f"{weights.origin.get(name, name)} has shape {tuple(value.shape)}, expected "
                                        f"{tuple(variable.shape)} for '{name}'")
        variable.assign(value.astype(variable.dtype))
