"""Train and evaluate a language model end to end: the public API behind `keras-llm train/evaluate` and
TFX's Trainer `run_fn`.

`train_language_model(config)` runs, in this order: strategy (first, before any TF op: multi-worker needs
it), seeding, tokenizer (given, loaded from `tokenizer_dir`, or trained on the training files), model
creation and `compile` inside the strategy's scope, restore from `BackupAndRestore` if a previous run was
interrupted, `fit` over an endless deterministic stream of batches (skipping the steps already taken, so a
resumed run sees exactly the batches an uninterrupted one would), then writes `model.keras`, `tokenizer/`,
`serving/<version>/` (SavedModel), `metrics.json`, `train_config.json` and `tensorboard/`.

Epochs: with `--steps N`, Keras "epochs" are reporting periods of `steps_per_epoch` steps; with
`--epochs N`, one epoch is one pass over the training data (counted once before training). After a resume
in the middle of an epoch the epoch boundaries shift by the steps already taken; the total number of steps,
and the final weights, do not change.

What differs between tasks (causal, masked, seq2seq) is read from the task registry (`keras_llm.tasks`): the
dataset builder, how examples are split and masked, the metrics, the text sampler.

Import direction: training sits left of generation and export. The text samples are the task's sampler in
`keras_llm.generation.text_samples`, named by the registry and imported when a run samples; the serving export
is a call to the right, so the caller passes it in as `exporter` (the CLI passes
`keras_llm.export.export_saved_model`); without one, no SavedModel is written.
"""
import contextlib
import dataclasses
import json
import math
import os
import shutil
import time

import keras

from keras_llm import distribute
from keras_llm.data import load_texts
from keras_llm.data.sources import check_text_file, describe, expand_paths
from keras_llm.tokenizers import load_tokenizer, train_tokenizer
from keras_llm.training import callbacks as cb
from keras_llm.training import defaults, init_from, run_directory
from keras_llm.training.callbacks.backup_and_restore import BackupAndRestore
from keras_llm.training.callbacks.best_checkpoint import BestCheckpoint
from keras_llm.training.compile import compile_language_model
from keras_llm.training.metrics import Perplexity
from keras_llm.training.model_registry import MODEL_KINDS, build_model
from keras_llm.training.optimizers import make_optimizer
from keras_llm.training.output_bias import initialize_output_bias
from keras_llm.training.inputs import (  # noqa: F401 - make_dataset .. training_stream: public here too
    data_sources, describe_split, make_dataset, make_eval_dataset, schedule, training_stream, valid_split, worker_input,
)
from keras_llm.training.inputs import run_task as _task
from keras_llm.training.train_config import TrainConfig
from keras_llm.training.trained_runs import export_options, is_causal_lm, load_trained  # noqa: F401 - public here too

NonFiniteLossError = cb.NonFiniteLossError


@dataclasses.dataclass
class TrainResult:
    """What `train_language_model` returns: the trained model and tokenizer, the resolved config, the
    final metrics (also in metrics.json), Keras' history, and the paths written (key -> path or None)."""

    model: keras.Model
    tokenizer: object
    config: TrainConfig
    metrics: dict
    history: dict
    paths: dict


def _as_config(config):
    if isinstance(config, TrainConfig):
        return config.validate()
    return TrainConfig.from_dict(init_from.resolve_init_from(config)).validate()


def resolved_optimizer_settings(config, model, total_steps):
    """`(learning_rate, warmup_steps)`: the config's, or the defaults for this model and run length."""
    rate = config.learning_rate or defaults.default_learning_rate(model)
    warmup = defaults.default_warmup_steps(total_steps) if config.warmup_steps is None else config.warmup_steps
    return float(rate), int(min(warmup, total_steps))


