import numpy as np
import tensorflow as tf

from keras_llm.export.batching import batch_buckets, length_buckets, pad_to_buckets


def test_pad_to_buckets_copies_the_first_row_and_pads_columns():
    tokens = tf.constant([[2, 11, 12, 0, 0], [2, 13, 14, 15, 16], [2, 17, 18, 19, 0]])
    lengths = tf.constant([3, 5, 4])
    padded, padded_lengths = pad_to_buckets(tokens, lengths, length_buckets(70), batch_buckets(8))
    assert padded.shape == (4, 32)  # 3 rows -> bucket 4; 5 columns -> bucket 32
    np.testing.assert_array_equal(padded[:3, :5], tokens)
    np.testing.assert_array_equal(padded[:, 5:], 0)
    np.testing.assert_array_equal(padded[3], padded[0])  # the filler row repeats row 0, so the shortest
    assert padded_lengths.numpy().tolist() == [3, 5, 4, 3]  # prompt (and the prefill) is unchanged


def test_pad_to_buckets_leaves_a_full_bucket_alone():
    tokens = tf.constant([[2, 11], [2, 12]])
    padded, padded_lengths = pad_to_buckets(tokens, tf.constant([2, 2]), [32], [1, 2])
    assert padded.shape == (2, 32) and padded_lengths.numpy().tolist() == [2, 2]
