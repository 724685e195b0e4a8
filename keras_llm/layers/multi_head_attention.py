"""Multi-head attention with causal/padding masks and an incremental key/value cache.

Why our own layer rather than keras-hub's `CachedMultiHeadAttention`: `import keras_hub` pulls in tensorflow
and tensorflow-text, which `keras_llm.layers` must not need. keras-hub's layer also leaves the causal mask to
the caller; for decoding, the mask must be shifted by the cache index, and doing that in one place (here) keeps
the generation loop and the exported SavedModel signature simple: a `(keys, values)` pair in, the updated pair
out. The cache is laid out `[batch, heads, positions, head_dim]` (keras-hub: `[batch, positions, heads,
head_dim]` inside one tensor for all layers), so each decoding step's score and weighted-sum products are
plain batched matmuls over contiguous rows and the in-place update touches one row per head.

The projections are `EinsumDense` layers with the same equations and kernel shapes as
`keras.layers.MultiHeadAttention` (query/key/value kernels `[dim, heads, head_dim]`, output kernel
`[heads, head_dim, dim]`), so weights copy across one to one and the outputs agree.
"""
import math

import keras
from keras import ops

from keras_llm.backend import reference
from keras_llm.backend.ops import attention, self_attention

_MASKED_SCORE = reference.MASKED_SCORE


def _clone_initializer(initializer):
    """A fresh copy, so that each projection draws its own random values."""
    return initializer.__class__.from_config(initializer.get_config())


def attention_mask_from(query_length, key_length, query_offset=0, attention_mask=None,
                        padding_mask=None, causal=False):
    """Combines explicit, padding and causal masks into one boolean mask (True = may attend).

    Args:
        query_length: number of query positions `Tq`.
        key_length: number of key positions `Tk`.
        query_offset: position of the first query among the keys (the cache index while decoding).
        attention_mask: optional `[batch, Tq, Tk]` mask.
        padding_mask: optional `[batch, Tk]` mask, True/1 for real tokens.
        causal: whether query `i` may only see keys at positions `<= query_offset + i`.

    Returns:
        A boolean tensor broadcastable to `[batch, Tq, Tk]`, or None when nothing is masked.

    Example:
    >>> tuple(attention_mask_from(3, 3, causal=True).shape)
    (1, 3, 3)
    """
    mask = None
    if attention_mask is not None:
        mask = ops.cast(attention_mask, "bool")
    if padding_mask is not None:
        keys = ops.expand_dims(ops.cast(padding_mask, "bool"), axis=1)
        mask = keys if mask is None else ops.logical_and(mask, keys)
    if causal:
        query_positions = ops.arange(query_length, dtype="int32") + ops.cast(query_offset, "int32")
        key_positions = ops.arange(key_length, dtype="int32")
        lower = ops.greater_equal(query_positions[:, None], key_positions[None, :])[None, :, :]
        mask = lower if mask is None else ops.logical_and(mask, lower)
    return mask