def _prepare_tokenizer(config, tokenizer, files, verbose=0, source=None):
    """`(tokenizer, where it came from)`: the one given, `config.tokenizer_dir`, the `--init-from` folder's, or
    one trained on the training files."""
    if tokenizer is not None:
        return tokenizer, "given"
    if config.tokenizer_dir:
        return load_tokenizer(config.tokenizer_dir), f"--tokenizer-dir {config.tokenizer_dir}"
    if source is not None and source.tokenizer_dir:
        return load_tokenizer(source.tokenizer_dir), source.tokenizer_dir
    corpus = files if _task(config).holds_pairs else load_texts(files, field=config.field, documents=config.documents)
    if verbose:
        print(f"learning a {config.tokenizer} vocabulary of up to {config.vocab_size} tokens from "
              f"{describe(config.train)} ...", flush=True)
    trained = train_tokenizer(config.tokenizer, corpus, config.vocab_size)
    return trained, f"a {config.tokenizer} tokenizer trained on --train with --vocab-size {config.vocab_size}"


def _compile(model, config, total_steps):
    """Perplexity; for masked LMs, masked-token accuracy and perplexity as weighted metrics (the sample
    weights mark the masked positions; Keras gives them to weighted metrics only)."""
    learning_rate, warmup_steps = resolved_optimizer_settings(config, model, total_steps)
    optimizer = make_optimizer(learning_rate, warmup_steps=warmup_steps, total_steps=total_steps)
    jit_compile = {"auto": "auto", "on": True, "off": False}[config.jit_compile]
    compile_language_model(model, optimizer=optimizer, masked=_task(config).masked_targets, jit_compile=jit_compile)


def sample_function(model, tokenizer, config):
    """`prompts -> texts` for the TensorBoard text summary of this task (continuations, fill-mask results or
    translations): the task's sampler (`keras_llm.tasks.Task.sampler`), built once per run; None without one."""
    sampler = _task(config).resolve("sampler")
    return None if sampler is None else sampler(model, tokenizer, config.sample_tokens)


def dtype_policy_name(mixed_precision):
    """The Keras dtype policy of `TrainConfig.mixed_precision` (None: leave the global policy alone)."""
    if not mixed_precision:
        return None
    if mixed_precision in (True, "auto"):
        return "mixed_float16" if distribute.num_gpus() else "mixed_bfloat16"
    return f"mixed_{mixed_precision}"


@contextlib.contextmanager
def _dtype_policy(mixed_precision):
    previous = keras.config.dtype_policy()
    name = dtype_policy_name(mixed_precision)
    if name:
        keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def _callbacks(config, model, tokenizer, backup, total_steps, is_chief, best=None):
    """keras_llm's callbacks in the order they must run (see keras_llm.training.callbacks); `best` (a
    `BestCheckpoint`) runs right before `backup`, so that no checkpoint holds an epoch it has not recorded."""
    throughput = cb.TokenThroughput(config.batch_size * config.seq_len)  # seq2seq: an upper bound (padding)
    run_callbacks = [cb.NonFiniteLossGuard(), throughput, cb.GradientNormMonitor(), cb.StopAtStep(total_steps)]
    tensorboard = None
    if is_chief:
        from keras_llm.training.callbacks.tensorboard import LanguageModelTensorBoard

        tensorboard = LanguageModelTensorBoard(
            config.location("tensorboard"), update_freq=config.log_every, tokenizer=tokenizer,
            prompts=config.sample_prompts, sample_fn=sample_function(model, tokenizer, config),
            profile_steps=config.profile_steps)
        run_callbacks.append(tensorboard)
    run_callbacks += [callback for callback in (best, backup) if callback is not None]
    run_callbacks.append(cb.LanguageModelProgbar(config.verbose if is_chief else 0))
    return run_callbacks, throughput, tensorboard


def train_language_model(config, *, tokenizer=None, strategy=None, callbacks=(), exporter=None):
    """Trains a model as `config` says and writes the run directory; see the module docstring.

    Args:
        config: a `TrainConfig` or a dict of its fields (`train`, `output` and `epochs`/`steps` required).
            `tensorboard_dir`, `serving_dir` and `backup_dir` place those outputs outside `output`
            (TFX: the model-run and serving-model directories); `serving_dir=""` skips the export.
        tokenizer: a trained `keras_llm.tokenizers.Tokenizer` to use as is (else `config.tokenizer_dir`,
            else one is trained on the training files).
        strategy: a `tf.distribute.Strategy`; default `keras_llm.distribute.make_strategy(config.distribute)`.
        callbacks: extra Keras callbacks, run after keras_llm's own.
        exporter: `exporter(model, tokenizer, export_base, version=..., replace=True, max_new_tokens=...) ->
            path`, e.g. `keras_llm.export.export_saved_model`; None writes no SavedModel. Every kind is
            exported (see `keras_llm.export.serving_module_for` for the signatures of each).

    Returns:
        A `TrainResult`.

    Raises:
        ValueError / FileNotFoundError: bad settings or inputs (one-line messages), before training.
        NonFiniteLossError: the loss became NaN or infinite; the last checkpoint before it is kept.

    Example:
        >>> result = train_language_model({"model": "gpt", "train": ["corpus.txt"], "output": "runs/gpt",
        ...                                "steps": 200, "seq_len": 64, "batch_size": 16})
        >>> result.metrics["perplexity"], result.paths["serving"]
    """
    config = _as_config(config)
    with distribute.op_determinism_scope():  # --deterministic holds for this run only
        return _train(config, tokenizer, strategy, callbacks, exporter)


