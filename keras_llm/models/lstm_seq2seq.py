"""The classic recurrent encoder-decoder with attention (Sutskever et al., 2014; Luong et al., 2015)."""
import keras
from keras import ops

from keras_llm.layers.recurrent_stack import RecurrentStack
from keras_llm.layers.rnn_attention import RNNAttention
from keras_llm.special_tokens import PAD_ID


@keras.saving.register_keras_serializable(package="keras_llm")
class LSTMSeq2Seq(keras.Model):
    """`{"encoder_inputs": [batch, S], "decoder_inputs": [batch, T]}` -> logits `[batch, T, target_vocab]`.

    Encoder: source embedding -> `RecurrentStack` (padding steps, id 0, leave the state unchanged, so the
    final state is the one after each row's last real token). Decoder: target embedding -> a `RecurrentStack`
    of the same shape, started from the encoder's final state -> `RNNAttention` over the encoder outputs ->
    Luong's attentional layer `tanh(W [context; h_t])` -> dropout -> logits (float32). The inputs are the
    batches of `keras_llm.data.seq2seq_dataset`.

    Step-wise decoding: `encoder_outputs, encoder_mask, state = model.encode(source_ids)`, then
    `logits, state = model.call_with_state(ids, state, encoder_outputs, encoder_mask)` for one or more target
    tokens at a time. The state is `[batch, num_layers, num_states, hidden_dim]` (`num_states` = 2 for LSTM:
    `h`, `c`; 1 for GRU / SimpleRNN); `init_state(batch)` gives a zero state.

    Args:
        source_vocabulary_size: number of source token ids.
        target_vocabulary_size: number of target token ids; defaults to `source_vocabulary_size`.
        cell: `"lstm"`, `"gru"` or `"rnn"`.
        num_layers: recurrent layers in the encoder and in the decoder.
        hidden_dim: width of every recurrent layer and of the attentional layer.
        embedding_dim: width of both embeddings; defaults to `hidden_dim`.
        attention: `"luong"` (multiplicative, `h_t^T W h_s`) or `"bahdanau"` (additive) scores.
        dropout: dropout on the embeddings, between recurrent layers and before the logits.
        **kwargs: base `keras.Model` arguments (`name`, `dtype`).

    Example:
    >>> model = LSTMSeq2Seq(50, 60, num_layers=1, hidden_dim=16)
    >>> inputs = {"encoder_inputs": keras.ops.ones((2, 7), "int32"),
    ...           "decoder_inputs": keras.ops.ones((2, 5), "int32")}
    >>> tuple(model(inputs).shape)
    (2, 5, 60)
    >>> outputs, mask, state = model.encode(inputs["encoder_inputs"])
    >>> logits, state = model.call_with_state(keras.ops.ones((2, 1), "int32"), state, outputs, mask)
    >>> tuple(logits.shape), tuple(state.shape)
    ((2, 1, 60), (2, 1, 2, 16))
    """

    def __init__(
        self,
        source_vocabulary_size,
        target_vocabulary_size=None,
        cell="lstm",
        num_layers=2,
        hidden_dim=256,
        embedding_dim=None,
        attention="luong",
        dropout=0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.source_vocabulary_size = int(source_vocabulary_size)
        self.target_vocabulary_size = int(target_vocabulary_size or source_vocabulary_size)
        self.cell = cell
        self.num_layers = int(num_layers)
        self.hidden_dim = int(hidden_dim)
        self.embedding_dim = int(embedding_dim) if embedding_dim is not None else self.hidden_dim
        self.attention = attention
        self.dropout = float(dropout)

        policy = self.dtype_policy
        self.source_embedding = keras.layers.Embedding(
            self.source_vocabulary_size, self.embedding_dim, dtype=policy, name="source_embedding"
        )
        self.target_embedding = keras.layers.Embedding(
            self.target_vocabulary_size, self.embedding_dim, dtype=policy, name="target_embedding"
        )
        self.embedding_dropout = keras.layers.Dropout(dropout, dtype=policy, name="embedding_dropout")
        self.encoder = RecurrentStack(
            cell, hidden_dim, num_layers, dropout=dropout, return_state=True, dtype=policy, name="encoder"
        )
        self.decoder = RecurrentStack(
            cell, hidden_dim, num_layers, dropout=dropout, return_state=True, dtype=policy, name="decoder"
        )
        self.attention_layer = RNNAttention(attention, dtype=policy, name="attention")
        self.attentional_dense = keras.layers.Dense(
            hidden_dim, activation="tanh", use_bias=False, dtype=policy, name="attentional_dense"
        )
        self.output_dropout = keras.layers.Dropout(dropout, dtype=policy, name="output_dropout")
        self.lm_head = keras.layers.Dense(self.target_vocabulary_size, dtype=policy, name="lm_head")

    @property
    def num_states(self):
        return self.decoder.num_states

    def build(self, input_shape=None):
        source_shape = target_shape = (None, None)
        if isinstance(input_shape, dict):
            source_shape = tuple(input_shape.get("encoder_inputs", source_shape))
            target_shape = tuple(input_shape.get("decoder_inputs", target_shape))
        hidden = target_shape + (self.hidden_dim,)
        sublayers = [
            (self.source_embedding, source_shape),
            (self.target_embedding, target_shape),
            (self.encoder, source_shape + (self.embedding_dim,)),
            (self.decoder, target_shape + (self.embedding_dim,)),
            (self.attentional_dense, target_shape + (2 * self.hidden_dim,)),
            (self.lm_head, hidden),
        ]
        for layer, shape in sublayers:
            if not layer.built:
                layer.build(shape)
        if not self.attention_layer.built:
            self.attention_layer.build(hidden, source_shape + (self.hidden_dim,))

    def init_state(self, batch_size):
        """A zero decoder state `[batch_size, num_layers, num_states, hidden_dim]`."""
        shape = (batch_size, self.num_layers, self.num_states, self.hidden_dim)
        return ops.zeros(shape, dtype=self.compute_dtype)

    def encode(self, encoder_inputs, training=False):
        """Runs the encoder over source ids `[batch, S]` (padded with 0 at the end).

        Returns:
            `(encoder_outputs [batch, S, hidden_dim], encoder_mask [batch, S] bool, final_state)`; the final
            state is the decoder's initial state.
        """
        if not self.built:
            self.build()
        mask = ops.not_equal(encoder_inputs, PAD_ID)
        x = self.embedding_dropout(self.source_embedding(encoder_inputs), training=training)
        outputs, state = self.encoder(x, mask=mask, training=training)
        return outputs, mask, state

    def call_with_state(self, decoder_ids, state, encoder_outputs, encoder_mask=None, training=False):
        """Decodes target tokens `[batch, T]` from `state`.

        Args:
            decoder_ids: int target ids `[batch, T]` (`<bos>` first at the start of a sequence).
            state: `[batch, num_layers, num_states, hidden_dim]`, from `encode` or the previous call.
            encoder_outputs: `[batch, S, hidden_dim]` from `encode`.
            encoder_mask: `[batch, S]` from `encode` (True for real source tokens).
            training: whether dropout is active.

        Returns:
            `(logits [batch, T, target_vocabulary_size], new_state)`.
        """
        if not self.built:
            self.build()
        x = self.embedding_dropout(self.target_embedding(decoder_ids), training=training)
        hidden, state = self.decoder(x, initial_state=state, training=training)
        context = self.attention_layer(hidden, ops.cast(encoder_outputs, hidden.dtype), memory_mask=encoder_mask)
        attentional = self.attentional_dense(ops.concatenate([context, hidden], axis=-1))
        logits = self.lm_head(self.output_dropout(attentional, training=training))
        return ops.cast(logits, "float32"), state

    def call(self, inputs, training=None):
        encoder_outputs, encoder_mask, state = self.encode(inputs["encoder_inputs"], training=training)
        logits, _ = self.call_with_state(
            inputs["decoder_inputs"], state, encoder_outputs, encoder_mask, training=training
        )
        return logits

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "source_vocabulary_size": self.source_vocabulary_size,
                "target_vocabulary_size": self.target_vocabulary_size,
                "cell": self.cell,
                "num_layers": self.num_layers,
                "hidden_dim": self.hidden_dim,
                "embedding_dim": self.embedding_dim,
                "attention": self.attention,
                "dropout": self.dropout,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)
