"""A BERT-style bidirectional transformer encoder (the backbone of masked-LM pretraining and classifiers)."""
import keras
from keras import ops

from keras_llm.layers.activations import get_activation
from keras_llm.layers.token_and_position_embedding import TokenAndPositionEmbedding
from keras_llm.layers.layer_normalization import LayerNormalization
from keras_llm.layers.transformer_encoder_block import TransformerEncoderBlock
from keras_llm.special_tokens import PAD_ID


def split_encoder_inputs(inputs):
    """`token_ids` or a dict `{"token_ids", "segment_ids"?, "padding_mask"?}` -> the three (None if absent).

    Example:
    >>> ids, segments, mask = split_encoder_inputs(keras.ops.ones((1, 3), "int32"))
    >>> segments is None and mask is None
    True
    """
    if isinstance(inputs, dict):
        return inputs["token_ids"], inputs.get("segment_ids"), inputs.get("padding_mask")
    return inputs, None, None


@keras.saving.register_keras_serializable(package="keras_llm")
class BertEncoder(keras.Model):
    """Token ids `[batch, T]` -> `{"sequence_output": [batch, T, hidden_dim], "pooled_output": [batch, hidden_dim]}`.

    BERT (Devlin et al., 2019): token + learned position (+ optional segment) embeddings -> layer norm ->
    dropout -> `num_layers` post-LN `TransformerEncoderBlock`s. Attention ignores padding (id 0) keys. The
    pooled output is the hidden state of the first position (`<cls>` in keras_llm's masked-LM and
    classification data), passed through a `tanh` dense layer when `use_pooler=True` (BERT's pooler).

    Args:
        vocabulary_size: number of token ids.
        num_layers: number of encoder blocks.
        hidden_dim: model width.
        num_heads: attention heads per block; must divide `hidden_dim`.
        intermediate_dim: feed-forward hidden width.
        max_sequence_length: number of learned positions.
        num_segments: size of the segment ("token type") vocabulary; 0 for no segment embeddings.
        dropout: dropout on embeddings, attention probabilities and residual branches.
        use_pooler: add BERT's `Dense(hidden_dim, tanh)` pooler on the first position.
        activation: feed-forward activation.
        layer_norm_epsilon: epsilon of the layer normalizations.
        **kwargs: base `keras.Model` arguments (`name`, `dtype`).

    Call args:
        inputs: int token ids `[batch, T]`, or a dict with `"token_ids"` and optionally `"segment_ids"`
            (`[batch, T]`; all 0 when omitted) and `"padding_mask"` (`[batch, T]`, True/1 for real tokens;
            default `token_ids != 0`).
        training: whether dropout is active.

    Example:
    >>> encoder = BertEncoder(100, num_layers=2, hidden_dim=16, num_heads=2, intermediate_dim=32,
    ...                       max_sequence_length=8)
    >>> outputs = encoder(keras.ops.ones((2, 8), "int32"))
    >>> tuple(outputs["sequence_output"].shape), tuple(outputs["pooled_output"].shape)
    ((2, 8, 16), (2, 16))
    """

    def __init__(
        self,
        vocabulary_size,
        num_layers,
        hidden_dim,
        num_heads,
        intermediate_dim,
        max_sequence_length=512,
        num_segments=0,
        dropout=0.1,
        use_pooler=True,
        activation="gelu",
        layer_norm_epsilon=1e-12,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if hidden_dim % num_heads:
            raise ValueError(f"hidden_dim={hidden_dim} is not divisible by num_heads={num_heads}.")
        self.vocabulary_size = int(vocabulary_size)
        self.num_layers = int(num_layers)
        self.hidden_dim = int(hidden_dim)
        self.num_heads = int(num_heads)
        self.intermediate_dim = int(intermediate_dim)
        self.max_sequence_length = int(max_sequence_length)
        self.num_segments = int(num_segments)
        self.dropout = float(dropout)
        self.use_pooler = bool(use_pooler)
        self.activation = keras.activations.serialize(get_activation(activation))
        self.layer_norm_epsilon = float(layer_norm_epsilon)

        policy = self.dtype_policy
        self.embedding = TokenAndPositionEmbedding(
            vocabulary_size, max_sequence_length, hidden_dim, dtype=policy, name="embedding"
        )
        self.segment_embedding = None
        if self.num_segments:
            self.segment_embedding = keras.layers.Embedding(
                self.num_segments,
                hidden_dim,
                embeddings_initializer=keras.initializers.RandomNormal(stddev=0.02),
                dtype=policy,
                name="segment_embedding",
            )
        self.embedding_norm = LayerNormalization(
            epsilon=layer_norm_epsilon, dtype=policy, name="embedding_norm"
        )
        self.embedding_dropout = keras.layers.Dropout(dropout, dtype=policy, name="embedding_dropout")
        self.blocks = [
            TransformerEncoderBlock(
                num_heads,
                intermediate_dim,
                dropout=dropout,
                activation=activation,
                layer_norm_epsilon=layer_norm_epsilon,
                norm_first=False,
                dtype=policy,
                name=f"encoder_block_{index}",
            )
            for index in range(num_layers)
        ]
        self.pooler = None
        if self.use_pooler:
            self.pooler = keras.layers.Dense(hidden_dim, activation="tanh", dtype=policy, name="pooler")

    @property
    def token_embeddings(self):
        """The `[vocabulary_size, hidden_dim]` token table (tied to the masked-LM output projection)."""
        return self.embedding.token_embeddings

    def build(self, input_shape=(None, None)):
        if isinstance(input_shape, dict):
            input_shape = input_shape["token_ids"]
        input_shape = tuple(input_shape)
        hidden_shape = input_shape + (self.hidden_dim,)
        sublayers = [(self.embedding, input_shape), (self.embedding_norm, hidden_shape)]
        sublayers += [(block, hidden_shape) for block in self.blocks]
        if self.segment_embedding is not None:
            sublayers.append((self.segment_embedding, input_shape))
        if self.pooler is not None:
            sublayers.append((self.pooler, (input_shape[0], self.hidden_dim)))
        for layer, shape in sublayers:
            if not layer.built:
                layer.build(shape)

    def call(self, inputs, training=None):
        token_ids, segment_ids, padding_mask = split_encoder_inputs(inputs)
        if padding_mask is None:
            padding_mask = ops.not_equal(token_ids, PAD_ID)
        x = self.embedding(token_ids)
        if self.segment_embedding is not None:
            if segment_ids is None:  # a single segment: every token is in segment 0
                x = x + ops.cast(self.segment_embedding.embeddings[0], x.dtype)
            else:
                x = x + self.segment_embedding(segment_ids)
        x = self.embedding_dropout(self.embedding_norm(x), training=training)
        for block in self.blocks:
            x = block(x, padding_mask=padding_mask, training=training)
        pooled = x[:, 0, :]
        if self.pooler is not None:
            pooled = self.pooler(pooled)
        return {"sequence_output": x, "pooled_output": pooled}

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "num_layers": self.num_layers,
                "hidden_dim": self.hidden_dim,
                "num_heads": self.num_heads,
                "intermediate_dim": self.intermediate_dim,
                "max_sequence_length": self.max_sequence_length,
                "num_segments": self.num_segments,
                "dropout": self.dropout,
                "use_pooler": self.use_pooler,
                "activation": self.activation,
                "layer_norm_epsilon": self.layer_norm_epsilon,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)
