"""The input of a training run: the task's datasets for a `TrainConfig` (`make_dataset`, `make_eval_dataset`),
the held-out validation split (`valid_split`, `data_sources`), the run's length (`schedule`) and the endless,
resumable training stream split between workers (`training_stream`, `worker_input`)."""
import math

from keras_llm import distribute
from keras_llm.data import count_batches, mask_tokens, with_known_cardinality
from keras_llm.data.sources import describe, expand_paths
from keras_llm.data.splits import holdout_split
from keras_llm.tasks import task_of_kind
from keras_llm.training import defaults


def run_task(config):
    """The run's `keras_llm.tasks.Task` (what its `--model` kind trains)."""
    return task_of_kind(config.model)


def make_dataset(config, tokenizer, files, *, batch_size=None, shuffle=True, repeat=False):
    """The task's `tf.data` pipeline over `files` (`keras_llm.data` builders) for this run's settings."""
    batch_size = batch_size or config.batch_size
    task = run_task(config)
    builder = task.resolve("dataset")
    if task.holds_pairs:
        return builder(files, tokenizer, batch_size=batch_size, max_source_len=config.seq_len,
                       max_target_len=config.seq_len, shuffle=shuffle, seed=config.seed, repeat=repeat)
    return builder(files, tokenizer, config.seq_len, batch_size, shuffle=shuffle, seed=config.seed, repeat=repeat,
                   documents=config.documents, field=config.field)


def make_eval_dataset(config, tokenizer, files, batch_size=None, drop_remainder=False):
    """Like `make_dataset` but in order, once, and keeping the last partial batch (unless `drop_remainder`,
    needed when several replicas split each batch). Returns `(dataset, number_of_batches)`; ValueError when
    there is no batch."""
    batch_size = batch_size or config.batch_size
    if run_task(config).holds_pairs:  # batches as the builder buckets them
        dataset = make_dataset(config, tokenizer, files, batch_size=batch_size, shuffle=False)
    else:
        dataset = make_dataset(config, tokenizer, files, batch_size=1, shuffle=False)
        dataset = dataset.unbatch().batch(batch_size, drop_remainder=drop_remainder)
    dataset, batches = with_known_cardinality(dataset)  # else Keras logs an extra empty batch into `fit`'s loss
    if not batches:
        raise ValueError(f"evaluation data too small: {describe(files)} hold(s) no batch "
                         f"of --seq-len {config.seq_len}")
    return dataset, batches


def valid_split(config):
    """The share of the training examples held out for validation: `config.valid_split`, by default 5% when
    the length is automatic and no validation files are given (never for seq2seq, whose source is pairs)."""
    if config.valid or run_task(config).holds_pairs:
        return 0.0
    if config.valid_split is not None:
        return float(config.valid_split)
    return defaults.AUTO_VALID_SPLIT if config.auto_length else 0.0


def data_sources(config):
    """`(train, valid)` sources of a run: the files given, or, when `valid_split(config)` > 0, the training
    files split by `keras_llm.data.splits.holdout_split` (one example in round(1 / split) held out, in
    corpus order). `valid` is None without validation data."""
    files = expand_paths(config.train)
    if config.valid:
        return files, expand_paths(config.valid)
    split = valid_split(config)
    if not split:
        return files, None
    every = max(2, round(1.0 / split))
    return holdout_split(files, every, field=config.field, documents=config.documents)


def schedule(config, tokenizer, files):
    """(steps_per_epoch, epochs, total_steps)."""
    if config.steps:
        per_epoch = config.steps_per_epoch or min(config.steps, 1000)
        return per_epoch, math.ceil(config.steps / per_epoch), config.steps
    per_epoch = count_batches(make_dataset(config, tokenizer, files, shuffle=False))
    if per_epoch == 0:
        raise ValueError(f"training data too small for one batch of {config.batch_size} x {config.seq_len} tokens")
    if config.auto_length:
        per_epoch, epochs = defaults.auto_epochs(per_epoch)
        return per_epoch, epochs, per_epoch * epochs
    return per_epoch, config.epochs, per_epoch * config.epochs


def training_stream(config, tokenizer, files, batch_size=None):
    """The endless training input: `distribute.epoch_stream` (the same batches for every iterator, so resumes
    and distributed runs are exact) over the task's examples. Masked LM draws its masks per batch from
    `(seed, batch index)`, so they change every epoch and repeat exactly on a rerun. Seq2seq keeps its
    builder's length bucketing (`shuffle().repeat()`): exact on resume with the same strategy only."""
    batch_size = batch_size or config.batch_size
    task = run_task(config)
    if task.holds_pairs:
        return make_dataset(config, tokenizer, files, batch_size=batch_size, repeat=True)
    map_batch = None
    if task.masked_targets:
        examples = task.resolve("dataset")(files, tokenizer, config.seq_len, 1, mask_rate=0.0, shuffle=False,
                                           documents=config.documents, field=config.field)
        examples = examples.map(lambda inputs, labels, weights: labels).unbatch()
        vocabulary_size = tokenizer.vocabulary_size

        def map_batch(batch, seed_pair):
            return mask_tokens(batch, seed_pair, vocabulary_size)
    else:
        examples = make_dataset(config, tokenizer, files, batch_size=1, shuffle=False).unbatch()
    return distribute.epoch_stream(examples, batch_size, config.seed, map_batch=map_batch)


def worker_input(config, tokenizer, files, strategy, start_step):
    """`(dataset, split)`: the training stream from step `start_step`, split between workers as
    `distribute.input_split` decides (`"file"`: each worker its own files; `"data"`: each worker its share of
    every global batch; `"off"`: one worker, or every worker everything when asked for)."""
    _, num_workers, _ = distribute.worker_info(strategy)
    split = distribute.input_split(config.shard_by, files, num_workers)
    if split == "file":
        local_replicas = strategy.num_replicas_in_sync // num_workers

        def build(shard, per_replica_batch):
            return training_stream(config, tokenizer, shard, per_replica_batch).skip(start_step * local_replicas)

        return distribute.per_worker_dataset(build, files, strategy, config.batch_size), split
    dataset = training_stream(config, tokenizer, files).skip(start_step)
    return distribute.shard_dataset(dataset, split), split


def describe_split(split, files, num_workers):
    if split == "file":
        return f"by file: worker i reads files[i::{num_workers}] of the {len(files)} --train files"
    if split == "data":
        return "by data: each worker keeps its share of every global batch (of all the files)"
    return "off: every worker reads all the data (--shard-by off)"
