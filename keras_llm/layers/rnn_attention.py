"""Attention of a recurrent decoder over its encoder's outputs: Luong (multiplicative) or Bahdanau (additive)."""
import keras
from keras import ops

STYLES = ("luong", "bahdanau")
_MASKED_SCORE = -1e9


@keras.saving.register_keras_serializable(package="keras_llm")
class RNNAttention(keras.layers.Layer):
    """For each decoder output `h_t`, a softmax-weighted average of the encoder outputs `h_s` (the context).

    Scores:
    - `"luong"`: Luong et al. (2015)'s "general" score `h_t^T W h_s`;
    - `"bahdanau"`: Bahdanau et al. (2015)'s additive score `v^T tanh(W_q h_t + W_k h_s)`.
    Both score the *current* decoder output (Luong et al.'s placement), so a whole target sequence is scored
    at once during training and step-by-step decoding gives the same numbers. Padding keys get no weight.

    Not `keras.layers.Attention` / `AdditiveAttention`: those score `h_t^T h_s` without a learned `W`, and
    the additive one has no separate query/key projections, while both papers learn them.

    Args:
        style: `"luong"` or `"bahdanau"`.
        units: width of the additive score's hidden layer (`"bahdanau"`); defaults to the query width.
        **kwargs: base `keras.layers.Layer` arguments.

    Call args:
        query: decoder outputs `[batch, T, query_dim]`.
        memory: encoder outputs `[batch, S, memory_dim]`.
        memory_mask: optional `[batch, S]`, True/1 for real encoder positions.
        return_attention_weights: also return the `[batch, T, S]` weights.

    Returns:
        The context `[batch, T, memory_dim]` (and the weights when asked).

    Example:
    >>> attention = RNNAttention("bahdanau", units=8)
    >>> context = attention(keras.ops.ones((2, 3, 4)), keras.ops.ones((2, 5, 6)))
    >>> tuple(context.shape)
    (2, 3, 6)
    """

    def __init__(self, style="luong", units=None, **kwargs):
        super().__init__(**kwargs)
        if style not in STYLES:
            raise ValueError(f"style must be one of {STYLES}, got {style!r}")
        self.style = style
        self.units = None if units is None else int(units)

    def build(self, query_shape, memory_shape=None):
        memory_shape = query_shape if memory_shape is None else memory_shape
        policy = self.dtype_policy
        if self.style == "luong":
            self.query_projection = keras.layers.Dense(
                memory_shape[-1], use_bias=False, dtype=policy, name="query_projection"
            )
            self.query_projection.build(query_shape)
        else:
            units = self.units or query_shape[-1]
            self.query_projection = keras.layers.Dense(units, use_bias=False, dtype=policy, name="query_projection")
            self.query_projection.build(query_shape)
            self.memory_projection = keras.layers.Dense(units, dtype=policy, name="memory_projection")
            self.memory_projection.build(memory_shape)
            self.score_vector = self.add_weight(
                shape=(units,), initializer="glorot_uniform", dtype=self.variable_dtype, name="score_vector"
            )

    def call(self, query, memory, memory_mask=None, return_attention_weights=False):
        if self.style == "luong":
            scores = ops.einsum("btd,bsd->bts", self.query_projection(query), memory)
        else:
            queries = ops.expand_dims(self.query_projection(query), 2)  # [batch, T, 1, units]
            keys = ops.expand_dims(self.memory_projection(memory), 1)  # [batch, 1, S, units]
            # An einsum, not a Dense layer: TF 2.16's oneDNN batched matmul of a 4-D tensor by a [units, 1]
            # kernel corrupts memory for some batch sizes (seen with batch 6).
            energy = ops.tanh(queries + keys)
            scores = ops.einsum("btsu,u->bts", energy, ops.cast(self.score_vector, energy.dtype))
        scores = ops.cast(scores, "float32")
        if memory_mask is not None:
            scores = ops.where(ops.expand_dims(ops.cast(memory_mask, "bool"), 1), scores, _MASKED_SCORE)
        weights = ops.cast(ops.softmax(scores, axis=-1), memory.dtype)
        context = ops.einsum("bts,bsd->btd", weights, memory)
        if return_attention_weights:
            return context, weights
        return context

    def get_config(self):
        config = super().get_config()
        config.update({"style": self.style, "units": self.units})
        return config
