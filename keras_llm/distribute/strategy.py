"""Choosing a `tf.distribute` strategy (TensorFlow-specific).

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
"""
import json
import os

import tensorflow as tf

STRATEGY_KINDS = ("auto", "none", "mirrored", "multi_worker", "tpu")


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