def _train(config, tokenizer, strategy, callbacks, exporter):
    train_files = expand_paths(config.train)  # a missing file fails here, before any work
    valid_paths = expand_paths(config.valid) if config.valid else None
    for path in train_files + (valid_paths or []):
        check_text_file(path)
    run_directory.check_output(config)  # a finished run is not replaced without --overwrite
    MODEL_KINDS[config.model].model_class()  # an unavailable kind fails here, before any work
    strategy = strategy or distribute.make_strategy(config.distribute, config.tpu)
    files, valid_files = data_sources(config)  # after the strategy: a held-out split is made of TF ops
    if config.deterministic:
        distribute.enable_determinism(config.seed)
    else:
        keras.utils.set_random_seed(config.seed)
    worker, num_workers, is_chief = distribute.worker_info(strategy)
    distribute.per_replica_batch_size(config.batch_size, strategy)
    distribute.input_split(config.shard_by, files, num_workers)  # a --shard-by that cannot apply fails here
    backup_dir = config.location("backup")
    if not is_chief:
        # A sibling of the chief's directory, not inside it: each worker's BackupAndRestore deletes its own
        # directory when training ends, and the chief's rmtree of `backup/` raced a worker's files inside it
        # (FileNotFoundError on `latest.weights.h5.bkp` in the two-worker test).
        backup_dir = f"{backup_dir.rstrip(os.sep)}-worker-{worker}"
    source = init_from.read_init_source(config.init_from) if config.init_from else None
    if source is not None:
        init_from.check_tokenizer_dir(source, config.tokenizer_dir)
        source_model = init_from.load_source_model(source)  # before --overwrite clears anything
        init_from.check_against_model(source, source_model, config, MODEL_KINDS[config.model].model_class())
    # Refuses to resume a different run; records this one (and its serving version) in the backup folder.
    record = run_directory.prepare_output(config, run_directory.run_identity(config, train_files, valid_paths),
                                          backup_dir, is_chief)

    verbose = config.verbose if is_chief else 0
    if verbose and not isinstance(files, list):
        print(f"validating on one training example in {round(1 / valid_split(config))} (held out of "
              f"{describe(config.train)}; --valid FILES or --valid-split 0 to change)", flush=True)
    tokenizer, tokenizer_origin = _prepare_tokenizer(config, tokenizer, files, verbose, source)
    if source is not None:
        init_from.check_tokenizer(source, source_model, tokenizer, tokenizer_origin)
    steps_per_epoch, epochs, total_steps = schedule(config, tokenizer, files)
    with _dtype_policy(config.mixed_precision):
        with strategy.scope():
            first = next(iter(make_dataset(config, tokenizer, files, shuffle=False).take(1)))
            if source is not None:  # DIR's weights (on resume, the restore below overwrites them)
                model = init_from.initial_model(source_model, first[0], dropout=config.dropout)
                del source_model
                if verbose:
                    print(f"starting from the weights in {source.path}", flush=True)
            else:
                model = build_model(config, tokenizer.vocabulary_size)
                model(first[0])
                if _task(config).output_bias:  # start from the unigram model (on resume, the restore overwrites it)
                    initialize_output_bias(model, make_dataset(config, tokenizer, files, shuffle=False),
                                           tokenizer.vocabulary_size)
            _compile(model, config, total_steps)
        patience = _patience(config, valid_files)
        # The run as it is trained: the automatic length and the default rates written out (train_config.json).
        config = dataclasses.replace(config, epochs=config.epochs if config.steps else epochs, patience=patience,
                                     valid_split=valid_split(config))
        config.learning_rate, config.warmup_steps = resolved_optimizer_settings(config, model, total_steps)
        # With early stopping, the resumable state is saved at epoch ends only, so the epochs (and with them
        # the validation points the stopping rule and the best weights depend on) stay where an
        # uninterrupted run has them; without it, every `checkpoint_every` steps.
        backup = BackupAndRestore(backup_dir, save_freq="epoch" if patience else config.checkpoint_every,
                                  double_checkpoint=True, delete_checkpoint=False)  # + the dropout seed states
        backup.set_model(model)
        backup.on_train_begin()  # restores weights + optimizer state if an interrupted run left a backup
        start_step = cb.global_step(model)
        best = None
        if patience:
            best = BestCheckpoint(os.path.join(backup_dir, "best"), patience=patience, verbose=verbose)
            best.set_model(model)
            best.resume(start_step // steps_per_epoch)

        train_input, split = worker_input(config, tokenizer, files, strategy, start_step)
        if verbose and num_workers > 1:
            print(f"{num_workers} workers, {strategy.num_replicas_in_sync} replicas; training input split "
                  f"{describe_split(split, files, num_workers)}", flush=True)
        valid_input, valid_steps = None, None
        if valid_files is not None:
            valid_input, valid_steps = make_eval_dataset(config, tokenizer, valid_files,
                                                         drop_remainder=strategy.num_replicas_in_sync > 1)
            # Repeated, with validation_steps = one pass: under a tf.distribute strategy Keras 3 draws a
            # batch from the previous epoch's (finished) validation iterator before evaluating, which fails
            # on a finite dataset in the second epoch.
            valid_input = distribute.shard_dataset(valid_input.repeat(), "data")
        run_callbacks, throughput, tensorboard = _callbacks(config, model, tokenizer, backup, total_steps, is_chief,
                                                            best)
        run_callbacks += list(callbacks)
        started = time.perf_counter()
        try:
            if start_step >= total_steps or (best is not None and best.stopped):
                # killed after the last checkpoint (or the early stop) but before the outputs were written
                if best is not None:
                    best.restore_best()
            else:
                if is_chief and start_step and config.verbose:
                    print(f"resuming from step {start_step} of {total_steps} ({backup_dir})", flush=True)
                # shuffle=False: the tf.data pipeline shuffles (Keras 3.15 warns that its default True is ignored)
                model.fit(train_input, epochs=epochs, steps_per_epoch=steps_per_epoch, validation_data=valid_input,
                          validation_steps=valid_steps, callbacks=run_callbacks, verbose=0, shuffle=False)
        except cb.NonFiniteLossError as e:
            written = os.path.isdir(backup_dir) and os.listdir(backup_dir)
            kept = f"last good checkpoint kept in {backup_dir}" if written else "no checkpoint was written yet"
            raise cb.NonFiniteLossError(e.step, e.epoch, e.batch, e.value, note=kept) from None
        finally:
            if tensorboard is not None:
                tensorboard.close()
        seconds = time.perf_counter() - started

        history = dict(getattr(getattr(model, "history", None), "history", None) or {})  # None: fit did not run
        metrics = _final_metrics(model, history, throughput, config, total_steps, seconds, best)
        paths = {"model": None, "tokenizer": None, "serving": None, "metrics": None,
                 "tensorboard": config.location("tensorboard") if is_chief else None}
        if is_chief:
            paths.update(_write_outputs(model, tokenizer, config, metrics, strategy, exporter, verbose,
                                        record["serving_version"]))
        # Only now: a run killed while writing its outputs resumes from its final checkpoint, not from scratch.
        shutil.rmtree(backup_dir, ignore_errors=True)
    return TrainResult(model, tokenizer, config, metrics, history, paths)


def _patience(config, valid):
    """Early-stopping patience in epochs (0: off): the config's, by default 3 for an automatic length with
    validation data. Early stopping needs validation data."""
    if config.patience is not None:
        if config.patience and valid is None:
            raise ValueError("--patience needs validation data: give --valid FILES or --valid-split F")
        return config.patience
    return defaults.AUTO_PATIENCE if config.auto_length and valid is not None else 0


def _last(history, key):
    values = history.get(key)
    return float(values[-1]) if values else None


def _final_metrics(model, history, throughput, config, total_steps, seconds, best=None):
    metrics = {
        "loss": _last(history, "loss"),
        "perplexity": _last(history, "perplexity"),
        "tokens_per_second": throughput.tokens_per_second,
        "num_parameters": int(model.count_params()),
        "steps": cb.global_step(model),
        "total_steps": total_steps,
        "train_seconds": seconds,
        "model": config.model,
    }
    for key in history:
        if key.startswith("val_"):
            metrics[key] = _last(history, key)
    if best is not None and best.best_epoch is not None:
        # The weights kept are the best epoch's: report its validation figures, and where training stopped.
        metrics.update({"val_loss": best.best_value, "val_perplexity": math.exp(best.best_value),
                        "best_epoch": best.best_epoch + 1, "stopped_early": best.stopped,
                        "epochs_run": max(best.values) + 1})
    return metrics


def _write_outputs(model, tokenizer, config, metrics, strategy, exporter, verbose=0, serving_version=None):
    """Writes model.keras, tokenizer/, train_config.json and metrics.json to `OUTPUT/.incoming/` and the
    SavedModel to `serving/<version>/` (staged by the exporter), then renames the outputs into place
    (`run_directory.publish`): a kill leaves the previous files or the new ones, never half of them."""
    os.makedirs(config.output, exist_ok=True)
    staging = run_directory.staging_folder(config.output)
    staged = {name: os.path.join(staging, os.path.basename(config.location(name)))
              for name in ("model", "tokenizer", "metrics", "config")}
    tokenizer.save(staged["tokenizer"])
    model.save(staged["model"])
    with open(staged["config"], "w", encoding="utf-8") as f:
        json.dump(config.to_dict(), f, indent=2)
    paths = {"model": config.location("model"), "tokenizer": config.location("tokenizer"),
             "metrics": config.location("metrics")}
    serving_dir = config.location("serving")
    if exporter is not None and serving_dir:
        if strategy.num_replicas_in_sync > 1 or distribute.worker_info(strategy)[1] > 1:
            model = keras.saving.load_model(staged["model"], compile=False)  # plain variables for tf.saved_model
        if verbose:
            print(f"exporting the serving SavedModel to {serving_dir} ...", flush=True)
        paths["serving"] = exporter(model, tokenizer, serving_dir, version=serving_version, replace=True,
                                    **export_options(model, config))
    metrics["serving"] = paths.get("serving")
    with open(staged["metrics"], "w", encoding="utf-8") as f:
        json.dump(metrics, f, indent=2)
    run_directory.publish(staging, config.output)
    return paths


def evaluate_language_model(model_dir, data, *, batch_size=None, seq_len=None):
    """Loss, perplexity and token count of a trained run on `data` (files), batches in order.

    Returns:
        `{"loss", "perplexity", "num_tokens"}`: the mean token loss, the corpus perplexity and the number
        of target tokens scored (the final partial block of fewer than `seq_len + 1` tokens is not).
    """
    files = expand_paths(data)
    model, tokenizer, config = load_trained(model_dir)
    config = config or TrainConfig(model="gpt", train=files, output=model_dir, steps=1)
    if seq_len:
        config.seq_len = int(seq_len)
    context = getattr(model, "max_sequence_length", None)
    if context and config.seq_len > context:
        raise ValueError(f"--seq-len {config.seq_len} is beyond the model's context of {context} positions")
    dataset, steps = make_eval_dataset(config, tokenizer, files, batch_size=batch_size)
    perplexity = Perplexity()
    if _task(config).masked_targets:  # the sample weights mark the masked positions: weighted metrics only
        compile_language_model(model, metrics=[], weighted_metrics=[perplexity], masked=True)
    else:
        compile_language_model(model, metrics=[perplexity], masked=False)
    results = model.evaluate(dataset, steps=steps, return_dict=True, verbose=0)
    return {"loss": float(results["loss"]), "perplexity": float(perplexity.result()),
            "num_tokens": int(keras.ops.convert_to_numpy(perplexity.token_count))}
