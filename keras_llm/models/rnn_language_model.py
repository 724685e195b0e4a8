"""A recurrent (SimpleRNN / LSTM / GRU) language model in the style of Zaremba et al. (2014)."""
import keras
from keras import ops

from keras_llm.layers.flat_positions import on_flat_positions
from keras_llm.layers.recurrent_stack import RecurrentStack


@keras.saving.register_keras_serializable(package="keras_llm")
class RNNLanguageModel(keras.Model):
    """Token ids `[batch, T]` -> next-token logits `[batch, T, vocabulary_size]` through stacked RNNs.

    embedding -> dropout -> `RecurrentStack` (dropout between layers) -> dropout -> logits. With
    `tie_embeddings=True` the logits use the embedding table (Press & Wolf, 2017); if `embedding_dim` differs
    from `hidden_dim`, a bias-free projection maps the RNN output to `embedding_dim` first; `output_bias=True`
    adds a per-token bias to those tied logits (the untied head always has one). `output_bias_variable` is
    that bias: `keras_llm.training` sets it to the corpus's log unigram frequencies before training, so the
    model starts as a unigram model instead of a uniform one (with Adam each bias moves about one learning
    rate per step, so learning those frequencies from zero took the 2 x 200 LSTM hundreds of steps).

    `call_with_state(token_ids, state)` continues from a state `[batch, num_layers, num_states, hidden_dim]`
    (`num_states` is 2 for LSTM, 1 otherwise) and returns the logits and the final state: token-by-token
    decoding and truncated backpropagation through time both use it. Logits are float32.

    Args:
        vocabulary_size: number of token ids.
        cell: `"lstm"`, `"gru"` or `"rnn"`.
        num_layers: number of recurrent layers.
        hidden_dim: width of each recurrent layer.
        embedding_dim: token embedding width; defaults to `hidden_dim`.
        dropout: dropout on the embeddings, between recurrent layers and before the logits.
        tie_embeddings: share the embedding table with the output projection.
        output_bias: with tied embeddings, add a learned per-token bias to the logits.
        **kwargs: base `keras.Model` arguments (`name`, `dtype`).

    Example:
    >>> model = RNNLanguageModel(100, cell="gru", num_layers=2, hidden_dim=16)
    >>> tuple(model(keras.ops.ones((2, 7), "int32")).shape)
    (2, 7, 100)
    >>> logits, state = model.call_with_state(keras.ops.ones((2, 1), "int32"), model.init_state(2))
    >>> tuple(state.shape)
    (2, 2, 1, 16)
    """

    def __init__(
        self,
        vocabulary_size,
        cell="lstm",
        num_layers=2,
        hidden_dim=200,
        embedding_dim=None,
        dropout=0.0,
        tie_embeddings=False,
        output_bias=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocabulary_size = int(vocabulary_size)
        self.cell = cell
        self.num_layers = int(num_layers)
        self.hidden_dim = int(hidden_dim)
        self.embedding_dim = int(embedding_dim) if embedding_dim is not None else self.hidden_dim
        self.dropout = float(dropout)
        self.tie_embeddings = bool(tie_embeddings)
        self.output_bias = bool(output_bias)
        self.tied_bias = None

        policy = self.dtype_policy
        self.embedding = keras.layers.Embedding(
            vocabulary_size, self.embedding_dim, dtype=policy, name="embedding"
        )
        self.embedding_dropout = keras.layers.Dropout(dropout, dtype=policy, name="embedding_dropout")
        self.recurrent = RecurrentStack(
            cell, hidden_dim, num_layers, dropout=dropout, return_state=True, dtype=policy, name="recurrent"
        )
        self.output_dropout = keras.layers.Dropout(dropout, dtype=policy, name="output_dropout")
        self.projection = None
        self.lm_head = None
        if tie_embeddings and self.embedding_dim != self.hidden_dim:
            self.projection = keras.layers.Dense(
                self.embedding_dim, use_bias=False, dtype=policy, name="projection"
            )
        if not tie_embeddings:
            self.lm_head = keras.layers.Dense(vocabulary_size, dtype=policy, name="lm_head")

    @property
    def num_states(self):
        return self.recurrent.num_states

    def build(self, input_shape=(None, None)):
        input_shape = tuple(input_shape)
        hidden_shape = input_shape + (self.hidden_dim,)
        sublayers = [(self.embedding, input_shape), (self.recurrent, input_shape + (self.embedding_dim,))]
        sublayers += [(layer, hidden_shape) for layer in (self.projection, self.lm_head) if layer is not None]
        for layer, shape in sublayers:
            if not layer.built:  # e.g. already built by `call_with_state` on a fresh model
                layer.build(shape)
        if self.tie_embeddings and self.output_bias and self.tied_bias is None:
            self.tied_bias = self.add_weight(shape=(self.vocabulary_size,), initializer="zeros", name="output_bias")

    @property
    def output_bias_variable(self):
        """The logits' per-token bias variable (`[vocabulary_size]`), or None when the model has none."""
        if not self.built:
            self.build()
        return self.lm_head.bias if self.lm_head is not None else self.tied_bias

    def init_state(self, batch_size):
        """A zero state `[batch_size, num_layers, num_states, hidden_dim]`."""
        shape = (batch_size, self.num_layers, self.num_states, self.hidden_dim)
        return ops.zeros(shape, dtype=self.compute_dtype)

    def _forward(self, token_ids, state, training):
        x = self.embedding_dropout(self.embedding(token_ids), training=training)
        x, state = self.recurrent(x, initial_state=state, training=training)
        x = self.output_dropout(x, training=training)
        # Output matmuls over the flattened positions (`on_flat_positions`): on TensorFlow a Dense on
        # `[batch, T, dim]` materializes its kernel gradient per batch row and sums it.
        if self.lm_head is not None:
            logits = on_flat_positions(self.lm_head, x)
        else:
            table = ops.cast(self.embedding.embeddings, x.dtype)
            if self.projection is not None:
                x = on_flat_positions(self.projection, x)
            logits = on_flat_positions(lambda h: ops.matmul(h, ops.transpose(table)), x)
            if self.tied_bias is not None:
                logits = logits + ops.cast(self.tied_bias, logits.dtype)
        return ops.cast(logits, "float32"), state

    def call(self, token_ids, training=None):
        logits, _ = self._forward(token_ids, None, training)
        return logits

    def hidden_states(self, token_ids, padding_mask=None, training=None):
        """The top recurrent layer's outputs `[batch, T, hidden_dim]` (e.g. for a ULMFiT-style classifier).

        `padding_mask` (`[batch, T]`, True/1 = real token, right padding) keeps padding steps from changing
        the state, so the output at each row's last real token summarizes exactly that row's tokens.
        """
        if not self.built:
            self.build()
        mask = None if padding_mask is None else ops.cast(padding_mask, "bool")
        x = self.embedding_dropout(self.embedding(token_ids), training=training)
        x, _ = self.recurrent(x, mask=mask, training=training)
        return x

    def call_with_state(self, token_ids, state=None, training=False):
        """Continues the sequence from `state` (zeros when None).

        Args:
            token_ids: `[batch, T]` int ids.
            state: `[batch, num_layers, num_states, hidden_dim]` from `init_state` or a previous call.
            training: whether dropout is active (True for truncated BPTT training steps).

        Returns:
            `(logits [batch, T, vocabulary_size], final_state)`.
        """
        if not self.built:
            self.build()
        return self._forward(token_ids, state, training)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "cell": self.cell,
                "num_layers": self.num_layers,
                "hidden_dim": self.hidden_dim,
                "embedding_dim": self.embedding_dim,
                "dropout": self.dropout,
                "tie_embeddings": self.tie_embeddings,
                "output_bias": self.output_bias,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)
