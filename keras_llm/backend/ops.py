"""The ops that have a faster form on one backend, one function each: the function checks the backend once and
runs that form (`keras_llm.backend.tensorflow_kernels`, imported only on TensorFlow), or else the plain
`keras.ops` form in `keras_llm.backend.reference`, which every other backend runs and the tests compare against.
Layers call these and nothing backend-specific.
"""
import keras

from keras_llm.backend import reference


def _tensorflow_kernels():
    """`keras_llm.backend.tensorflow_kernels` on the TensorFlow backend, else None."""
    if keras.config.backend() != "tensorflow":
        return None
    from keras_llm.backend import tensorflow_kernels

    return tensorflow_kernels


def layer_norm(x, gamma, beta, epsilon):
    """`(x - mean) * rsqrt(var + epsilon) * gamma + beta` over the last axis, in float32 at least, returned in
    `x`'s dtype.

    Example:
    >>> y = layer_norm(keras.ops.array([[1.0, 2.0, 3.0]]), keras.ops.ones(3), keras.ops.zeros(3), 1e-5)
    >>> [round(float(v), 4) for v in y[0]]
    [-1.2247, 0.0, 1.2247]
    """
    kernels = _tensorflow_kernels()
    if kernels:
        return kernels.layer_norm(x, gamma, beta, epsilon)
    return reference.layer_norm(x, gamma, beta, epsilon)


def gelu(x, approximate=False):
    """GELU, exact (`keras.activations.gelu`) or (`approximate`) GPT-2's tanh form.

    Example:
    >>> round(float(gelu(keras.ops.convert_to_tensor(1.0))), 4)
    0.8413
    """
    kernels = _tensorflow_kernels()
    if kernels:
        return kernels.gelu(x, approximate=approximate)
    return reference.gelu(x, approximate=approximate)


def token_nll(targets, logits, for_gradient=False):
    """`-log softmax(logits)[target]` per position (float32 logits `[..., vocabulary_size]`, valid int targets
    `[...]`). `for_gradient`: the result will be differentiated (a loss), so take the form that is cheaper to
    differentiate; else the one cheaper to evaluate (a metric).

    Example:
    >>> nll = token_nll(keras.ops.array([[1]]), keras.ops.log(keras.ops.array([[[0.25, 0.75]]])))
    >>> round(float(nll[0, 0]), 4) == round(float(-keras.ops.log(0.75)), 4)
    True
    """
    kernels = _tensorflow_kernels()
    if kernels and for_gradient:
        return kernels.token_nll(targets, logits)
    return reference.token_nll(targets, logits, for_gradient=for_gradient)


def attention(queries, keys, values, scale, mask=None, is_causal=False):
    """Softmax attention over `[batch, T, heads, head_dim]` queries, keys and values; `mask`: optional boolean
    `[batch, Tq, Tk]` (True = may attend); `is_causal`: query `i` sees keys `<= i`. Returns
    `[batch, Tq, heads, head_dim]`.

    Example:
    >>> x = keras.ops.ones((1, 3, 2, 4))
    >>> tuple(attention(x, x, x, scale=0.5, is_causal=True).shape)
    (1, 3, 2, 4)
    """
    kernels = _tensorflow_kernels()
    if kernels and is_causal and mask is None:
        return kernels.causal_attention(queries, keys, values, scale)
    return reference.attention(queries, keys, values, scale, mask=mask, is_causal=is_causal)


def self_attention(inputs, kernels, biases, scale, mask=None, is_causal=False):
    """`attention` over `inputs`' own query, key and value projections, computed as one matmul: `kernels` the
    three `[dim, heads, head_dim]` projection kernels, `biases` their `[heads, head_dim]` biases or None.

    Example:
    >>> w = keras.ops.ones((8, 2, 4))
    >>> tuple(self_attention(keras.ops.ones((1, 3, 8)), (w, w, w), None, scale=0.5, is_causal=True).shape)
    (1, 3, 2, 4)
    """
    tensorflow_kernels = _tensorflow_kernels()
    if tensorflow_kernels and is_causal and mask is None:
        return tensorflow_kernels.causal_self_attention(inputs, kernels, biases, scale)
    return reference.self_attention(inputs, kernels, biases, scale, mask=mask, is_causal=is_causal)


def lstm(projected, h, c, recurrent_kernel, activation, recurrent_activation, mask=None, go_backwards=False,
         unroll=False, zero_output_for_mask=False, return_sequences=True):
    """The LSTM recurrence over a sequence's input projections (`inputs @ kernel + bias`, `[batch, T, 4 * units]`)
    from the states `h`, `c`, with `keras.layers.LSTM`'s masking and settings; returns
    `(last_output, outputs, [h, c])`. See `keras_llm.backend.reference.lstm`.

    Example:
    >>> projected, state = keras.ops.ones((2, 5, 12)), keras.ops.zeros((2, 3))
    >>> last, outputs, states = lstm(projected, state, state, keras.ops.ones((3, 12)), keras.activations.tanh,
    ...                              keras.activations.sigmoid)
    >>> tuple(outputs.shape), tuple(last.shape)
    ((2, 5, 3), (2, 3))
    """
    kernels = _tensorflow_kernels() or reference
    return kernels.lstm(projected, h, c, recurrent_kernel, activation, recurrent_activation, mask=mask,
                        go_backwards=go_backwards, unroll=unroll, zero_output_for_mask=zero_output_for_mask,
                        return_sequences=return_sequences)


def cudnn_lstm_applies(activation, recurrent_activation, unroll, use_bias):
    """Whether `keras.layers.LSTM` with these settings runs the backend's cuDNN kernel (TensorFlow with a GPU;
    False on the other backends, where our `lstm` runs instead)."""
    kernels = _tensorflow_kernels()
    return bool(kernels and kernels.cudnn_lstm_applies(activation, recurrent_activation, unroll, use_bias))


def apply_adam(gradient, variable, m, v, learning_rate, step, beta_1, beta_2, epsilon):
    """Applies one Adam step to `variable` (moments `m`, `v`; `step` the 1-based step number) with the backend's
    fused kernel and returns True, or returns False, changing nothing, where there is none (every backend but
    TensorFlow; sparse gradients, `tf.distribute` variables): the caller then runs Keras' `update_step`, the
    reference."""
    kernels = _tensorflow_kernels()
    return bool(kernels) and kernels.apply_adam(gradient, variable, m, v, learning_rate, step, beta_1, beta_2,
                                                 epsilon)
