"""Compile a decoding function for the active Keras backend.

The loop itself is backend-agnostic `keras.ops`; only compilation differs per backend, so this is the one
place that names them (imports are lazy: only the active backend is imported).
"""
import keras


def compile_function(fn, jit_compile=False):
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(fn, jit_compile=jit_compile, reduce_retracing=True)
    if backend == "jax":
        import jax

        return jax.jit(fn)
    return fn  # torch / numpy: eager
