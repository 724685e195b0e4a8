"""TensorFlow's faster forms of the ops in `keras_llm.backend.ops` (imported only on the TensorFlow backend).

TensorFlow without XLA runs the plain `keras.ops` forms (`keras_llm.backend.reference`) op by op, one pass over
an activation-sized tensor each, and differentiates them op by op too. The forms here take fewer passes: the
gradient is written out from what the forward pass already holds (layer norm, GELU, the loss), attention is two
batched matmuls with the heads first, and the Adam update is TF's fused kernel. In a training step on wide
enough tensors (`_fuse`), GELU and the loss's elementwise passes run as XLA-fused loops called from the
unfused graph. Each gives the reference's values; `tests/backend_gradients.py` and the layer tests compare
them. Measured gains: benchmarks/README.md, "Performance notes".
"""
import math

import keras
import tensorflow as tf
from keras import ops

from keras_llm.backend import reference


# Last-axis widths from which `_fuse` picks the XLA-fused forms. GELU: one XLA launch costs about as much as the
# op-by-op passes it saves on a `[positions, 256]` tensor (measured on 2 CPU cores). The loss saves one copy of
# the logits per step, worth a launch and a compile per step shape from a vocabulary of about 1024. Test-sized
# models stay on TensorFlow's ops, which need no compiling (each process pays ~0.1 s to start XLA).
FUSE_MIN_WIDTH = 256
FUSE_MIN_VOCABULARY = 1024


def _fuse(x, min_width):
    """Whether to run the XLA-fused form of an elementwise op on `x`: only in a graph being traced under a
    recording `tf.GradientTape` (a training step), where one fused pass forward and one backward replace
    several op-by-op passes, and only when `x`'s last axis is static and at least `min_width` wide.
    Eagerly, XLA would compile anew for each call's shape; a graph traced without a tape (predict, serving
    signatures) keeps TensorFlow's own ops, so a SavedModel holds XLA calls only when it is exported with XLA."""
    if tf.executing_eagerly():
        return False
    shape = tf.TensorShape(getattr(x, "shape", None))  # a tensor's, or a numpy array's tuple
    if not shape.rank or shape[-1] is None or shape[-1] < min_width:
        return False
    try:
        from tensorflow.python.eager import record

        recording = record.could_possibly_record
    except (ImportError, AttributeError):  # a TensorFlow without this internal function: the op-by-op forms
        return False
    return bool(recording())


def _xla(fn):
    """`fn` as a `tf.function` compiled by XLA: called from a graph that is not itself compiled, its ops run as
    fused loops; inside an XLA-compiled step it is inlined like any other function."""
    return tf.function(fn, jit_compile=True, autograph=False, reduce_retracing=True)


def layer_norm(x, gamma, beta, epsilon):
    """`reference.layer_norm` with the textbook gradient `rstd * (g - mean(g) - x_hat * mean(g * x_hat))`,
    `g = upstream * gamma`, from the forward's normalized `x_hat`. (Not XLA-fused: its tensors are `[positions,
    width]`, and XLA's launch and its single-threaded row reductions on a CPU cost more than the passes saved.)"""
    dtype = keras.backend.result_type(x.dtype, "float32")  # statistics in float32 at least, as Keras does
    outputs = _layer_norm(ops.cast(x, dtype), ops.cast(gamma, dtype), ops.cast(beta, dtype), epsilon)
    return ops.cast(outputs, x.dtype)


def _layer_norm(x, gamma, beta, epsilon):
    width = ops.shape(x)[-1]

    @ops.custom_gradient
    def normalize(x, gamma, beta):
        centered = x - ops.mean(x, axis=-1, keepdims=True)
        rstd = ops.rsqrt(ops.mean(ops.square(centered), axis=-1, keepdims=True) + epsilon)
        x_hat = centered * rstd

        def gradient(upstream):
            g = upstream * gamma
            mean_g = ops.mean(g, axis=-1, keepdims=True)
            mean_g_x_hat = ops.mean(g * x_hat, axis=-1, keepdims=True)
            flat_upstream = ops.reshape(upstream, (-1, width))
            return (
                rstd * (g - mean_g - x_hat * mean_g_x_hat),
                ops.sum(flat_upstream * ops.reshape(x_hat, (-1, width)), axis=0),
                ops.sum(flat_upstream, axis=0),
            )

        return x_hat * gamma + beta, gradient

    return normalize(x, gamma, beta)


