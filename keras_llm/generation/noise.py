"""Seeded uniform numbers for the samplers, the same on every backend, in Python and in an exported graph.

The samplers take their randomness as an input (`samplers.py`): one uniform number per decoding step and row.
Here that number is a hash of `(seed, step, row)`, computed with `keras.ops` integer arithmetic on uint32
(wrap-around multiply, xor, shift). So the stream depends only on the seed -- not on the backend, on XLA, on the
batch's padding or on how a server splits a request into chunks (`row_offset`) -- and a seed held in a tensor
(a serving request's) gives exactly the numbers that the same Python int gives to `TextGenerator`.
"""
import numpy as np
from keras import ops

MAX_SEED = 2**31 - 1  # seeds are int32 scalars in exported signatures


def _mix(x):
    """A 32-bit integer hash (xor-shift / multiply rounds): nearby inputs give unrelated outputs."""
    x = ops.bitwise_xor(x, ops.right_shift(x, 16))
    x = ops.multiply(x, ops.convert_to_tensor(0x7FEB352D, "uint32"))
    x = ops.bitwise_xor(x, ops.right_shift(x, 15))
    x = ops.multiply(x, ops.convert_to_tensor(0x846CA68B, "uint32"))
    return ops.bitwise_xor(x, ops.right_shift(x, 16))


def seeded_uniform(length, batch_size, seed, row_offset=0):
    """`[length, batch_size]` float32 numbers in [0, 1): entry `[t, b]` depends only on `(seed, t, row_offset + b)`.

    Args:
        length: steps (an int or a scalar tensor).
        batch_size: rows (an int or a scalar tensor).
        seed: an int in [0, 2**31 - 1] or an int32 scalar tensor.
        row_offset: index of the first row (a chunk of a larger batch passes its start, so every row draws what
            it would have drawn in the whole batch).

    Example:
        >>> a = seeded_uniform(4, 2, seed=7)
        >>> bool((ops.convert_to_numpy(seeded_uniform(4, 3, seed=7))[:, :2] == ops.convert_to_numpy(a)).all())
        True
    """
    if isinstance(seed, (int, np.integer)) and not 0 <= int(seed) <= MAX_SEED:
        raise ValueError(f"seed must be an int in [0, {MAX_SEED}], got {seed}")
    steps = ops.expand_dims(ops.cast(ops.arange(length), "uint32"), 1)
    rows = ops.expand_dims(ops.cast(ops.arange(batch_size) + ops.cast(row_offset, "int32"), "uint32"), 0)
    bits = _mix(_mix(_mix(ops.cast(seed, "uint32")) + steps) + rows)
    return ops.cast(ops.right_shift(bits, 8), "float32") * (1.0 / 2**24)  # the top 24 bits: exact in float32


def random_seed():
    """A fresh seed from NumPy's global generator (so `keras.utils.set_random_seed` makes it reproducible)."""
    return int(np.random.randint(0, MAX_SEED))


def uniform_noise(length, batch_size, seed=None):
    """`[length, batch]` uniform numbers for the samplers: `seeded_uniform` with `seed` (default: a fresh one)."""
    return seeded_uniform(length, batch_size, random_seed() if seed is None else seed)
