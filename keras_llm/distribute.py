"""Choosing a `tf.distribute` strategy and feeding it data (TensorFlow-specific).

Strategy resolution (`resolve_strategy_kind`, pure logic; `make_strategy` builds it):

| `distribute`   | strategy                                                                          |
|----------------|-----------------------------------------------------------------------------------|
| `"auto"`       | TPU if a TPU address is given (`tpu=` or `$TPU_NAME`); else multi-worker if        |
|                | `$TF_CONFIG` names a cluster; else mirrored if there is more than one GPU; else    |
|                | TensorFlow's default (single-device) strategy                                     |
| `"none"`       | the default strategy                                                              |
| `"mirrored"`   | `MirroredStrategy` over all GPUs, or over all logical CPUs when there is no GPU    |
| `"multi_worker"` | `MultiWorkerMirroredStrategy`; `$TF_CONFIG` must name the cluster and this task |
| `"tpu"`        | `TPUStrategy` on `tpu=` / `$TPU_NAME` / `"local"` (a TPU VM)                      |

Create the strategy first, before anything else runs a TensorFlow op (multi-worker collectives must be
configured at program start), then create and compile the model inside `strategy.scope()`.

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
import contextlib
import json
import os

import tensorflow as tf

STRATEGY_KINDS = ("auto", "none", "mirrored", "multi_worker", "tpu")
SHARD_POLICIES = {
    "auto": tf.data.experimental.AutoShardPolicy.AUTO,
    "data": tf.data.experimental.AutoShardPolicy.DATA,
    "file": tf.data.experimental.AutoShardPolicy.FILE,
    "off": tf.data.experimental.AutoShardPolicy.OFF,
}


def tf_config_cluster(environ=None):
    """The `cluster` dict of `$TF_CONFIG` (e.g. `{"worker": ["host:port", ...]}`), or None when unset.

    Raises ValueError (one line) when `$TF_CONFIG` is not valid JSON or has no usable cluster/task."""
    environ = os.environ if environ is None else environ
    raw = environ.get("TF_CONFIG", "").strip()
    if not raw:
        return None
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as e:
        raise ValueError(f"TF_CONFIG is not valid JSON ({e.msg})") from None
    cluster = config.get("cluster") if isinstance(config, dict) else None
    if not cluster:
        return None
    task = config.get("task") or {}
    if task.get("type") not in cluster or not isinstance(task.get("index"), int):
        raise ValueError(f"TF_CONFIG: task {task} is not one of the cluster's jobs {sorted(cluster)}")
    return cluster


def resolve_strategy_kind(distribute="auto", tpu=None, environ=None, num_gpus=0):
    """Which strategy `make_strategy` builds: `"tpu"`, `"multi_worker"`, `"mirrored"` or `"none"`.

    Args:
        distribute: one of `STRATEGY_KINDS`.
        tpu: TPU address (`grpc://...`, a TPU name, or `"local"`); defaults to `$TPU_NAME`.
        environ: environment mapping (default `os.environ`), read for `TPU_NAME` and `TF_CONFIG`.
        num_gpus: number of visible GPUs.

    Example:
    >>> resolve_strategy_kind("auto", environ={}, num_gpus=2)
    'mirrored'
    >>> resolve_strategy_kind("auto", environ={"TPU_NAME": "my-tpu"})
    'tpu'
    """
    if distribute not in STRATEGY_KINDS:
        raise ValueError(f"unknown distribution {distribute!r}; choose one of {', '.join(STRATEGY_KINDS)}")
    environ = os.environ if environ is None else environ
    tpu = tpu or environ.get("TPU_NAME")
    cluster = tf_config_cluster(environ)
    if distribute == "auto":
        if tpu:
            return "tpu"
        if cluster:
            return "multi_worker"
        return "mirrored" if num_gpus > 1 else "none"
    if distribute == "multi_worker" and not cluster:
        raise ValueError("--distribute multi_worker needs TF_CONFIG naming the cluster and this task")
    return distribute


class KerasMultiWorkerMirroredStrategy(tf.distribute.MultiWorkerMirroredStrategy):
    """`MultiWorkerMirroredStrategy` whose `reduce` accepts what Keras 3's `fit` passes it.

    Keras 3 (3.12 and 3.15 checked) calls `strategy.reduce` on nested structures (the `(x, y)` batch, before
    building the model) and with `axis=0` on scalar metric values. `MirroredStrategy` handles both;
    `CollectiveAllReduceStrategy.reduce` raises for both (keras-team/keras#20585), so `model.fit` fails on
    every multi-worker run. This subclass reduces each tensor of the structure separately and uses
    `axis=None` for scalars (averaging across replicas, which is what Keras means). Nothing else changes.
    """

    def reduce(self, reduce_op, value, axis):
        def reduce_one(v):
            first = v.values[0] if isinstance(v, tf.distribute.DistributedValues) else v
            rank = getattr(getattr(first, "shape", None), "rank", None)
            return super(KerasMultiWorkerMirroredStrategy, self).reduce(reduce_op, v, None if rank == 0 else axis)

        return tf.nest.map_structure(reduce_one, value)


def make_strategy(distribute="auto", tpu=None, environ=None):
    """Builds the strategy `resolve_strategy_kind` picks (see the module docstring).

    Returns:
        A `tf.distribute.Strategy`; `"none"` gives `tf.distribute.get_strategy()` (the default strategy).

    Example:
        >>> strategy = make_strategy("auto")
        >>> with strategy.scope():
        ...     model = build_and_compile()
    """
    gpus = tf.config.list_physical_devices("GPU")
    kind = resolve_strategy_kind(distribute, tpu, environ, num_gpus=len(gpus))
    environ = os.environ if environ is None else environ
    if kind == "tpu":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu or environ.get("TPU_NAME") or "local")
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    if kind == "multi_worker":
        return KerasMultiWorkerMirroredStrategy()
    if kind == "mirrored":
        device_type = "GPU" if gpus else "CPU"
        return tf.distribute.MirroredStrategy([d.name for d in tf.config.list_logical_devices(device_type)])
    return tf.distribute.get_strategy()


def split_cpu(num_devices):
    """Splits the first CPU into `num_devices` logical devices (to try MirroredStrategy without GPUs).

    Must run before TensorFlow initializes its devices (before the first op); raises RuntimeError after."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * int(num_devices))


def num_gpus():
    """Number of GPUs TensorFlow sees."""
    return len(tf.config.list_physical_devices("GPU"))


def enable_determinism(seed):
    """Seeds Python, NumPy and the backend (`keras.utils.set_random_seed`) and makes TF ops deterministic
    (`tf.config.experimental.enable_op_determinism`), so a rerun -- or a resumed run -- repeats bit for bit."""
    import keras

    keras.utils.set_random_seed(int(seed))
    tf.config.experimental.enable_op_determinism()


@contextlib.contextmanager
def op_determinism_scope():
    """Restores TF's op-determinism setting (process-wide) on exit: a deterministic run leaves it as found, so
    a later run in the same process is not held to it (with it on, Keras silently drops `jit_compile=True`)."""
    from tensorflow.python.framework import config as tf_config

    was_enabled = tf_config.is_op_determinism_enabled()
    try:
        yield
    finally:
        if tf_config.is_op_determinism_enabled() != was_enabled:
            (tf_config.enable_op_determinism if was_enabled else tf_config.disable_op_determinism)()


def worker_info(strategy):
    """`(worker_index, num_workers, is_chief)` of this process under `strategy`.

    Single-process strategies give `(0, 1, True)`. Under multi-worker the chief is task `chief` if the
    cluster has one, else worker 0; only the chief should write final outputs."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) or resolver is None:
        return 0, 1, True
    spec = resolver.cluster_spec().as_dict()
    jobs = [job for job in ("chief", "worker") if job in spec]
    num_workers = sum(len(spec[job]) for job in jobs)
    task_type, task_id = resolver.task_type, int(resolver.task_id or 0)
    index = task_id if task_type == "chief" else task_id + len(spec.get("chief", []))
    is_chief = task_type == "chief" or (task_type == "worker" and task_id == 0 and "chief" not in spec)
    return index, num_workers, is_chief


def per_replica_batch_size(global_batch_size, strategy):
    """`global_batch_size / num_replicas_in_sync`; ValueError (one line) when it does not divide."""
    replicas = strategy.num_replicas_in_sync
    if global_batch_size % replicas:
        raise ValueError(f"batch size {global_batch_size} is not divisible by the {replicas} replicas")
    return global_batch_size // replicas


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
