"""Give a finite dataset of unknown length (a packed token stream) its length, counted once.

Keras 3 (3.12-3.15 seen) on TensorFlow runs one extra, empty step at the end of an epoch over a finite
dataset whose cardinality is unknown and whose batch shape is static (`drop_remainder=True`, as our builders
batch) and averages it into the logged training loss: `fit` reports N/(N+1) of the true mean. The causal and
masked LM builders cannot know their length without reading the corpus (packing a token stream), so they
leave it unknown; `with_known_cardinality` counts the batches in one pass and asserts that count, after which
`fit` and `evaluate` log exact means. The trainer needs no such step for training (an endless stream with
`steps_per_epoch`) but uses it for evaluation datasets, which it counts anyway.
"""
import tensorflow as tf


def count_batches(dataset):
    """Number of elements of a finite `dataset` (one full pass)."""
    return int(dataset.reduce(tf.constant(0, tf.int64), lambda count, *_: count + 1))


def with_known_cardinality(dataset):
    """`(dataset with its cardinality asserted, number of elements)`; a known cardinality is not recounted.

    Example:
    >>> ds = tf.data.Dataset.range(10).filter(lambda x: x % 2 == 0).batch(2, drop_remainder=True)
    >>> ds, n = with_known_cardinality(ds)
    >>> n, int(ds.cardinality())
    (2, 2)
    """
    known = int(dataset.cardinality())
    if known >= 0:
        return dataset, known
    if known == tf.data.INFINITE_CARDINALITY:
        raise ValueError("the dataset is infinite (repeated): it has no number of batches to count")
    count = count_batches(dataset)
    return dataset.apply(tf.data.experimental.assert_cardinality(count)), count
