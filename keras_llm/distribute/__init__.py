"""`tf.distribute` for keras_llm (TensorFlow-specific), one concept per module:

- `strategy.py`: which strategy to build (`resolve_strategy_kind`, `make_strategy`; the table of `distribute`
  values), this process's place in a cluster (`worker_info`) and the per-replica batch size;
- `input.py`: feeding the strategy data: the multi-worker input split (`input_split`, `--shard-by`),
  auto-shard policies (`shard_dataset`), per-worker pipelines (`per_worker_dataset`), the epoch stream;
- `determinism.py`: seeds and TensorFlow's op determinism.

Create the strategy first, before anything else runs a TensorFlow op (multi-worker collectives must be
configured at program start), then create and compile the model inside `strategy.scope()`. Every name is
importable from `keras_llm.distribute`.
"""
from keras_llm.distribute.determinism import enable_determinism, op_determinism_scope
from keras_llm.distribute.input import (
    SHARD_POLICIES,
    distribute_dataset,
    epoch_stream,
    input_split,
    per_worker_dataset,
    shard_dataset,
)
from keras_llm.distribute.strategy import (
    STRATEGY_KINDS,
    KerasMultiWorkerMirroredStrategy,
    make_strategy,
    num_gpus,
    per_replica_batch_size,
    resolve_strategy_kind,
    split_cpu,
    tf_config_cluster,
    worker_info,
)

__all__ = [
    "KerasMultiWorkerMirroredStrategy", "SHARD_POLICIES", "STRATEGY_KINDS", "distribute_dataset",
    "enable_determinism", "epoch_stream", "input_split", "make_strategy", "num_gpus", "op_determinism_scope",
    "per_replica_batch_size", "per_worker_dataset", "resolve_strategy_kind", "shard_dataset", "split_cpu",
    "tf_config_cluster", "worker_info",
]
