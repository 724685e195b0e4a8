"""Compile a decoding function for the active Keras backend.

The loop itself is backend-agnostic `keras.ops`; only compilation differs per backend, so this is the one
place that names them (imports are lazy: only the active backend is imported).
"""
import keras


def compile_function(fn, jit_compile=False, model=None):
    """`fn` compiled for the active backend: `tf.function` (XLA with `jit_compile`), `jax.jit`, or `fn` itself.

    `model`: the Keras model `fn` calls. It is built here, before tracing (a fresh subclassed model builds its
    variables on its first call, which a `jax.jit` trace must not do). On JAX its variables are passed to the
    jitted function as arguments (`keras.StatelessScope`): a closure would bake the values of the first call
    into the compiled function, and a model trained between two calls would keep decoding with old weights
    (`tf.function` reads variables by reference, so TensorFlow needs nothing of the kind).
    """
    if model is not None and not model.built:
        model.build()
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(fn, jit_compile=jit_compile, reduce_retracing=True)
    if backend == "jax":
        import jax

        if model is None:
            return jax.jit(fn)
        variables = list(model.variables)

        def stateless(values, *args):
            with keras.StatelessScope(state_mapping=list(zip(variables, values))):
                return fn(*args)

        jitted = jax.jit(stateless)
        return lambda *args: jitted([variable.value for variable in variables], *args)
    return fn  # torch / numpy: eager
