"""Feeding a `tf.distribute` strategy data (TensorFlow-specific).

Batches: `batch_size` everywhere in keras_llm is the *global* batch (all replicas together). Keras
distributes a `tf.data.Dataset` with `strategy.experimental_distribute_dataset`, which splits every global
batch into `num_replicas_in_sync` per-replica batches; with several workers each worker also keeps only its
share (`shard_dataset` picks the auto-shard policy: by data, by file, or off). `per_worker_dataset` is the
alternative where each worker builds its own pipeline over a distinct subset of the files.

Multi-worker input split (`input_split`, what the trainer and `keras-llm train --shard-by` use):

| `shard_by` | each worker ...                                                                               |
|------------|-----------------------------------------------------------------------------------------------|
| `"auto"`   | `"file"` when the training data is a list of at least as many files as there are workers, else |
|            | `"data"` (the default)                                                                        |
| `"file"`   | reads only its own files, `files[i::num_workers]` (`per_worker_dataset`); an error with fewer  |
|            | files than workers, or with a held-out validation split (not a list of files)                 |
| `"data"`   | runs the whole pipeline and keeps its share of every global batch: always correct, the input   |
|            | work is repeated on every worker, and the global batches equal a single-device run's          |
| `"off"`    | sees all the data: every worker trains on the same examples (duplication; asked for, never a   |
|            | default)                                                                                      |

`"auto"` is decided here, not left to tf.data's `AutoShardPolicy.AUTO`: that rewrite shards by file inside
the pipeline, after which the trainer's held-out validation split (one example in N, counted in corpus order)
and its resume skip (global batches) would count per worker and silently mix validation examples into
training or skip the wrong batches.
"""
import tensorflow as tf

from keras_llm.distribute.strategy import per_replica_batch_size

SHARD_POLICIES = {
    "auto": tf.data.experimental.AutoShardPolicy.AUTO,
    "data": tf.data.experimental.AutoShardPolicy.DATA,
    "file": tf.data.experimental.AutoShardPolicy.FILE,
    "off": tf.data.experimental.AutoShardPolicy.OFF,
}


def shard_dataset(dataset, policy="data"):
    """Sets how a multi-worker strategy splits `dataset` between workers (no effect on one worker).

    Args:
        dataset: a `tf.data.Dataset` batched with the global batch size.
        policy: `"data"` (every worker runs the whole pipeline and keeps its share of each global batch:
            always correct, input work is repeated), `"file"` (each worker reads a distinct subset of the
            input files; needs at least as many files as workers, read by a file-based tf.data reader),
            `"auto"` (file if possible, else data) or `"off"` (every worker sees everything).

    Returns:
        The dataset with `options.experimental_distribute.auto_shard_policy` set.
    """
    if policy not in SHARD_POLICIES:
        raise ValueError(f"unknown shard policy {policy!r}; choose one of {', '.join(SHARD_POLICIES)}")
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = SHARD_POLICIES[policy]
    return dataset.with_options(options)


def input_split(shard_by, files, num_workers):
    """How the training input is split between `num_workers` workers: `"file"`, `"data"` or `"off"` (see the
    module docstring); `"auto"` resolved. One worker: `"off"` (nothing to split).

    Args:
        shard_by: `"auto"`, `"file"`, `"data"` or `"off"`.
        files: the training files (a list), or a dataset (e.g. a held-out split) that cannot be split by file.
        num_workers: workers of the cluster.

    Raises ValueError (one line) for `"file"` when the files cannot be split.

    Example:
    >>> input_split("auto", ["a.txt", "b.txt"], 2), input_split("auto", ["a.txt"], 2)
    ('file', 'data')
    """
    if shard_by not in SHARD_POLICIES:
        raise ValueError(f"unknown shard policy {shard_by!r}; choose one of {', '.join(SHARD_POLICIES)}")
    if num_workers <= 1:
        return "off"
    splittable = isinstance(files, (list, tuple))
    if shard_by == "auto":
        return "file" if splittable and len(files) >= num_workers else "data"
    if shard_by == "file":
        if not splittable:
            raise ValueError("--shard-by file needs a list of training files: give --valid FILES or --valid-split 0 "
                             "(a held-out validation split is not a list of files)")
        if len(files) < num_workers:
            raise ValueError(f"--shard-by file: {len(files)} training file(s) cannot be split between "
                             f"{num_workers} workers (give at least one file per worker, or --shard-by data)")
    return shard_by


def epoch_stream(examples, batch_size, seed, shuffle_buffer=10_000, map_batch=None):
    """An endless stream of batches whose content depends only on `seed` and the position in the stream.

    `examples` (a finite dataset of single examples) is repeated forever and shuffled as one stream with a
    `shuffle_buffer`-element buffer and a fixed seed, then batched. Unlike the usual
    `shuffle(reshuffle_each_iteration=True).repeat()`, whose order changes with every iterator made from the
    dataset, every iterator of this stream yields the same batches. That makes two things exact: a resumed
    run that skips the `k` batches already trained on sees what an uninterrupted run saw, and a run under a
    `tf.distribute` strategy (where Keras 3 opens one extra iterator to build the model) sees the same
    global batches as a single-device run. The price: epochs are not separate permutations -- the buffer
    mixes the end of one pass with the start of the next, so "an epoch" is one pass's worth of batches.

    Args:
        examples: finite dataset of single examples (no batch dimension).
        batch_size: global batch size.
        seed: int seed of the shuffle.
        shuffle_buffer: elements held by the shuffle buffer.
        map_batch: optional `map_batch(batch, seed_pair) -> batch`, where `seed_pair` is an int64 `[2]`
            tensor `(seed, batch_index)` for stateless per-batch randomness (e.g. masked-LM masking).

    Returns:
        The batched dataset.
    """
    seed = int(seed)
    stream = examples.repeat().shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=False)
    batches = stream.batch(batch_size, drop_remainder=True)
    if map_batch is not None:
        seed_tensor = tf.constant(seed, tf.int64)
        batches = batches.enumerate().map(lambda index, batch: map_batch(batch, tf.stack([seed_tensor, index])))
    return batches.prefetch(tf.data.AUTOTUNE)


def distribute_dataset(dataset, strategy, policy="data"):
    """`shard_dataset` then `strategy.experimental_distribute_dataset`: per-replica batches of a global one."""
    return strategy.experimental_distribute_dataset(shard_dataset(dataset, policy))


def per_worker_dataset(build, files, strategy, global_batch_size):
    """Each worker builds its own input pipeline over a distinct subset of `files`.

    Args:
        build: `build(files, batch_size) -> tf.data.Dataset`; called once per worker with that worker's
            files (`files[i::num_workers]`) and the per-replica batch size.
        files: the input files (at least one per worker).
        strategy: the strategy.
        global_batch_size: examples per step over all replicas.

    Returns:
        A distributed dataset (`strategy.distribute_datasets_from_function`), which `model.fit` takes as is.
    """
    files = list(files)
    per_replica = per_replica_batch_size(global_batch_size, strategy)

    def dataset_fn(context):
        if len(files) < context.num_input_pipelines:
            raise ValueError(f"{len(files)} file(s) cannot be split between {context.num_input_pipelines} workers")
        shard = files[context.input_pipeline_id :: context.num_input_pipelines]
        return shard_dataset(build(shard, per_replica), "off")

    return strategy.distribute_datasets_from_function(dataset_fn)