def gelu(x, approximate=False):
    """`reference.gelu` with its derivative written out from the forward's intermediate values (under
    `_fuse(x, FUSE_MIN_WIDTH)`: forward and derivative each one XLA-fused pass, the derivative recomputed from
    `x`)."""
    if _fuse(x, FUSE_MIN_WIDTH):
        return _fused_gelu(x, approximate)
    return _tanh_gelu(x) if approximate else _exact_gelu(x)


_SQRT_HALF = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def _exact_gelu(x):
    """`x * Phi(x)`, derivative `Phi(x) + x * phi(x)` from the forward's `Phi(x)`."""

    @ops.custom_gradient
    def gelu(x):
        cdf = 0.5 * (1.0 + ops.erf(x * ops.cast(_SQRT_HALF, x.dtype)))

        def gradient(upstream):
            density = ops.cast(_INV_SQRT_2PI, x.dtype) * ops.exp(ops.cast(-0.5, x.dtype) * ops.square(x))
            return upstream * (cdf + x * density)

        return x * cdf, gradient

    return gelu(x)


def _tanh_gelu(x):
    """`0.5 x (1 + tanh(u))`, `u = sqrt(2/pi) (x + 0.044715 x^3)`, with the derivative `h + x h (1 - h) 2 u'(x)`
    from the forward's `h = 0.5 (1 + tanh(u)) = sigmoid(2u)`."""

    @ops.custom_gradient
    def gelu(x):
        x_squared = ops.square(x)
        # h = 0.5 (1 + t) = sigmoid(2u): one op where tanh needs a scale and a shift after it
        h = ops.sigmoid(x * (ops.cast(2.0 * _SQRT_2_OVER_PI, x.dtype)
                             + ops.cast(2.0 * _SQRT_2_OVER_PI * 0.044715, x.dtype) * x_squared))

        def gradient(upstream):
            # dy/dx = h + x h (1 - h) 2 du/dx, with 2 du/dx = 2 sqrt(2/pi) (1 + 3 * 0.044715 x^2)
            du2 = (ops.cast(2.0 * _SQRT_2_OVER_PI, x.dtype)
                   + ops.cast(6.0 * _SQRT_2_OVER_PI * 0.044715, x.dtype) * x_squared)
            return upstream * (h + x * (h - ops.square(h)) * du2)

        return x * h, gradient

    return gelu(x)


def _gelu_terms(x, approximate):
    """`(Phi, dPhi)` with `gelu(x) = x * Phi` and `gelu'(x) = Phi + x * dPhi`: the normal CDF and density, or for
    the tanh form `h = sigmoid(2u)` and `h (1 - h) 2u'`, `u = sqrt(2/pi) (x + 0.044715 x^3)`."""
    if approximate:
        x_squared = tf.square(x)
        h = tf.sigmoid(x * (2.0 * _SQRT_2_OVER_PI + 2.0 * _SQRT_2_OVER_PI * 0.044715 * x_squared))
        return h, (h - tf.square(h)) * (2.0 * _SQRT_2_OVER_PI + 6.0 * _SQRT_2_OVER_PI * 0.044715 * x_squared)
    # erfc(-x / sqrt 2) rather than 1 + erf(x / sqrt 2): no cancellation in the left tail (XLA's erf on TF 2.21
    # leaves ~1e-7 there, so gelu(-12) came out -1e-6 instead of ~-1e-32)
    return 0.5 * tf.math.erfc(-x * _SQRT_HALF), _INV_SQRT_2PI * tf.exp(-0.5 * tf.square(x))


@_xla
def _gelu_forward(x, approximate):
    return x * _gelu_terms(x, approximate)[0]


@_xla
def _gelu_backward(x, upstream, approximate):
    phi, d_phi = _gelu_terms(x, approximate)
    return upstream * (phi + x * d_phi)


def _fused_gelu(x, approximate):
    @tf.custom_gradient
    def gelu(x):
        return _gelu_forward(x, approximate), lambda upstream: _gelu_backward(x, upstream, approximate)

    return gelu(x)


