"""The plain `keras.ops` form of each op in `keras_llm.backend.ops`: what every backend without a faster form runs
(XLA fuses these by itself on JAX) and what the tests compare the faster forms against."""
import keras
from keras import ops

# Masked attention scores are set to this before the softmax (finite, so a fully masked row gives no NaN).
MASKED_SCORE = -1e9


def layer_norm(x, gamma, beta, epsilon):
    """`(x - mean) * rsqrt(var + epsilon) * gamma + beta` over the last axis, computed in float32 at least and
    returned in `x`'s dtype (Keras' `LayerNormalization` on the last axis).

    Example:
    >>> y = layer_norm(ops.array([[1.0, 2.0, 3.0]]), ops.ones(3), ops.zeros(3), 1e-5)
    >>> [round(float(v), 4) for v in y[0]]
    [-1.2247, 0.0, 1.2247]
    """
    return ops.layer_normalization(x, gamma, beta, axis=-1, epsilon=epsilon)


def gelu(x, approximate=False):
    """GELU, exact `x * Phi(x)` or (`approximate`) GPT-2's tanh form (`keras.activations.gelu`).

    Example:
    >>> round(float(gelu(ops.convert_to_tensor(1.0), approximate=True)), 4)
    0.8412
    """
    return keras.activations.gelu(x, approximate=approximate)


def token_nll(targets, logits, for_gradient=False):
    """`-log softmax(logits)[target]` per position, as `log(sum(exp(logits - max))) + (max - logits[target])`
    (both terms >= 0: no cancellation; the max is a constant for the gradient).

    The target logits are picked with one gather (cheap forward: a metric), or (`for_gradient`, a loss) by a
    select against a one-hot mask summed over the vocabulary: a gather's gradient scatters into a zeroed
    logits-sized tensor, a select's is one dense pass. Same values either way, -inf logits included.

    Example:
    >>> nll = token_nll(ops.array([[1]]), ops.log(ops.array([[[0.25, 0.75]]])))
    >>> round(float(nll[0, 0]), 4) == round(float(-ops.log(0.75)), 4)
    True
    """
    peak = ops.stop_gradient(ops.max(logits, axis=-1, keepdims=True))
    log_sum = ops.log(ops.sum(ops.exp(logits - peak), axis=-1))
    if for_gradient:
        # A select rather than `logits * one_hot`: equally one dense pass each way, and a -inf logit (a masked
        # token) times 0 would be NaN.
        hit = ops.expand_dims(targets, axis=-1) == ops.arange(ops.shape(logits)[-1], dtype=targets.dtype)
        picked = ops.sum(ops.where(hit, logits, ops.zeros_like(logits)), axis=-1)
    else:
        picked = take_targets(logits, targets)
    return log_sum + (ops.squeeze(peak, axis=-1) - picked)


def take_targets(logits, targets):
    """`logits[..., target]` through one gather on the flattened logits (cheaper to differentiate than
    `ops.take_along_axis` on TensorFlow). The flat index is int64 unless the size is static and fits in int32."""
    vocabulary_size = ops.shape(logits)[-1]
    flat_targets = ops.reshape(targets, (-1,))
    num_targets = ops.shape(flat_targets)[0]
    static = isinstance(num_targets, int) and isinstance(vocabulary_size, int)
    dtype = "int32" if static and num_targets * vocabulary_size < 2**31 else "int64"
    rows = ops.arange(num_targets, dtype=dtype)
    index = rows * ops.cast(vocabulary_size, dtype) + ops.cast(flat_targets, dtype)
    picked = ops.take(ops.reshape(logits, (-1,)), index)
    return ops.reshape(picked, ops.shape(targets))


def attention(queries, keys, values, scale, mask=None, is_causal=False):
    """Softmax attention over `[batch, T, heads, head_dim]` queries, keys and values, through the backend's
    `ops.dot_product_attention` (cuDNN flash attention for JAX on a GPU when only the causal mask applies).

    Args:
        queries, keys, values: `[batch, Tq, heads, d]`, `[batch, Tk, heads, d]`, `[batch, Tk, heads, d]`.
        scale: the factor of the scores (`1 / sqrt(d)`).
        mask: optional boolean `[batch, Tq, Tk]`, True where a query may attend.
        is_causal: apply the causal mask inside the kernel (no `mask` needed for it).

    Returns:
        `[batch, Tq, heads, d]`.
    """
    if is_causal and mask is None:
        return ops.dot_product_attention(queries, keys, values, scale=scale, is_causal=True)
    return ops.dot_product_attention(
        queries, keys, values, mask=None if mask is None else ops.expand_dims(mask, axis=1), scale=scale,
        is_causal=is_causal, flash_attention=False,  # arbitrary masks: the portable path on every backend
    )


