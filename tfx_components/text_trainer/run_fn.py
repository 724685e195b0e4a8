"""The training function TFX's Trainer calls (`run_fn`), referenced as `tfx_components.text_trainer.run_fn.run_fn`.

It is `keras-llm train` inside TFX: `run_fn` turns the Trainer's `fn_args` and the pipeline's `custom_config`
into a `keras_llm.training.train_config.TrainConfig` and calls `keras_llm.training.trainer.train_language_model`,
so the pipeline trains exactly what the command line trains:

- the model family from `custom_config["model"]`: a causal LM (`lstm`, `gru`, `rnn`, `gpt`; started from the
  unigram output bias) or a BERT masked LM (`bert`), each with its default preset unless `preset` is given;
- or, with `custom_config["init_from"]` (a folder), the model in that folder and its tokenizer when it has one
  (else the `Vocabulary`, which must have the model's vocabulary size): `keras-llm train --init-from`;
- the `tf.distribute` strategy from `custom_config["distribute"]` through `keras_llm.distribute` (default
  `"auto"`, the command's default: TPU / multi-worker / mirrored over several GPUs / one device);
- multi-worker (an orchestrator that runs the Trainer's executor once per worker, each with its own
  `$TF_CONFIG`, e.g. Vertex AI training): `"distribute": "multi_worker"` (or `"auto"`) builds
  `MultiWorkerMirroredStrategy` from `$TF_CONFIG`; `"shard_by"` splits the examples as for `keras-llm train`
  (by file when there are at least as many train files as workers, else by data). Every worker gets the same
  `fn_args`; only the chief (task `chief`, else worker 0) writes the SavedModel, the Keras run, TensorBoard logs
  and `metrics.json`; the others keep only their own resume checkpoint (`<backup_dir>-worker-<i>`), removed
  when training completes;
- resumable: `keras_llm.training.callbacks.BackupAndRestore` (weights, optimizer and dropout seed states) every
  `checkpoint_every` steps in `<Trainer node dir>/backup/<run key>` (`backup_dir`), a folder that outlives the
  execution: TFX re-executes a failed Trainer with new output artifacts, and the rerun, which has the same run
  key (a hash of the inputs' URIs and the settings), resumes from the last checkpoint. The folder is removed
  when training completes; a run that is never rerun leaves its folder behind.

Outputs: the serving SavedModel in `fn_args.serving_model_dir` (causal: generate / generate_with_options /
score; masked: fill_mask / embed), the Keras run directory (`model.keras`, `tokenizer/`, `train_config.json`,
`metrics.json`) next to it in the `Model` artifact (`tfx_components.model_paths.keras_run_path`), which the
evaluator reads, and TensorBoard logs plus a copy of `metrics.json` in `fn_args.model_run_dir`.
"""
import dataclasses
import json
import os

from keras_llm import distribute
from keras_llm.export import save_serving_model
from keras_llm.tasks import model_kinds
from keras_llm.training.init_from import read_init_source, resolve_init_from
from keras_llm.training.model_registry import MODEL_KINDS
from keras_llm.training.train_config import TrainConfig
from keras_llm.training.trainer import train_language_model

from tfx_components.model_paths import keras_run_path

# The preset of each family when `preset` is not given: small, quick models (the pipeline's defaults).
DEFAULT_PRESETS = {"gpt": "gpt-tiny", "lstm": "lstm-small", "gru": "lstm-small", "rnn": "lstm-small",
                   "bert": "bert-tiny"}
# TrainConfig fields a pipeline may set through custom_config (the rest come from fn_args).
PIPELINE_SETTINGS = ("model", "preset", "seq_len", "batch_size", "learning_rate", "warmup_steps", "seed",
                     "deterministic", "mixed_precision", "distribute", "tpu", "shard_by", "num_layers", "hidden_dim",
                     "num_heads", "dropout", "steps_per_epoch", "checkpoint_every", "log_every", "sample_prompts",
                     "sample_tokens", "max_new_tokens", "verbose", "init_from")
ARCHITECTURE_SETTINGS = ("num_layers", "hidden_dim", "num_heads", "dropout")
# Set by TextTrainerExecutor, not by the pipeline's author.
EXECUTOR_KEYS = ("vocabulary_uri", "backup_root", "run_key")


