"""`tied_logits` (written-out gradient on TensorFlow) against the plain product."""
import keras
import numpy as np
import tensorflow as tf

from keras_llm.layers.flat_positions import tied_logits

RNG = np.random.default_rng(0)
HIDDEN = RNG.normal(size=(3, 5, 8)).astype("float32")
TABLE = RNG.normal(size=(11, 8)).astype("float32")
UPSTREAM = RNG.normal(size=(3, 5, 11)).astype("float32")


def _value_and_gradients(fn, table_variable):
    hidden = tf.constant(HIDDEN)
    with tf.GradientTape() as tape:
        tape.watch(hidden)
        logits = fn(hidden, table_variable)
        loss = tf.reduce_sum(logits * UPSTREAM)
    return [logits] + tape.gradient(loss, [hidden, table_variable.value])


def _plain(hidden, table):
    return keras.ops.einsum("btd,vd->btv", hidden, table)


def test_values_and_gradients_equal_the_plain_product():
    table = keras.Variable(TABLE)
    expected = _value_and_gradients(_plain, table)
    for run in (lambda: _value_and_gradients(tied_logits, table),
                tf.function(lambda: _value_and_gradients(tied_logits, table))):
        got = run()
        assert tuple(got[0].shape) == (3, 5, 11) and tuple(got[2].shape) == (11, 8)
        for g, e in zip(got, expected):
            np.testing.assert_allclose(keras.ops.convert_to_numpy(g), keras.ops.convert_to_numpy(e), rtol=1e-5,
                                       atol=1e-4)
    # the table gradient is the upstream-weighted sum of hidden states: row v = sum_t upstream[t, v] * hidden[t]
    np.testing.assert_allclose(expected[2], np.einsum("btv,btd->vd", UPSTREAM, HIDDEN), rtol=1e-5, atol=1e-4)