@keras.saving.register_keras_serializable(package="keras_llm")
class MultiHeadAttention(keras.layers.Layer):
    """Scaled dot-product attention over several heads, with an optional key/value cache.

    Args:
        num_heads: number of attention heads.
        key_dim: width of each query/key head.
        value_dim: width of each value head; defaults to `key_dim`.
        output_dim: width of the output; defaults to the query's last dimension.
        dropout: dropout rate on the attention probabilities.
        use_bias: whether the projections have biases.
        kernel_initializer: initializer of the projection kernels.
        bias_initializer: initializer of the projection biases.
        **kwargs: base `keras.layers.Layer` arguments.

    Call args:
        query: `[batch, Tq, dim]`.
        value: `[batch, Tv, dim]`; defaults to `query` (self-attention).
        key: `[batch, Tv, dim]`; defaults to `value`.
        attention_mask: optional `[batch, Tq, Tv]` boolean mask, True where attention is allowed.
        padding_mask: optional `[batch, Tv]` mask, True/1 for real (non-padding) keys. With a cache it covers
            the cache positions, `[batch, max_length]`.
        use_causal_mask: whether query `i` may only attend to keys `<= i`.
        cache: optional `(keys, values)` pair of `[batch, num_heads, max_length, head_dim]` float tensors (see
            `init_cache`). The keys/values of the new tokens are written at `cache_index` with
            `keras.ops.slice_update`, and the queries attend causally over the whole cache. Self-attention only.
        cache_index: int or scalar int tensor, the position of the first token of `query` in the sequence.
        training: whether dropout is active.

    Returns:
        `[batch, Tq, output_dim]`, or `(output, new_cache)` when `cache` is given.

    Example:
    >>> attention = MultiHeadAttention(num_heads=2, key_dim=4)
    >>> x = keras.random.normal((1, 5, 8))
    >>> tuple(attention(x, use_causal_mask=True).shape)
    (1, 5, 8)
    >>> cache = attention.init_cache(batch_size=1, max_length=5)
    >>> y, cache = attention(x[:, :1], cache=cache, cache_index=0)
    >>> tuple(y.shape)
    (1, 1, 8)
    """

    def __init__(
        self,
        num_heads,
        key_dim,
        value_dim=None,
        output_dim=None,
        dropout=0.0,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_heads = int(num_heads)
        self.key_dim = int(key_dim)
        self.value_dim = int(value_dim) if value_dim is not None else self.key_dim
        self.output_dim = int(output_dim) if output_dim is not None else None
        self.dropout = float(dropout)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def _projection(self, equation, output_shape, bias_axes, name):
        return keras.layers.EinsumDense(
            equation,
            output_shape=output_shape,
            bias_axes=bias_axes if self.use_bias else None,
            kernel_initializer=_clone_initializer(self.kernel_initializer),
            bias_initializer=_clone_initializer(self.bias_initializer),
            dtype=self.dtype_policy,
            name=name,
        )

    def build(self, query_shape, value_shape=None, key_shape=None):
        value_shape = query_shape if value_shape is None else value_shape
        key_shape = value_shape if key_shape is None else key_shape
        heads = self.num_heads
        self.query_dense = self._projection("abc,cde->abde", (None, heads, self.key_dim), "de", "query")
        self.query_dense.build(query_shape)
        self.key_dense = self._projection("abc,cde->abde", (None, heads, self.key_dim), "de", "key")
        self.key_dense.build(key_shape)
        self.value_dense = self._projection("abc,cde->abde", (None, heads, self.value_dim), "de", "value")
        self.value_dense.build(value_shape)
        output_dim = self.output_dim or query_shape[-1]
        self.output_dense = self._projection("abcd,cde->abe", (None, output_dim), "e", "attention_output")
        self.output_dense.build((query_shape[0], query_shape[1], heads, self.value_dim))
        self.probability_dropout = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)

    def call(
        self,
        query,
        value=None,
        key=None,
        attention_mask=None,
        padding_mask=None,
        use_causal_mask=False,
        cache=None,
        cache_index=None,
        training=None,
    ):
        fuse = value is None and key is None and self._can_fuse_projections()
        value = query if value is None else value
        key = value if key is None else key
        if cache is not None:
            if cache_index is None:
                raise ValueError("`cache_index` is required when `cache` is given.")
            return self._cached_attention(self.query_dense(query), self.key_dense(key), self.value_dense(value),
                                          cache, cache_index, padding_mask)

        scale = 1.0 / math.sqrt(self.key_dim)
        if use_causal_mask and attention_mask is None and padding_mask is None:
            mask, is_causal = None, True  # the attention kernel applies it
        else:
            mask = attention_mask_from(ops.shape(query)[1], ops.shape(key)[1], attention_mask=attention_mask,
                                       padding_mask=padding_mask, causal=use_causal_mask)
            is_causal = False
        if (self.dropout > 0.0 and training) or self.value_dim != self.key_dim:
            # Dropout acts on the probabilities, which a fused attention kernel never materializes; JAX's
            # (`jax.nn.dot_product_attention`) also needs values as wide as the keys.
            if fuse:
                queries, keys, values = reference.qkv_projection(query, *self._qkv_weights())
            else:
                queries, keys, values = self.query_dense(query), self.key_dense(key), self.value_dense(value)
            if is_causal:
                mask = attention_mask_from(ops.shape(query)[1], ops.shape(key)[1], causal=True)
            attended = self._explicit_attention(queries, keys, values, mask, scale, training)
        elif fuse:
            attended = self_attention(query, *self._qkv_weights(), scale, mask=mask, is_causal=is_causal)
        else:
            attended = attention(self.query_dense(query), self.key_dense(key), self.value_dense(value), scale,
                                 mask=mask, is_causal=is_causal)
        return self.output_dense(attended)

    def init_cache(self, batch_size, max_length, dtype=None):
        """A zero `(keys, values)` cache, each `[batch_size, num_heads, max_length, head_dim]`."""
        dtype = dtype or self.compute_dtype
        keys = ops.zeros((batch_size, self.num_heads, max_length, self.key_dim), dtype=dtype)
        values = ops.zeros((batch_size, self.num_heads, max_length, self.value_dim), dtype=dtype)
        return keys, values

    def _cached_attention(self, queries, keys, values, cache, cache_index, padding_mask):
        """Writes the new keys/values at `cache_index` and attends causally over the cache (decoding: one or a
        few query rows per call, for which the plain matmul/softmax is cheaper than a generic
        `dot_product_attention` with a mask). The projections stay separate here: concatenating the kernels at
        every step would cost more than it saves."""
        # New [batch, T, heads, dim] -> [batch, heads, T, dim] (a bitcast for the usual single token), written
        # at `cache_index`.
        def write(cached, new):
            new = ops.cast(ops.transpose(new, (0, 2, 1, 3)), cached.dtype)
            return ops.slice_update(cached, [0, 0, cache_index, 0], new)

        cached_keys, cached_values = write(cache[0], keys), write(cache[1], values)
        queries = queries * ops.cast(1.0 / math.sqrt(self.key_dim), queries.dtype)
        scores = ops.einsum("bqhd,bhkd->bhqk", queries, ops.cast(cached_keys, queries.dtype))
        scores = ops.cast(scores, "float32")
        # The causal mask shifted by the cache index also hides the cache slots not written yet.
        mask = attention_mask_from(
            ops.shape(queries)[1], ops.shape(cached_keys)[2], query_offset=cache_index,
            padding_mask=padding_mask, causal=True,
        )
        scores = ops.where(ops.expand_dims(mask, axis=1), scores, _MASKED_SCORE)
        # The softmax spelled out: XLA on a CPU fuses these into the surrounding loops, whereas `ops.softmax`
        # becomes a oneDNN call whose fixed cost dominates a [batch, heads, 1, positions] input.
        exponentials = ops.exp(scores - ops.max(scores, axis=-1, keepdims=True))
        probabilities = exponentials / ops.sum(exponentials, axis=-1, keepdims=True)
        probabilities = ops.cast(probabilities, queries.dtype)
        attended = ops.einsum("bhqk,bhkd->bqhd", probabilities, ops.cast(cached_values, queries.dtype))
        return self.output_dense(attended), (cached_keys, cached_values)

    def _can_fuse_projections(self):
        """Whether self-attention's query/key/value projections can run as one matmul: not when a projection has
        LoRA or quantized weights (then each runs its own `EinsumDense`)."""
        denses = (self.query_dense, self.key_dense, self.value_dense)
        return self.value_dim == self.key_dim and not any(
            getattr(dense, "lora_enabled", False) or getattr(dense, "quantization_mode", None)
            for dense in denses
        )

    def _qkv_weights(self):
        """The query, key and value kernels and biases (None without biases) in the compute dtype, for
        `self_attention`'s single matmul over the concatenated kernels. The variables stay the three
        projections' own, so saved weights and copies to and from `keras.layers.MultiHeadAttention` are
        unchanged."""
        denses = (self.query_dense, self.key_dense, self.value_dense)
        kernels = tuple(ops.cast(dense.kernel, self.compute_dtype) for dense in denses)
        biases = tuple(ops.cast(dense.bias, self.compute_dtype) for dense in denses) if self.use_bias else None
        return kernels, biases

    def _explicit_attention(self, queries, keys, values, mask, scale, training):
        """Softmax attention with the probabilities materialized (needed for dropout on them)."""
        queries = queries * ops.cast(scale, queries.dtype)
        scores = ops.einsum("aecd,abcd->acbe", keys, queries)  # [batch, heads, Tq, Tv]
        scores = ops.cast(scores, "float32")
        if mask is not None:
            scores = ops.where(ops.expand_dims(mask, axis=1), scores, _MASKED_SCORE)
        probabilities = ops.cast(ops.softmax(scores, axis=-1), values.dtype)
        probabilities = self.probability_dropout(probabilities, training=training)
        return ops.einsum("acbe,aecd->abcd", probabilities, values)  # [batch, Tq, heads, value_dim]

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "key_dim": self.key_dim,
                "value_dim": self.value_dim,
                "output_dim": self.output_dim,
                "dropout": self.dropout,
                "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            }
        )
        return config
