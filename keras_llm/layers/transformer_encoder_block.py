"""A bidirectional transformer block: self-attention then feed-forward, each with a residual."""
import keras

from keras_llm.layers.activations import get_activation
from keras_llm.layers.feed_forward import FeedForward
from keras_llm.layers.layer_normalization import LayerNormalization
from keras_llm.layers.multi_head_attention import MultiHeadAttention


@keras.saving.register_keras_serializable(package="keras_llm")
class TransformerEncoderBlock(keras.layers.Layer):
    """Self-attention (no causal mask) and a feed-forward network, pre-LN or post-LN.

    Our own block rather than `keras_hub.layers.TransformerEncoder` because keras-hub's import pulls in
    tensorflow/tensorflow-text, and because it shares our attention layer with `TransformerDecoderBlock`.

    With `norm_first=True` (pre-LN, GPT-2 style) each sublayer computes `x + dropout(f(norm(x)))`; with
    `norm_first=False` (post-LN, original Transformer / BERT) it computes `norm(x + dropout(f(x)))`.

    Args:
        num_heads: number of attention heads; the input width must be divisible by it.
        intermediate_dim: hidden width of the feed-forward network.
        dropout: dropout rate on the attention probabilities and on each residual branch.
        activation: feed-forward activation.
        layer_norm_epsilon: epsilon of the layer normalizations.
        norm_first: pre-LN (True) or post-LN (False).
        kernel_initializer: initializer of all kernels.
        **kwargs: base `keras.layers.Layer` arguments.

    Call args:
        inputs: `[batch, T, dim]`.
        padding_mask: optional `[batch, T]`, True/1 for real tokens.
        attention_mask: optional `[batch, T, T]`, True where attention is allowed.
        training: whether dropout is active.

    Example:
    >>> block = TransformerEncoderBlock(num_heads=2, intermediate_dim=32)
    >>> tuple(block(keras.ops.ones((2, 5, 8)), padding_mask=keras.ops.ones((2, 5))).shape)
    (2, 5, 8)
    """

    def __init__(
        self,
        num_heads,
        intermediate_dim,
        dropout=0.0,
        activation="gelu",
        layer_norm_epsilon=1e-5,
        norm_first=True,
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
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, input_shape):
        dim = input_shape[-1]
        if dim % self.num_heads:
            raise ValueError(f"Input width {dim} is not divisible by num_heads={self.num_heads}.")
        policy = self.dtype_policy
        self.self_attention = MultiHeadAttention(
            self.num_heads,
            dim // self.num_heads,
            dropout=self.dropout,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            dtype=policy,
            name="self_attention",
        )
        self.self_attention.build(input_shape, input_shape)
        self.self_attention_norm = LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=policy, name="self_attention_norm"
        )
        self.self_attention_norm.build(input_shape)
        self.feed_forward = FeedForward(
            self.intermediate_dim,
            activation=self.activation,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            dtype=policy,
            name="feed_forward",
        )
        self.feed_forward.build(input_shape)
        self.feed_forward_norm = LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=policy, name="feed_forward_norm"
        )
        self.feed_forward_norm.build(input_shape)
        self.residual_dropout = keras.layers.Dropout(self.dropout, dtype=policy)

    def call(self, inputs, padding_mask=None, attention_mask=None, training=None):
        def attend(x):
            return self.self_attention(
                x, padding_mask=padding_mask, attention_mask=attention_mask, training=training
            )

        x = self._residual(inputs, attend, self.self_attention_norm, training)
        return self._residual(x, self.feed_forward, self.feed_forward_norm, training)

    def _residual(self, x, sublayer, norm, training):
        if self.norm_first:
            return x + self.residual_dropout(sublayer(norm(x)), training=training)
        return norm(x + self.residual_dropout(sublayer(x), training=training))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

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
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            }
        )
        return config