def token_nll(targets, logits):
    """`reference.token_nll` with its gradient written out: `upstream * (softmax(logits) - one_hot(target))` from
    the forward's exponentials. Under `_fuse` (a vocabulary of at least `FUSE_MIN_VOCABULARY`) the
    shift-and-exponentiate and the whole gradient are each one XLA-fused pass (the reductions stay
    TensorFlow's, which spread over the cores where XLA's on a CPU do not); otherwise the gradient is one
    multiply and an in-place write of the target entries (whose gradient is
    `upstream * (exp(-nll) - 1)`: no gather)."""
    vocabulary_size = ops.shape(logits)[-1]
    fuse = _fuse(logits, FUSE_MIN_VOCABULARY)

    @ops.custom_gradient
    def nll_of(logits):
        peak = ops.max(logits, axis=-1, keepdims=True)
        exponentials = _shifted_exp(logits, peak) if fuse else ops.exp(logits - peak)
        total = ops.sum(exponentials, axis=-1)
        nll = ops.log(total) + (ops.squeeze(peak, axis=-1) - reference.take_targets(logits, targets))

        def gradient(upstream):
            if fuse:
                return _token_nll_gradient(exponentials, total, ops.cast(upstream, exponentials.dtype), targets)
            upstream = ops.cast(upstream, "float32")
            grad = ops.reshape(exponentials * ops.expand_dims(upstream / total, axis=-1), (-1, vocabulary_size))
            flat_targets = ops.reshape(targets, (-1,))
            rows = ops.arange(ops.shape(flat_targets)[0], dtype=flat_targets.dtype)
            at_targets = ops.reshape(upstream * (ops.exp(-nll) - 1.0), (-1,))
            grad = ops.scatter_update(grad, ops.stack([rows, flat_targets], axis=1), at_targets)
            return ops.reshape(grad, ops.shape(logits))

        return nll, gradient

    return nll_of(logits)


@_xla
def _shifted_exp(logits, peak):
    return tf.exp(logits - peak)


@_xla
def _token_nll_gradient(exponentials, total, upstream, targets):
    """`upstream * (exponentials / total - one_hot(targets))` in one pass (TensorFlow's scatter of the target
    entries copies the whole logits-sized tensor first)."""
    hit = tf.equal(tf.range(tf.shape(exponentials)[-1], dtype=targets.dtype), targets[..., None])
    grad = exponentials * (upstream / total)[..., None]
    return tf.where(hit, grad - upstream[..., None], grad)


def causal_attention(queries, keys, values, scale):
    """`reference.attention(..., is_causal=True)` for `[batch, T, heads, head_dim]` inputs, as two batched
    matmuls with the heads first (TensorFlow has no fused attention kernel)."""
    queries = queries * ops.cast(scale, queries.dtype)
    return _causal_matmul_attention(*[ops.transpose(t, (0, 2, 1, 3)) for t in (queries, keys, values)])


def causal_self_attention(inputs, kernels, biases, scale):
    """`reference.self_attention(..., is_causal=True)`: the fused projection with the scale folded into the query
    kernel and bias, brought to `[batch, heads, T, head_dim]` by one transpose, then `causal_attention`'s
    matmuls."""
    kernels = (kernels[0] * ops.cast(scale, kernels[0].dtype),) + tuple(kernels[1:])
    if biases is not None:
        biases = (biases[0] * ops.cast(scale, biases[0].dtype),) + tuple(biases[1:])
    heads, head_dim = kernels[0].shape[1], kernels[0].shape[2]
    projected = reference.fused_projection(inputs, kernels, biases)
    shape = ops.shape(inputs)
    projected = ops.reshape(projected, (shape[0], shape[1], 3, heads, head_dim))
    return _causal_matmul_attention(*ops.unstack(ops.transpose(projected, (2, 0, 3, 1, 4)), 3, axis=0))


def _causal_matmul_attention(queries, keys, values):
    """Causal softmax attention over `[batch, heads, T, head_dim]` inputs (queries already scaled), softmax in
    float32; returns `[batch, T, heads, head_dim]`. The keys' transpose is folded into the score product and the
    causal mask is added as a constant bias (its gradient is the identity; a select's is another pass)."""
    length, key_length = ops.shape(queries)[2], ops.shape(keys)[2]
    scores = ops.cast(ops.einsum("bhqd,bhkd->bhqk", queries, keys), "float32")  # [batch, heads, T, S]
    causal = ops.greater_equal(ops.arange(length, dtype="int32")[:, None], ops.arange(key_length, dtype="int32")[None, :])
    scores = scores + ops.where(causal, 0.0, reference.MASKED_SCORE)
    probabilities = ops.cast(ops.softmax(scores, axis=-1), values.dtype)
    return ops.transpose(ops.matmul(probabilities, values), (0, 2, 1, 3))


