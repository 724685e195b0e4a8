"""An encoder-decoder transformer (Vaswani et al., 2017) for translation-style tasks."""
import keras
from keras import ops

from keras_llm.layers.activations import get_activation
from keras_llm.layers.layer_normalization import LayerNormalization
from keras_llm.layers.token_and_position_embedding import TokenAndPositionEmbedding
from keras_llm.layers.transformer_decoder_block import TransformerDecoderBlock
from keras_llm.layers.transformer_encoder_block import TransformerEncoderBlock
from keras_llm.special_tokens import PAD_ID


@keras.saving.register_keras_serializable(package="keras_llm")
class Seq2SeqTransformer(keras.Model):
    """`{"encoder_inputs": [batch, S], "decoder_inputs": [batch, T]}` -> logits `[batch, T, target_vocab]`.

    The encoder embeds the source ids (token + position), runs `num_encoder_layers` bidirectional blocks with
    source padding (id 0) masked out, and the decoder runs `num_decoder_layers` causal blocks that also
    cross-attend to the encoder output. This is the batch layout of `keras_llm.data.seq2seq_dataset`
    (`decoder_inputs = <bos> + target`, targets `= target + <eos>`), so `fit` needs no adapter. Logits are
    float32 also under mixed precision.

    Decoding runs the encoder once (`encode`) and then the decoder one token at a time with a key/value
    cache, per decoder layer a `(keys, values)` pair of `[batch, num_heads, max_length, hidden_dim // num_heads]`
    tensors (`init_cache`, `call_with_cache`); `keras_llm.generation.seq2seq_decoding.translate_ids` does this.

    Args:
        source_vocabulary_size: number of source token ids.
        target_vocabulary_size: number of target token ids; defaults to `source_vocabulary_size`.
        num_encoder_layers: encoder blocks.
        num_decoder_layers: decoder blocks.
        hidden_dim: model width.
        num_heads: attention heads; must divide `hidden_dim`.
        intermediate_dim: feed-forward hidden width.
        max_source_length: longest source sequence (learned positions).
        max_target_length: longest target sequence, decoder input included (learned positions).
        dropout: dropout on embeddings, attention probabilities and residual branches.
        position: `"learned"` or `"sinusoidal"` position embeddings.
        norm_first: pre-LN (True) or post-LN (False, the original Transformer) blocks.
        tie_embeddings: share the target embedding table with the output projection.
        activation: feed-forward activation.
        layer_norm_epsilon: epsilon of the layer normalizations.
        **kwargs: base `keras.Model` arguments (`name`, `dtype`).

    Example:
    >>> model = Seq2SeqTransformer(50, 60, num_encoder_layers=1, num_decoder_layers=1, hidden_dim=16,
    ...                            num_heads=2, intermediate_dim=32, max_source_length=8, max_target_length=8)
    >>> inputs = {"encoder_inputs": keras.ops.ones((2, 7), "int32"),
    ...           "decoder_inputs": keras.ops.ones((2, 5), "int32")}
    >>> tuple(model(inputs).shape)
    (2, 5, 60)
    """

    def __init__(
        self,
        source_vocabulary_size,
        target_vocabulary_size=None,
        num_encoder_layers=3,
        num_decoder_layers=3,
        hidden_dim=256,
        num_heads=4,
        intermediate_dim=1024,
        max_source_length=128,
        max_target_length=128,
        dropout=0.0,
        position="learned",
        norm_first=True,
        tie_embeddings=True,
        activation="gelu",
        layer_norm_epsilon=1e-5,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if hidden_dim % num_heads:
            raise ValueError(f"hidden_dim={hidden_dim} is not divisible by num_heads={num_heads}.")
        self.source_vocabulary_size = int(source_vocabulary_size)
        self.target_vocabulary_size = int(target_vocabulary_size or source_vocabulary_size)
        self.num_encoder_layers = int(num_encoder_layers)
        self.num_decoder_layers = int(num_decoder_layers)
        self.hidden_dim = int(hidden_dim)
        self.num_heads = int(num_heads)
        self.intermediate_dim = int(intermediate_dim)
        self.max_source_length = int(max_source_length)
        self.max_target_length = int(max_target_length)
        self.dropout = float(dropout)
        self.position = position
        self.norm_first = bool(norm_first)
        self.tie_embeddings = bool(tie_embeddings)
        self.activation = keras.activations.serialize(get_activation(activation))
        self.layer_norm_epsilon = float(layer_norm_epsilon)

        policy = self.dtype_policy
        block_args = dict(
            dropout=dropout, activation=activation, layer_norm_epsilon=layer_norm_epsilon, norm_first=norm_first,
            dtype=policy,
        )
        self.source_embedding = TokenAndPositionEmbedding(
            self.source_vocabulary_size, max_source_length, hidden_dim, position=position, dtype=policy,
            name="source_embedding",
        )
        self.target_embedding = TokenAndPositionEmbedding(
            self.target_vocabulary_size, max_target_length, hidden_dim, position=position, dtype=policy,
            name="target_embedding",
        )
        self.embedding_dropout = keras.layers.Dropout(dropout, dtype=policy, name="embedding_dropout")
        self.encoder_blocks = [
            TransformerEncoderBlock(num_heads, intermediate_dim, name=f"encoder_block_{i}", **block_args)
            for i in range(num_encoder_layers)
        ]
        self.decoder_blocks = [
            TransformerDecoderBlock(
                num_heads, intermediate_dim, use_cross_attention=True, name=f"decoder_block_{i}", **block_args
            )
            for i in range(num_decoder_layers)
        ]
        # Pre-LN stacks leave their residual streams unnormalized: one final norm per stack.
        self.encoder_norm = self.decoder_norm = None
        if norm_first:
            self.encoder_norm = LayerNormalization(
                epsilon=layer_norm_epsilon, dtype=policy, name="encoder_norm"
            )
            self.decoder_norm = LayerNormalization(
                epsilon=layer_norm_epsilon, dtype=policy, name="decoder_norm"
            )
        self.lm_head = None
        if not tie_embeddings:
            self.lm_head = keras.layers.Dense(
                self.target_vocabulary_size, use_bias=False, dtype=policy, name="lm_head"
            )

    @property
    def head_dim(self):
        return self.hidden_dim // self.num_heads

    def build(self, input_shape=None):
        source_shape = target_shape = (None, None)
        if isinstance(input_shape, dict):
            source_shape = tuple(input_shape.get("encoder_inputs", source_shape))
            target_shape = tuple(input_shape.get("decoder_inputs", target_shape))
        source_hidden = source_shape + (self.hidden_dim,)
        target_hidden = target_shape + (self.hidden_dim,)
        if not self.source_embedding.built:
            self.source_embedding.build(source_shape)
        if not self.target_embedding.built:
            self.target_embedding.build(target_shape)
        for block in self.encoder_blocks:
            if not block.built:
                block.build(source_hidden)
        for block in self.decoder_blocks:
            if not block.built:
                block.build(target_hidden, source_hidden)
        for layer, shape in ((self.encoder_norm, source_hidden), (self.decoder_norm, target_hidden),
                             (self.lm_head, target_hidden)):
            if layer is not None and not layer.built:
                layer.build(shape)

    def encode(self, encoder_inputs, training=False):
        """Runs the encoder.

        Args:
            encoder_inputs: int source ids `[batch, S]`, padded with 0.
            training: whether dropout is active.

        Returns:
            `(encoder_outputs [batch, S, hidden_dim], encoder_padding_mask [batch, S] bool)`.
        """
        if not self.built:
            self.build()
        padding_mask = ops.not_equal(encoder_inputs, PAD_ID)
        x = self.embedding_dropout(self.source_embedding(encoder_inputs), training=training)
        for block in self.encoder_blocks:
            x = block(x, padding_mask=padding_mask, training=training)
        if self.encoder_norm is not None:
            x = self.encoder_norm(x)
        return x, padding_mask

    def _logits(self, hidden):
        if self.decoder_norm is not None:
            hidden = self.decoder_norm(hidden)
        if self.lm_head is not None:
            logits = self.lm_head(hidden)
        else:
            table = ops.cast(self.target_embedding.token_embeddings, hidden.dtype)
            logits = ops.matmul(hidden, ops.transpose(table))
        return ops.cast(logits, "float32")

    def call(self, inputs, training=None):
        encoder_outputs, encoder_padding_mask = self.encode(inputs["encoder_inputs"], training=training)
        x = self.embedding_dropout(self.target_embedding(inputs["decoder_inputs"]), training=training)
        for block in self.decoder_blocks:
            x = block(x, encoder_outputs, encoder_padding_mask=encoder_padding_mask, training=training)
        return self._logits(x)

    def init_cache(self, batch_size, max_length=None):
        """A zero self-attention cache: per decoder layer a `(keys, values)` pair of
        `[batch, num_heads, max_length, head_dim]` tensors.

        Args:
            batch_size: batch size of the decoding run.
            max_length: cache length (decoder positions); defaults to `max_target_length`.
        """
        max_length = self.max_target_length if max_length is None else max_length
        if not self.built:
            self.build()
        return [block.self_attention.init_cache(batch_size, max_length) for block in self.decoder_blocks]

    def call_with_cache(self, decoder_ids, cache, cache_index, encoder_outputs, encoder_padding_mask=None):
        """Decoder forward pass for new target tokens at positions `cache_index, cache_index + 1, ...`.

        Args:
            decoder_ids: `[batch, T_new]` int target ids (`<bos>` first).
            cache: the cache from `init_cache` or the previous call.
            cache_index: position of `decoder_ids[:, 0]` (int or scalar int tensor).
            encoder_outputs: `[batch, S, hidden_dim]` from `encode`.
            encoder_padding_mask: `[batch, S]` from `encode` (True for real source tokens).

        Returns:
            `(logits [batch, T_new, target_vocabulary_size], new_cache)`.
        """
        if not self.built:
            self.build()
        x = self.target_embedding(decoder_ids, start_index=cache_index)
        new_cache = []
        for block, layer_cache in zip(self.decoder_blocks, cache):
            x, layer_cache = block(
                x,
                encoder_outputs,
                encoder_padding_mask=encoder_padding_mask,
                cache=layer_cache,
                cache_index=cache_index,
                training=False,
            )
            new_cache.append(layer_cache)
        return self._logits(x), new_cache

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "source_vocabulary_size": self.source_vocabulary_size,
                "target_vocabulary_size": self.target_vocabulary_size,
                "num_encoder_layers": self.num_encoder_layers,
                "num_decoder_layers": self.num_decoder_layers,
                "hidden_dim": self.hidden_dim,
                "num_heads": self.num_heads,
                "intermediate_dim": self.intermediate_dim,
                "max_source_length": self.max_source_length,
                "max_target_length": self.max_target_length,
                "dropout": self.dropout,
                "position": self.position,
                "norm_first": self.norm_first,
                "tie_embeddings": self.tie_embeddings,
                "activation": self.activation,
                "layer_norm_epsilon": self.layer_norm_epsilon,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)
