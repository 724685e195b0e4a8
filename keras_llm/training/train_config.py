"""The settings of a training run (`TrainConfig`), read from keyword arguments, a YAML/JSON file, or both.

Precedence, lowest first: the defaults below, then a config file, then explicit values (command-line flags).
`TrainConfig.validate()` turns an impossible combination into one `ValueError` line before any work.
"""
import dataclasses
import json
import os

MODEL_KINDS = ("rnn", "lstm", "gru", "gpt", "bert", "seq2seq")
TOKENIZER_KINDS = ("word", "wordpiece", "byte", "sentencepiece", "bpe")  # keras_llm.tokenizers.TOKENIZERS (no TF import here)
DISTRIBUTE_KINDS = ("auto", "none", "mirrored", "multi_worker", "tpu")
SHARD_POLICIES = ("data", "file", "auto", "off")
RECURRENT_KINDS = ("rnn", "lstm", "gru")
MIXED_PRECISION = (False, True, "auto", "float16", "bfloat16")
JIT_COMPILE = ("auto", "on", "off")
RECURRENT_SEQ_LEN = 64
DEFAULT_SEQ_LEN = 128


@dataclasses.dataclass
class TrainConfig:
    """Everything `keras_llm.training.trainer.train_language_model` needs.

    Data and model:
        model: one of `MODEL_KINDS` (rnn/lstm/gru: `RNNLanguageModel`; gpt: `TransformerLanguageModel`).
        preset: a `keras_llm.models.PRESETS` name; architecture flags below override it.
        train / valid: text files (any format `keras_llm.data.load_texts` reads; seq2seq: `source<TAB>target`).
        documents: plain-text files hold blank-line-separated documents instead of one example per line.
        field: JSON field / CSV column / tf.Example feature holding the text.
        tokenizer: kind trained on the training files, unless `tokenizer_dir` names a saved one.
        vocab_size: vocabulary size of a trained tokenizer (ignored for byte).
        seq_len: tokens per training example (default 64 for rnn/lstm/gru, whose truncated backpropagation
            needs no longer spans, so small corpora get twice the steps; 128 otherwise); batch_size: examples
            per step over all replicas (global).
        epochs / steps: how long (at most one of them). With neither, the length is automatic
            (`keras_llm.training.defaults.auto_epochs`): passes over the data for about 2,000 steps (3 to 30
            passes), validated after each pass, stopped early without improvement, best pass kept.
            steps_per_epoch: with `steps`, the length of the "epochs" in which progress, validation and text
            samples are reported (default min(steps, 1000)).
        valid_split: with no `valid` files, hold out one example in round(1 / valid_split) of the training
            files for validation (`keras_llm.data.splits.holdout_split`); default (None) 0.05 when the length
            is automatic, else 0 (no validation). Not for seq2seq.
        patience: stop after this many epochs without a lower validation loss and keep the best epoch's
            weights (0: off, train the full length, keep the last weights); default (None) 3 when the length
            is automatic and there is validation data, else 0.
        num_layers, hidden_dim, num_heads, dropout: architecture (None: the preset's or the default).
        init_from: start from the weights in this folder instead of a new model: a `keras-llm train` run, a
            `keras-llm convert` output or a checkpoint `from_pretrained` reads. The architecture, the model
            family and (when the folder has one) the tokenizer are the folder's; conflicting settings are an
            error. An interrupted run in `output` resumes from its own checkpoint instead
            (`keras_llm.training.init_from`).
        learning_rate, warmup_steps: AdamW with linear warmup and cosine decay to 0 at the last step;
            None picks the family's default (`keras_llm.training.defaults`: 1e-3 for recurrent models, 3e-3
            to 3e-4 for Transformers by width; warmup 5% of the steps, at most 1,000).
        seed: seeds weights, shuffling and dropout. deterministic: also make TF ops deterministic, for this
            run only (the process's earlier setting is restored when it returns); not with `jit_compile="on"`.
        mixed_precision: compute in a 16-bit float, keep float32 weights: True or "auto" picks float16 on a GPU
            (Keras then scales the loss: `LossScaleOptimizer`) and bfloat16 elsewhere; "float16" / "bfloat16"
            choose; False off.
        jit_compile: "auto" (Keras' choice: XLA on JAX, and on TensorFlow with a GPU and no tf.distribute
            strategy; not on a CPU-only TensorFlow), "on" or "off": whether `fit` compiles its step with XLA.
    Distribution: distribute (one of `DISTRIBUTE_KINDS`), tpu (address), shard_by (multi-worker input split,
        `keras_llm.distribute.input_split`: "auto" by file when there are at least as many training files as
        workers, else by data; "file", "data", or "off" to give every worker all the data).
    Outputs:
        output: run directory (model.keras, tokenizer/, serving/, metrics.json, tensorboard/, backup/).
        tensorboard_dir, serving_dir, backup_dir: override the locations inside `output`;
            `serving_dir=""` skips the SavedModel export.
        checkpoint_every: BackupAndRestore saves the training state every this many steps.
        log_every: TensorBoard step scalars every this many steps.
        sample_prompts / sample_tokens: text summary at each epoch end.
        profile_steps: `[first, last]` global steps to profile.
        max_new_tokens: continuation length of the exported `generate` signature.
        verbose: 1 progress bar, 2 one line per epoch, 0 quiet.
        overwrite: replace a finished run in `output` (or start an interrupted one over); without it, a
            finished run there is an error (`keras_llm.training.run_directory`).
    """

    model: str = "gpt"
    train: list = None
    output: str = None
    preset: str = None
    valid: list = None
    documents: bool = False
    field: str = "text"
    tokenizer: str = "word"
    tokenizer_dir: str = None
    vocab_size: int = 8000
    seq_len: int = None
    batch_size: int = 32
    epochs: int = None
    steps: int = None
    steps_per_epoch: int = None
    num_layers: int = None
    hidden_dim: int = None
    num_heads: int = None
    dropout: float = None
    init_from: str = None
    learning_rate: float = None
    warmup_steps: int = None
    valid_split: float = None
    patience: int = None
    seed: int = 0
    deterministic: bool = False
    mixed_precision: object = False
    jit_compile: str = "auto"
    distribute: str = "auto"
    tpu: str = None
    shard_by: str = "auto"
    tensorboard_dir: str = None
    serving_dir: str = None
    backup_dir: str = None
    checkpoint_every: int = 100
    log_every: int = 10
    sample_prompts: list = dataclasses.field(default_factory=lambda: ["", "the"])
    sample_tokens: int = 16
    profile_steps: list = None
    max_new_tokens: int = 32
    verbose: int = 1
    overwrite: bool = False

    def __post_init__(self):
        if self.seq_len is None:
            self.seq_len = RECURRENT_SEQ_LEN if self.model in RECURRENT_KINDS else DEFAULT_SEQ_LEN

    @classmethod
    def from_dict(cls, values):
        """Builds a config from a mapping; keys may use dashes (`seq-len`). Unknown keys are an error."""
        known = {f.name for f in dataclasses.fields(cls)}
        values = {str(k).replace("-", "_"): v for k, v in dict(values).items()}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(unknown)}")
        for key in ("train", "valid", "sample_prompts"):
            if isinstance(values.get(key), str):
                values[key] = [values[key]]
        return cls(**values)

    def to_dict(self):
        return dataclasses.asdict(self)

    def location(self, name):
        """Path of an output (`"tensorboard"`, `"serving"`, `"backup"`, `"tokenizer"`, `"model"`, `"metrics"`)."""
        explicit = {"tensorboard": self.tensorboard_dir, "serving": self.serving_dir, "backup": self.backup_dir}
        if explicit.get(name) is not None:
            return explicit[name]
        files = {"model": "model.keras", "metrics": "metrics.json", "config": "train_config.json"}
        return os.path.join(self.output, files.get(name, name))

    def validate(self):
        """Raises ValueError (one line) for a missing or impossible setting."""
        checks = [
            (self.model in MODEL_KINDS, f"--model must be one of {', '.join(MODEL_KINDS)}, got {self.model!r}"),
            (bool(self.train), "--train is required (one or more training files)"),
            (bool(self.output), "--output is required (the run directory)"),
            (self.tokenizer in TOKENIZER_KINDS, f"--tokenizer must be one of {', '.join(TOKENIZER_KINDS)}"),
            (self.distribute in DISTRIBUTE_KINDS, f"--distribute must be one of {', '.join(DISTRIBUTE_KINDS)}"),
            (self.shard_by in SHARD_POLICIES, f"shard_by must be one of {', '.join(SHARD_POLICIES)}"),
            (any(self.mixed_precision is m or self.mixed_precision == m and isinstance(m, str)
                 for m in MIXED_PRECISION), f"--mixed-precision must be auto, float16 or bfloat16, got "
                                             f"{self.mixed_precision!r}"),
            (self.jit_compile in JIT_COMPILE, f"--jit-compile must be one of {', '.join(JIT_COMPILE)}, got "
                                              f"{self.jit_compile!r}"),
            (self.epochs is None or self.steps is None, "give at most one of --epochs and --steps"),
            (not (self.deterministic and self.jit_compile == "on"),
             "--jit-compile on cannot be combined with --deterministic (Keras runs no XLA step while TF op "
             "determinism is on)"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
        positive = ["vocab_size", "seq_len", "batch_size", "epochs", "steps", "steps_per_epoch", "num_layers",
                    "hidden_dim", "num_heads", "checkpoint_every", "log_every", "max_new_tokens"]
        for name in positive:
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise ValueError(f"--{name.replace('_', '-')} must be a positive integer, got {value!r}")
        if self.dropout is not None and not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"--dropout must be in [0, 1), got {self.dropout}")
        if self.learning_rate is not None and not (isinstance(self.learning_rate, (int, float))
                                                   and self.learning_rate > 0):
            raise ValueError(f"--learning-rate must be positive, got {self.learning_rate!r}")
        for name in ("warmup_steps", "patience"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
                raise ValueError(f"--{name.replace('_', '-')} must be an integer >= 0, got {value!r}")
        if self.valid_split is not None and not (isinstance(self.valid_split, (int, float))
                                                 and 0 <= self.valid_split <= 0.5):
            raise ValueError(f"--valid-split must be in [0, 0.5], got {self.valid_split!r}")
        if self.hidden_dim and self.num_heads and self.hidden_dim % self.num_heads:
            raise ValueError(f"--hidden-dim {self.hidden_dim} is not divisible by --num-heads {self.num_heads}")
        if self.init_from and self.output and os.path.realpath(self.init_from) == os.path.realpath(self.output):
            raise ValueError(f"--init-from {self.init_from} is the run's own --output; write the new run to "
                             f"another folder")
        steps = self.profile_steps
        if steps is not None and (len(steps) != 2 or not 1 <= steps[0] <= steps[1]):
            raise ValueError(f"profile_steps must be [FIRST, LAST] with 1 <= FIRST <= LAST, got {self.profile_steps}")
        return self

    @property
    def auto_length(self):
        """Neither `epochs` nor `steps` given: the trainer picks the length (see `epochs` above)."""
        return self.epochs is None and self.steps is None


def read_config_file(path):
    """A YAML (`.yaml`/`.yml`) or JSON file of settings -> dict. Errors are one line naming the file."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"config file not found: {path}")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        if path.endswith((".yaml", ".yml")):
            import yaml

            values = yaml.safe_load(text)
        else:
            values = json.loads(text)
    except Exception as e:  # noqa: BLE001 - any parse error is reported the same way
        raise ValueError(f"{path}: cannot parse ({str(e).splitlines()[0]})") from None
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ValueError(f"{path}: expected a mapping of settings, got {type(values).__name__}")
    return values


def merge_settings(file_values, explicit):
    """Config-file values overridden by explicit ones. Giving `epochs` or `steps` explicitly drops both
    from the file (they are alternatives)."""
    merged = {str(k).replace("-", "_"): v for k, v in (file_values or {}).items()}
    explicit = {str(k).replace("-", "_"): v for k, v in explicit.items()}
    if "epochs" in explicit or "steps" in explicit:
        merged.pop("epochs", None)
        merged.pop("steps", None)
    merged.update(explicit)
    return merged


def load_train_config(config_file=None, **explicit):
    """`TrainConfig` from an optional config file and explicit settings (which win), validated; with
    `init_from`, the model family and vocabulary size are the folder's (`init_from.resolve_init_from`)."""
    from keras_llm.training.init_from import resolve_init_from

    file_values = read_config_file(config_file) if config_file else {}
    return TrainConfig.from_dict(resolve_init_from(merge_settings(file_values, explicit))).validate()
