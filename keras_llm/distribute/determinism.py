"""Deterministic runs: seeds and TensorFlow's op determinism (TensorFlow-specific)."""
import contextlib

import tensorflow as tf

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
