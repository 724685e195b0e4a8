"""A causal transformer block: masked self-attention, optional cross-attention, feed-forward."""
import keras

from keras_llm.layers.activations import get_activation
from keras_llm.layers.feed_forward import FeedForward
from keras_llm.layers.layer_normalization import LayerNormalization
from keras_llm.layers.multi_head_attention import MultiHeadAttention


@keras.saving.register_keras_serializable(package="keras_llm")
class TransformerDecoderBlock(keras.layers.Layer):
    """Causal self-attention, optional cross-attention over an encoder's output, and a feed-forward network.

    Our own block rather than `keras_hub.layers.TransformerDecoder`: keras-hub's import pulls in
    tensorflow/tensorflow-text, and its decoding contract (a self-attention cache plus a cross-attention cache,
    masks merged from Keras implicit masks) is wider than the one-cache-in, one-cache-out step our generation
    loop and SavedModel export use.

    With `norm_first=True` (pre-LN, GPT-2) each sublayer computes `x + dropout(f(norm(x)))`; with
    `norm_first=False` (post-LN, original Transformer) `norm(x + dropout(f(x)))`.

    Args:
        num_heads: number of attention heads; the input width must be divisible by it.
        intermediate_dim: hidden width of the feed-forward network.
        dropout: dropout rate on attention probabilities and on each residual branch.
        activation: feed-forward activation.
        layer_norm_epsilon: epsilon of the layer normalizations.
        norm_first: pre-LN (True) or post-LN (False).
        use_cross_attention: whether the block attends to `encoder_sequence` (encoder-decoder models).
        kernel_initializer: initializer of all kernels.
        **kwargs: base `keras.layers.Layer` arguments.

    Call args:
        decoder_sequence: `[batch, T, dim]`.
        encoder_sequence: `[batch, S, encoder_dim]`, required when `use_cross_attention`.
        padding_mask: optional `[batch, T]` (or `[batch, max_length]` with a cache), True/1 for real tokens.
        encoder_padding_mask: optional `[batch, S]`, True/1 for real encoder tokens.
        cache: optional self-attention cache, a `(keys, values)` pair of
            `[batch, num_heads, max_length, dim // num_heads]` tensors (`self_attention.init_cache`).
        cache_index: position of the first token of `decoder_sequence` (int or scalar int tensor).
        training: whether dropout is active.

    Returns:
        `[batch, T, dim]`, or `(output, new_cache)` when `cache` is given.

    Example:
    >>> block = TransformerDecoderBlock(num_heads=2, intermediate_dim=32)
    >>> x = keras.ops.ones((2, 5, 8))
    >>> tuple(block(x).shape)
    (2, 5, 8)
    >>> y, cache = block(x[:, :1], cache=block.self_attention.init_cache(2, 5), cache_index=0)
    """

    def __init__(
        self,
        num_heads,
        intermediate_dim,
        dropout=0.0,
        activation="gelu",
        layer_norm_epsilon=1e-5,
        norm_first=True,
        use_cross_attention=False,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_heads = int(num_heads)
        self.intermediate_dim = int(intermediate_dim)
        self.dropout = float(dropout)
        self.activation = get_activation(activation)
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.norm_first = bool(norm_first)
        self.use_cross_attention = bool(use_cross_attention)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def _norm(self, name, shape):
        norm = LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy, name=name
        )
        norm.build(shape)
        return norm

    def _attention(self, name, dim):
        return MultiHeadAttention(
            self.num_heads,
            dim // self.num_heads,
            dropout=self.dropout,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            dtype=self.dtype_policy,
            name=name,
        )

    def build(self, decoder_sequence_shape, encoder_sequence_shape=None):
        shape = decoder_sequence_shape
        dim = shape[-1]
        if dim % self.num_heads:
            raise ValueError(f"Input width {dim} is not divisible by num_heads={self.num_heads}.")
        self.self_attention = self._attention("self_attention", dim)
        self.self_attention.build(shape, shape)
        self.self_attention_norm = self._norm("self_attention_norm", shape)
        self.cross_attention = None
        if self.use_cross_attention:
            # Without a recorded encoder shape (e.g. built from a bare decoder shape), assume the same width.
            encoder_shape = encoder_sequence_shape or shape
            self.cross_attention = self._attention("cross_attention", dim)
            self.cross_attention.build(shape, encoder_shape)
            self.cross_attention_norm = self._norm("cross_attention_norm", shape)
        self.feed_forward = FeedForward(
            self.intermediate_dim,
            activation=self.activation,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            dtype=self.dtype_policy,
            name="feed_forward",
        )
        self.feed_forward.build(shape)
        self.feed_forward_norm = self._norm("feed_forward_norm", shape)
        self.residual_dropout = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)

    def call(
        self,
        decoder_sequence,
        encoder_sequence=None,
        padding_mask=None,
        encoder_padding_mask=None,
        cache=None,
        cache_index=None,
        training=None,
    ):
        new_cache = None

        def self_attend(x):
            nonlocal new_cache
            if cache is None:
                return self.self_attention(
                    x, padding_mask=padding_mask, use_causal_mask=True, training=training
                )
            output, new_cache = self.self_attention(
                x, padding_mask=padding_mask, cache=cache, cache_index=cache_index, training=training
            )
            return output

        x = self._residual(decoder_sequence, self_attend, self.self_attention_norm, training)

        if self.cross_attention is not None:
            if encoder_sequence is None:
                raise ValueError("This block has use_cross_attention=True: pass `encoder_sequence`.")

            def cross_attend(x):
                return self.cross_attention(
                    x, encoder_sequence, padding_mask=encoder_padding_mask, training=training
                )

            x = self._residual(x, cross_attend, self.cross_attention_norm, training)

        x = self._residual(x, self.feed_forward, self.feed_forward_norm, training)
        if cache is not None:
            return x, new_cache
        return x

    def _residual(self, x, sublayer, norm, training):
        if self.norm_first:
            return x + self.residual_dropout(sublayer(norm(x)), training=training)
        return norm(x + self.residual_dropout(sublayer(x), training=training))

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "intermediate_dim": self.intermediate_dim,
                "dropout": self.dropout,
                "activation": keras.activations.serialize(self.activation),
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "norm_first": self.norm_first,
                "use_cross_attention": self.use_cross_attention,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            }
        )
        return config
