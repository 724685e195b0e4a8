"""Strategy resolution (all paths, TPU included, without the hardware) and dataset-distribution helpers."""
import json

import pytest
import tensorflow as tf

from keras_llm import distribute

CLUSTER = json.dumps({"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}, "task": {"type": "worker", "index": 1}})


@pytest.mark.parametrize("distribute_kind, tpu, environ, gpus, expected", [
    ("auto", None, {}, 0, "none"),
    ("auto", None, {}, 1, "none"),
    ("auto", None, {}, 2, "mirrored"),
    ("auto", None, {"TF_CONFIG": CLUSTER}, 4, "multi_worker"),  # a cluster beats local GPUs
    ("auto", "grpc://10.0.0.2:8470", {"TF_CONFIG": CLUSTER}, 0, "tpu"),  # a TPU address beats everything
    ("auto", None, {"TPU_NAME": "my-tpu"}, 0, "tpu"),
    ("auto", None, {"TF_CONFIG": ""}, 0, "none"),
    ("auto", None, {"TF_CONFIG": json.dumps({"task": {}})}, 0, "none"),  # no cluster named
    ("none", "my-tpu", {"TF_CONFIG": CLUSTER}, 8, "none"),  # explicit choices are taken as given
    ("mirrored", None, {}, 0, "mirrored"),
    ("tpu", None, {}, 0, "tpu"),  # TPUClusterResolver(tpu="local") on a TPU VM
    ("multi_worker", None, {"TF_CONFIG": CLUSTER}, 0, "multi_worker"),
])
def test_strategy_kind_resolution(distribute_kind, tpu, environ, gpus, expected):
    assert distribute.resolve_strategy_kind(distribute_kind, tpu, environ, num_gpus=gpus) == expected


@pytest.mark.parametrize("kind, environ, message", [
    ("multi_worker", {}, "needs TF_CONFIG"),
    ("auto", {"TF_CONFIG": "{not json"}, "TF_CONFIG is not valid JSON"),
    ("auto", {"TF_CONFIG": json.dumps({"cluster": {"worker": ["a:1"]}, "task": {"type": "chief", "index": 0}})},
     "is not one of the cluster's jobs"),
    ("parameter_server", {}, "unknown distribution"),
])
def test_resolution_errors_are_one_line(kind, environ, message):
    with pytest.raises(ValueError, match=message) as info:
        distribute.resolve_strategy_kind(kind, environ=environ)
    assert "\n" not in str(info.value)


def test_default_strategy_and_helpers():
    strategy = distribute.make_strategy("none", environ={})
    assert strategy is tf.distribute.get_strategy()
    assert distribute.make_strategy("auto", environ={}) is strategy  # no GPU, no cluster, no TPU here
    assert distribute.worker_info(strategy) == (0, 1, True)
    assert distribute.per_replica_batch_size(32, strategy) == 32

    class ThreeReplicas:
        num_replicas_in_sync = 3

    with pytest.raises(ValueError, match="batch size 32 is not divisible by the 3 replicas"):
        distribute.per_replica_batch_size(32, ThreeReplicas())
    dataset = tf.data.Dataset.range(8).batch(4)
    for policy, expected in [("data", tf.data.experimental.AutoShardPolicy.DATA),
                             ("file", tf.data.experimental.AutoShardPolicy.FILE),
                             ("off", tf.data.experimental.AutoShardPolicy.OFF)]:
        assert distribute.shard_dataset(dataset, policy).options().experimental_distribute.auto_shard_policy == expected
    with pytest.raises(ValueError, match="unknown shard policy"):
        distribute.shard_dataset(dataset, "rows")


@pytest.mark.parametrize("shard_by, files, workers, expected", [
    ("auto", ["a", "b"], 2, "file"),  # a file per worker: each reads its own
    ("auto", ["a", "b", "c"], 2, "file"),
    ("auto", ["a"], 2, "data"),  # fewer files than workers: each keeps its share of every batch
    ("auto", tf.data.Dataset.range(3), 2, "data"),  # a held-out split is no list of files
    ("auto", ["a", "b"], 1, "off"),  # one worker: nothing to split
    ("data", ["a", "b"], 2, "data"),
    ("file", ["a", "b"], 2, "file"),
    ("off", ["a", "b"], 2, "off"),
])
def test_input_split_between_workers(shard_by, files, workers, expected):
    assert distribute.input_split(shard_by, files, workers) == expected


@pytest.mark.parametrize("shard_by, files, message", [
    ("file", ["a"], "1 training file(s) cannot be split between 2 workers"),
    ("file", tf.data.Dataset.range(3), "--shard-by file needs a list of training files"),
    ("rows", ["a", "b"], "unknown shard policy"),
])
def test_input_split_errors_are_one_line(shard_by, files, message):
    with pytest.raises(ValueError) as info:
        distribute.input_split(shard_by, files, 2)
    assert message in str(info.value) and "\n" not in str(info.value)
