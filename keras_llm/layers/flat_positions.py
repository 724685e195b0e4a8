"""Position-wise projections as 2-D matmuls over the flattened positions.

On TensorFlow a `[batch, T, dim] @ [dim, units]` product (what `keras.layers.Dense` and `keras.ops.matmul` do on
3-D inputs) is a broadcasting BatchMatMul: its kernel gradient is materialized per batch row, `[batch, dim,
units]`, and then summed over the batch (for a 10,000-word LSTM LM output at batch 20, a 160 MB tensor per step).
Flattening the positions first makes each gradient one matmul. Same weights, same values.
"""
from keras import ops


def on_flat_positions(fn, x):
    """`fn` (position-wise: `[N, dim] -> [N, units]`) applied to `x [..., dim]` reshaped to `[-1, dim]`; the
    result has `x`'s leading dimensions again.

    Example:
    >>> import keras
    >>> dense = keras.layers.Dense(3)
    >>> tuple(on_flat_positions(dense, keras.ops.ones((2, 5, 4))).shape)
    (2, 5, 3)
    """
    shape = ops.shape(x)
    y = fn(ops.reshape(x, (-1, shape[-1])))
    return ops.reshape(y, (*shape[:-1], ops.shape(y)[-1]))