def _resource(variable):
    """The `tf.Variable` behind a Keras variable, or None when the kernel cannot take it (a `tf.distribute`
    variable: Keras' own update keeps the per-replica bookkeeping there)."""
    value = variable.value if isinstance(variable, keras.Variable) else variable
    if isinstance(value, tf.distribute.DistributedValues) or not hasattr(value, "handle"):
        return None
    return value


def apply_adam(gradient, variable, m, v, learning_rate, step, beta_1, beta_2, epsilon):
    """Applies one Adam step to `variable` (moments `m`, `v`; `step` = the 1-based step number) with TF's fused
    `ResourceApplyAdam` kernel (one pass over variable, gradient and both moments, where Keras' `keras.ops` form
    is about a dozen elementwise passes) and returns True; returns False, changing nothing, when the kernel does
    not apply (sparse gradients, distributed variables), so the caller runs its plain form. Same formula as
    `keras.optimizers.Adam.update_step`:
        alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
        m += (g - m) * (1 - beta_1);  v += (g^2 - v) * (1 - beta_2);  variable -= alpha * m / (sqrt(v) + epsilon)
    """
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


def cudnn_lstm_applies(activation, recurrent_activation, unroll, use_bias):
    """Whether `keras.layers.LSTM` runs TensorFlow's cuDNN kernel with these settings (as Keras decides it: a GPU,
    tanh and sigmoid, no unrolling, a bias)."""
    return (
        activation in (keras.activations.tanh, tf.tanh, ops.tanh)
        and recurrent_activation in (keras.activations.sigmoid, tf.sigmoid, ops.sigmoid)
        and not unroll
        and use_bias
        and bool(tf.config.list_logical_devices("GPU"))
    )


def lstm(projected, h, c, recurrent_kernel, activation, recurrent_activation, mask=None, go_backwards=False,
         unroll=False, zero_output_for_mask=False, return_sequences=True):
    """`reference.lstm` as a `tf.while_loop` over TensorArrays with the settings of Keras' own TensorFlow loop
    (`parallel_iterations=32`, `swap_memory`); `keras.ops.scan` on TensorFlow keeps its carry in a TensorArray
    and runs one iteration at a time. `unroll` runs the reference's Python loop."""
    if unroll:
        return reference.lstm(projected, h, c, recurrent_kernel, activation, recurrent_activation, mask=mask,
                              go_backwards=go_backwards, unroll=True, zero_output_for_mask=zero_output_for_mask)
    inputs = tf.transpose(projected, (1, 0, 2))  # time-major
    masks = None if mask is None else tf.expand_dims(tf.transpose(tf.cast(mask, tf.bool), (1, 0)), axis=-1)
    if go_backwards:
        inputs = tf.reverse(inputs, [0])
        masks = None if masks is None else tf.reverse(masks, [0])
    steps = tf.shape(inputs)[0]
    input_array = tf.TensorArray(inputs.dtype, size=steps).unstack(inputs)
    mask_array = None if masks is None else tf.TensorArray(tf.bool, size=steps).unstack(masks)
    output_array = tf.TensorArray(h.dtype, size=steps if return_sequences else 1, element_shape=h.shape)

    def body(t, output_array, h_previous, c_previous):
        h, c = reference.lstm_step(input_array.read(t), h_previous, c_previous, recurrent_kernel, activation,
                                   recurrent_activation)
        output = h
        if mask_array is not None:
            mask_t = mask_array.read(t)
            output = tf.where(mask_t, h, tf.zeros_like(h) if zero_output_for_mask else h_previous)
            h, c = tf.where(mask_t, h, h_previous), tf.where(mask_t, c, c_previous)
        output_array = output_array.write(t if return_sequences else 0, output)
        return t + 1, output_array, h, c

    _, output_array, h, c = tf.while_loop(
        lambda t, *_: t < steps, body, (tf.constant(0), output_array, h, c), maximum_iterations=steps,
        parallel_iterations=32, swap_memory=True)
    outputs = output_array.stack()
    outputs.set_shape([inputs.shape[0] if return_sequences else 1] + h.shape.as_list())
    return outputs[-1], tf.transpose(outputs, (1, 0, 2)), [h, c]