def fused_projection(inputs, kernels, biases=None):
    """`inputs @ kernel + bias` for several `[dim, heads, head_dim]` kernels as one matmul over the concatenated
    kernels (one pass over `inputs` forward, one input-gradient matmul backward) and over the flattened positions
    (on TensorFlow the kernel gradient of a 3-D product is materialized per batch row). Returns
    `[batch, T, len(kernels) * heads * head_dim]`."""
    kernel = ops.concatenate(list(kernels), axis=1)
    kernel = ops.reshape(kernel, (ops.shape(kernel)[0], -1))
    shape = ops.shape(inputs)
    projected = ops.matmul(ops.reshape(inputs, (-1, shape[-1])), kernel)
    projected = ops.reshape(projected, (shape[0], shape[1], ops.shape(kernel)[-1]))
    if biases is not None:
        projected = projected + ops.reshape(ops.concatenate(list(biases), axis=0), (-1,))
    return projected


def qkv_projection(inputs, kernels, biases=None):
    """Self-attention's query, key and value projections (`EinsumDense("abc,cde->abde")` each, kernels
    `[dim, heads, head_dim]`, biases `[heads, head_dim]` or None) as one matmul; returns three
    `[batch, T, heads, head_dim]` tensors."""
    heads, head_dim = kernels[0].shape[1], kernels[0].shape[2]
    projected = fused_projection(inputs, kernels, biases)
    shape = ops.shape(inputs)
    projected = ops.reshape(projected, (shape[0], shape[1], 3 * heads, head_dim))
    # `split`, not three slices: on TensorFlow a slice's gradient pads to the full shape, split's is a concat.
    return ops.split(projected, 3, axis=2)


def self_attention(inputs, kernels, biases, scale, mask=None, is_causal=False):
    """`attention` over `qkv_projection(inputs, kernels, biases)`."""
    queries, keys, values = qkv_projection(inputs, kernels, biases)
    return attention(queries, keys, values, scale, mask=mask, is_causal=is_causal)


def lstm_step(projected_t, h, c, recurrent_kernel, activation, recurrent_activation):
    """One LSTM step from the input's projection `x_t @ kernel + bias` (gates i, f, c, o); returns `(h, c)`."""
    z = projected_t + ops.matmul(h, recurrent_kernel)
    z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
    c = recurrent_activation(z_f) * c + recurrent_activation(z_i) * activation(z_c)
    return recurrent_activation(z_o) * activation(c), c


def lstm(projected, h, c, recurrent_kernel, activation, recurrent_activation, mask=None, go_backwards=False,
         unroll=False, zero_output_for_mask=False, return_sequences=True):
    """The LSTM recurrence over the input projections of a whole sequence, as `keras.layers.LSTM` runs it.

    Args:
        projected: `[batch, T, 4 * units]`, the inputs times the input kernel plus the bias.
        h, c: the initial states, `[batch, units]`.
        recurrent_kernel, activation, recurrent_activation: the cell's.
        mask: optional `[batch, T]`; a masked step keeps the states and outputs the previous `h` (or zeros,
            `zero_output_for_mask`).
        go_backwards: run from the last step to the first (the outputs come in that order).
        unroll: a Python loop instead of `keras.ops.scan` (which on TensorFlow takes only outputs shaped like
            its carry: TensorFlow runs `tensorflow_kernels.lstm` instead).
        return_sequences: whether `outputs` is needed (else only the last output).

    Returns:
        `(last_output, outputs, [h, c])`, `outputs` `[batch, T, units]`.
    """
    inputs = ops.transpose(projected, (1, 0, 2))  # time-major
    masks = None if mask is None else ops.expand_dims(ops.transpose(ops.cast(mask, "bool"), (1, 0)), axis=-1)
    if go_backwards:
        inputs = ops.flip(inputs, axis=0)
        masks = None if masks is None else ops.flip(masks, axis=0)

    def step(states, step_inputs):
        h_previous, c_previous = states
        projected_t, mask_t = step_inputs if masks is not None else (step_inputs, None)
        h, c = lstm_step(projected_t, h_previous, c_previous, recurrent_kernel, activation, recurrent_activation)
        if mask_t is None:
            return (h, c), h
        output = ops.where(mask_t, h, ops.zeros_like(h) if zero_output_for_mask else h_previous)
        return (ops.where(mask_t, h, h_previous), ops.where(mask_t, c, c_previous)), output

    xs = inputs if masks is None else (inputs, masks)
    if unroll:
        states, outputs = (h, c), []
        for t in range(inputs.shape[0]):
            states, output = step(states, keras.tree.map_structure(lambda x: x[t], xs))
            outputs.append(output)
        outputs = ops.stack(outputs)
    else:
        states, outputs = ops.scan(step, (h, c), xs)
    return outputs[-1], ops.transpose(outputs, (1, 0, 2)), list(states)
