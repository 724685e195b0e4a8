"""Position-wise projections as 2-D matmuls over the flattened positions.

On TensorFlow a `[batch, T, dim] @ [dim, units]` product (what `keras.layers.Dense` and `keras.ops.matmul` do on
3-D inputs) is a broadcasting BatchMatMul: its kernel gradient is materialized per batch row, `[batch, dim,
units]`, and then summed over the batch (for a 10,000-word LSTM LM output at batch 20, a 160 MB tensor per step).
Flattening the positions first makes each gradient one matmul. Same weights, same values.
"""
import keras
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


def tied_logits(hidden, table):
    """`hidden [..., dim] @ table[vocabulary, dim]^T`: the logits of an output layer tied to the token table, as
    one 2-D matmul over the flattened positions.

    On TensorFlow the gradient is written out so the table's comes out as `upstream^T @ hidden`, already
    `[vocabulary, dim]`: differentiating `matmul(x, transpose(table))` gives a `[dim, vocabulary]` product and then
    transposes it, a copy of the whole table (GPT-2 small: `[768, 50257]`, ~0.2 s of op time per 2-core CPU
    step in the profile).

    Example:
    >>> tuple(tied_logits(ops.ones((2, 5, 4)), ops.ones((7, 4))).shape)
    (2, 5, 7)
    """
    table = ops.cast(table, hidden.dtype)
    if keras.backend.backend() != "tensorflow":
        return on_flat_positions(lambda x: ops.matmul(x, ops.transpose(table)), hidden)

    @ops.custom_gradient
    def project(x, table):
        def gradient(upstream):
            return ops.matmul(upstream, table), ops.matmul(ops.transpose(upstream), x)

        return ops.matmul(x, ops.transpose(table)), gradient

    return on_flat_positions(lambda x: project(x, table), hidden)