def train_config_from_fn_args(fn_args):
    """The `TrainConfig` of a Trainer execution: `fn_args.custom_config` (the `PIPELINE_SETTINGS`, plus
    `model_options` for the architecture ones and `text_feature`) over the pipeline defaults, with the data,
    length and output locations from `fn_args`.

    Args:
        fn_args: TFX's `FnArgs` (train_files, eval_files, train_steps, serving_model_dir, model_run_dir,
            custom_config with `vocabulary_uri` and `backup_root` from `TextTrainerExecutor`).

    Returns:
        A validated `TrainConfig`. Raises ValueError (one line) for an unknown key or family.

    Example:
        >>> config = train_config_from_fn_args(fn_args)   # custom_config={"model": "bert", "distribute": "none"}
        >>> config.model, config.preset, config.steps
        ('bert', 'bert-tiny', 200)
    """
    custom = dict(fn_args.custom_config or {})
    settings = {key: custom.pop(key) for key in PIPELINE_SETTINGS if key in custom}
    options = custom.pop("model_options", None) or {}
    bad = sorted(set(options) - set(ARCHITECTURE_SETTINGS))
    if bad:
        raise ValueError(f"custom_config.model_options: unknown key(s) {bad} (known: {list(ARCHITECTURE_SETTINGS)})")
    settings.update(options)
    # --init-from: the family (and vocabulary size) are the folder's; a conflicting setting is one line here.
    settings = resolve_init_from(settings)
    field = custom.pop("text_feature", "text")
    unknown = sorted(set(custom) - set(EXECUTOR_KEYS))
    if unknown:
        raise ValueError(f"custom_config: unknown key(s) {unknown} (known: {sorted(PIPELINE_SETTINGS)}, "
                         f"model_options, text_feature)")
    model = settings.setdefault("model", "gpt")
    if model not in model_kinds(in_pipeline=True):
        families = sorted(model_kinds(in_pipeline=True))
        raise ValueError(f"custom_config.model: {model!r} is not a language model family ({', '.join(families)})")
    if not custom.get("vocabulary_uri"):
        raise ValueError("custom_config has no vocabulary_uri (TextTrainer's executor sets it)")
    tokenizer_dir = custom["vocabulary_uri"]
    if settings.get("init_from"):
        # The folder's own tokenizer when it has one (its ids are the weights'); else VocabularyGen's, which
        # the trainer checks against the model's vocabulary size.
        if read_init_source(settings["init_from"]).tokenizer_dir:
            tokenizer_dir = None
    else:
        settings.setdefault("preset", DEFAULT_PRESETS[model])
    settings.setdefault("verbose", 2)
    serving_dir = fn_args.serving_model_dir
    backup_root = custom.get("backup_root") or os.path.join(os.path.dirname(serving_dir), "backup")
    return TrainConfig(
        **settings, train=list(fn_args.train_files), valid=list(fn_args.eval_files), field=field,
        tokenizer_dir=tokenizer_dir, steps=int(fn_args.train_steps),
        output=keras_run_path(os.path.dirname(serving_dir)), serving_dir=serving_dir,
        tensorboard_dir=fn_args.model_run_dir,
        backup_dir=os.path.join(backup_root, custom.get("run_key") or "run")).validate()


def _export(model, tokenizer, path, version=None, replace=True, **options):
    """The trainer's exporter: the SavedModel goes to `fn_args.serving_model_dir` itself, not to a version
    folder inside it (TFX's Pusher versions it), so `version` is unused; a rerun overwrites it (`replace`)."""
    del version, replace
    return save_serving_model(model, tokenizer, path, **options)


def run_fn(fn_args):
    """Trains the model `fn_args.custom_config` describes (see the module docstring).

    Args:
        fn_args: TFX's `FnArgs`, as TFX's GenericExecutor builds it (`TextTrainerExecutor` adds
            `vocabulary_uri`, `backup_root` and `run_key` to its custom_config).

    Example:
        >>> TextTrainer(examples=..., vocabulary=..., train_args=tfx.proto.TrainArgs(num_steps=200),
        ...             eval_args=tfx.proto.EvalArgs(num_steps=10),
        ...             custom_config={"model": "bert", "distribute": "auto", "checkpoint_every": 50})
    """
    config = train_config_from_fn_args(fn_args)
    strategy = distribute.make_strategy(config.distribute, config.tpu)  # first, before any other TF op
    task = MODEL_KINDS[config.model].task
    origin = config.preset or f"from {config.init_from}"
    print(f"TextTrainer: training a {config.model} {task} LM ({origin}) for {config.steps} steps of "
          f"{config.batch_size} x {config.seq_len} tokens on {type(strategy).__name__} "
          f"({strategy.num_replicas_in_sync} replica(s)); checkpoints every {config.checkpoint_every} steps in "
          f"{config.backup_dir} ...", flush=True)
    result = train_language_model(config, strategy=strategy, exporter=_export)
    metrics = dict(result.metrics, task=task, preset=config.preset, strategy=type(strategy).__name__,
                   num_replicas=int(strategy.num_replicas_in_sync), keras_run=config.output)
    worker, num_workers, is_chief = distribute.worker_info(strategy)
    losses = ", ".join(f"{k} {metrics[k]:.3f}" for k in ("loss", "val_loss") if metrics.get(k))
    if not is_chief:  # a multi-worker non-chief: the chief writes every output, this worker nothing
        print(f"TextTrainer: worker {worker} of {num_workers}: {losses}; the chief writes the outputs", flush=True)
        return dataclasses.replace(result, metrics=metrics)
    print(f"TextTrainer: {losses}; SavedModel in {fn_args.serving_model_dir}", flush=True)
    os.makedirs(fn_args.model_run_dir, exist_ok=True)
    with open(os.path.join(fn_args.model_run_dir, "metrics.json"), "w", encoding="utf-8") as f:
        json.dump(metrics, f, indent=2)
    return dataclasses.replace(result, metrics=metrics)
