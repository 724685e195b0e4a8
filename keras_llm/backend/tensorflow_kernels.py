"""TensorFlow fused kernels for the training step (imported only when the backend is TensorFlow).

`apply_adam`: the Adam update of one variable as TF's fused `ResourceApplyAdam` kernel (one multi-threaded,
vectorized pass over variable, gradient and both moments) instead of Keras' `keras.ops` form, which TF runs
op by op: about a dozen elementwise passes over parameter-sized tensors per variable. Same formula as
`keras.optimizers.Adam.update_step`:
    alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
    m += (g - m) * (1 - beta_1);  v += (g^2 - v) * (1 - beta_2);  variable -= alpha * m / (sqrt(v) + epsilon)
"""
import keras
import tensorflow as tf


def _resource(variable):
    """The `tf.Variable` behind a Keras variable, or None when the kernel cannot take it (a `tf.distribute`
    variable: Keras' own update keeps the per-replica bookkeeping there)."""
    value = variable.value if isinstance(variable, keras.Variable) else variable
    if isinstance(value, tf.distribute.DistributedValues) or not hasattr(value, "handle"):
        return None
    return value


def apply_adam(gradient, variable, m, v, learning_rate, step, beta_1, beta_2, epsilon):
    """Applies one Adam step to `variable` (moments `m`, `v`; `step` = the 1-based step number) with the fused
    kernel and returns True; returns False, changing nothing, when the kernel does not apply (sparse gradients,
    distributed variables), so the caller runs its plain form."""
    if isinstance(gradient, tf.IndexedSlices):
        return False
    resources = [_resource(x) for x in (variable, m, v)]
    if any(r is None for r in resources):
        return False
    var, m_var, v_var = resources
    dtype = var.dtype
    step = tf.cast(step, dtype)
    beta_1, beta_2 = tf.cast(beta_1, dtype), tf.cast(beta_2, dtype)
    tf.raw_ops.ResourceApplyAdam(
        var=var.handle, m=m_var.handle, v=v_var.handle, beta1_power=tf.pow(beta_1, step),
        beta2_power=tf.pow(beta_2, step), lr=tf.cast(learning_rate, dtype), beta1=beta_1, beta2=beta_2,
        epsilon=tf.cast(epsilon, dtype), grad=tf.cast(gradient, dtype), use_locking=False, use_nesterov=False)
    return True
