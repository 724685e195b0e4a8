"""Gradients for tests on the active Keras backend: `tf.GradientTape` on TensorFlow, `jax.value_and_grad` on JAX,
so a test that compares gradients checks the code path that backend runs (TensorFlow's written-out gradients,
or the plain `keras.ops` forms that JAX differentiates itself)."""
import keras
import pytest


def value_and_gradients(fn, inputs, variables=(), compiled=False):
    """Runs `fn(*inputs) -> (scalar loss, aux)` and differentiates the loss.

    Args:
        fn: takes the inputs as backend tensors, calls layers whose `variables` it differentiates.
        inputs: arrays (numpy or backend tensors, any float dtype) to differentiate with respect to.
        variables: Keras variables `fn` reads (e.g. `layer.trainable_weights`).
        compiled: run inside `tf.function` / `jax.jit`.

    Returns:
        `(aux, gradients)`, numpy: `aux` as a structure of arrays and the gradients with respect to each input,
        then each variable.
    """
    variables = list(variables)
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        def run(*xs):
            with tf.GradientTape() as tape:
                for x in xs:
                    tape.watch(x)
                loss, aux = fn(*xs)
            return aux, tape.gradient(loss, list(xs) + [v.value for v in variables])

        if compiled:
            run = tf.function(run)
        aux, gradients = run(*[tf.convert_to_tensor(x) for x in inputs])
    elif backend == "jax":
        import jax

        def loss_and_aux(xs, values):
            with keras.StatelessScope(state_mapping=list(zip(variables, values))):
                return fn(*xs)

        run = jax.value_and_grad(loss_and_aux, argnums=(0, 1), has_aux=True)
        if compiled:
            run = jax.jit(run)
        (_, aux), (input_gradients, variable_gradients) = run(
            [keras.ops.convert_to_tensor(x) for x in inputs], [v.value for v in variables])
        gradients = list(input_gradients) + list(variable_gradients)
    else:
        pytest.skip(f"no gradient helper for the {backend} backend")
    return keras.tree.map_structure(keras.ops.convert_to_numpy, aux), [keras.ops.convert_to_numpy(g) for g in gradients]
