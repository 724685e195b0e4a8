"""Token embedding plus a learned or sinusoidal position embedding.

Why our own layer rather than keras-hub's `TokenAndPositionEmbedding` / `SinePositionEncoding`: `import
keras_hub` pulls in tensorflow and tensorflow-text (measured with keras-hub 0.25 and 0.32), and
`keras_llm.layers` must stay importable and runnable without TensorFlow (JAX training). keras-hub also splits
learned and sinusoidal positions into two layers with different call contracts; here one layer covers both,
and `start_index` works the same for both so the decoding loop needs no special case.
"""
import math

import keras
from keras import ops

POSITION_KINDS = ("learned", "sinusoidal")


def sinusoidal_position_encoding(positions, dim, max_wavelength=10000.0):
    """Fixed sine/cosine encodings (Vaswani et al., 2017) for integer `positions`.

    Args:
        positions: int tensor of shape `[T]` (any integer positions, not only `0..T-1`).
        dim: encoding width.
        max_wavelength: the longest wavelength, 10000 in the paper.

    Returns:
        float32 tensor `[T, dim]`: the first half of the channels are sines, the second half cosines.

    Example:
    >>> tuple(sinusoidal_position_encoding(keras.ops.arange(4), 8).shape)
    (4, 8)
    """
    half = (dim + 1) // 2
    exponents = ops.arange(half, dtype="float32") * (2.0 / dim)
    inverse_frequencies = ops.exp(-math.log(max_wavelength) * exponents)
    angles = ops.cast(positions, "float32")[:, None] * inverse_frequencies[None, :]
    encoding = ops.concatenate([ops.sin(angles), ops.cos(angles)], axis=-1)
    return encoding[:, :dim]


@keras.saving.register_keras_serializable(package="keras_llm")
class TokenAndPositionEmbedding(keras.layers.Layer):
    """Embeds token ids and adds the embedding of each token's position.

    Args:
        vocabulary_size: number of token ids.
        max_sequence_length: number of learned positions (the longest sequence the layer accepts when
            `position="learned"`; ignored by sinusoidal encodings, which work for any position).
        embedding_dim: width of the embeddings.
        position: `"learned"` (a trainable table, GPT-2) or `"sinusoidal"` (fixed, Vaswani et al.).
        embeddings_initializer: initializer of the token (and learned position) tables; defaults to
            `RandomNormal(stddev=0.02)` as in GPT-2.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call args:
        token_ids: int tensor `[batch, T]`.
        start_index: position of the first token (int or scalar int tensor); incremental decoding passes the
            index of the token being fed so that token `t` gets position `t`.

    Returns:
        float tensor `[batch, T, embedding_dim]`.

    Example:
    >>> layer = TokenAndPositionEmbedding(100, 16, 8)
    >>> tuple(layer(keras.ops.ones((2, 5), "int32")).shape)
    (2, 5, 8)
    >>> tuple(layer(keras.ops.ones((2, 1), "int32"), start_index=7).shape)
    (2, 1, 8)
    """

    def __init__(
        self,
        vocabulary_size,
        max_sequence_length,
        embedding_dim,
        position="learned",
        embeddings_initializer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if position not in POSITION_KINDS:
            raise ValueError(f"position must be one of {POSITION_KINDS}, got {position!r}")
        self.vocabulary_size = int(vocabulary_size)
        self.max_sequence_length = int(max_sequence_length)
        self.embedding_dim = int(embedding_dim)
        self.position = position
        if embeddings_initializer is None:
            embeddings_initializer = keras.initializers.RandomNormal(stddev=0.02)
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer)

    def _initializer(self):
        # A fresh copy per table: one unseeded initializer object reused would give identical tables.
        initializer = self.embeddings_initializer
        return initializer.__class__.from_config(initializer.get_config())

    def build(self, input_shape):
        self.token_embedding = keras.layers.Embedding(
            self.vocabulary_size,
            self.embedding_dim,
            embeddings_initializer=self._initializer(),
            dtype=self.dtype_policy,
            name="token_embedding",
        )
        self.token_embedding.build(input_shape)
        self.position_embedding = None
        if self.position == "learned":
            self.position_embedding = keras.layers.Embedding(
                self.max_sequence_length,
                self.embedding_dim,
                embeddings_initializer=self._initializer(),
                dtype=self.dtype_policy,
                name="position_embedding",
            )
            self.position_embedding.build((self.max_sequence_length,))

    @property
    def token_embeddings(self):
        """The `[vocabulary_size, embedding_dim]` token table (for tied output projections)."""
        return self.token_embedding.embeddings

    def call(self, token_ids, start_index=0):
        return self.add_positions(self.token_embedding(token_ids), start_index=start_index)

    def add_positions(self, embeddings, start_index=0):
        """Adds the position embeddings to `embeddings` `[batch, T, embedding_dim]` (e.g. token embeddings
        with learned soft-prompt vectors prepended, see `keras_llm.models.PromptTuningLM`)."""
        length = ops.shape(embeddings)[-2]
        positions = ops.arange(length, dtype="int32") + ops.cast(start_index, "int32")
        if self.position == "learned":
            embedded_positions = self.position_embedding(positions)
        else:
            embedded_positions = sinusoidal_position_encoding(positions, self.embedding_dim)
        return embeddings + ops.cast(embedded_positions, embeddings.dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.embedding_dim,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "max_sequence_length": self.max_sequence_length,
                "embedding_dim": self.embedding_dim,
                "position": self.position,
                "embeddings_initializer": keras.initializers.serialize(self.embeddings_initializer),
            }
        )
        return config
