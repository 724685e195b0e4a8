"""A GPT-style decoder-only transformer language model."""
import keras
from keras import ops

from keras_llm.layers.activations import get_activation
from keras_llm.layers.flat_positions import on_flat_positions
from keras_llm.layers.layer_normalization import LayerNormalization
from keras_llm.layers.token_and_position_embedding import TokenAndPositionEmbedding
from keras_llm.layers.transformer_decoder_block import TransformerDecoderBlock


@keras.saving.register_keras_serializable(package="keras_llm")
class TransformerLanguageModel(keras.Model):
    """Token ids `[batch, T]` -> next-token logits `[batch, T, vocabulary_size]`.

    embedding (token + position) -> dropout -> `num_layers` causal decoder blocks -> final layer norm (pre-LN
    only) -> logits, computed against the token embedding table when `tie_embeddings=True` (GPT-2) or by a
    separate dense layer otherwise. Logits are float32 also under a mixed-precision policy.

    For decoding, `call_with_cache` feeds one or more new tokens and a key/value cache (from `init_cache`: per
    layer a `(keys, values)` pair of `[batch, num_heads, max_length, hidden_dim // num_heads]` tensors), and
    returns the logits of the new tokens with the updated cache. Per-layer tensors rather than one stacked
    tensor: a decoding step updates each in place instead of slicing and re-stacking the whole cache.

    Args:
        vocabulary_size: number of token ids.
        num_layers: number of decoder blocks.
        hidden_dim: model width.
        num_heads: attention heads per block; must divide `hidden_dim`.
        intermediate_dim: feed-forward hidden width.
        max_sequence_length: longest sequence (and largest cache) the model supports.
        dropout: dropout on embeddings, attention probabilities and residual branches.
        tie_embeddings: share the token embedding table with the output projection.
        output_bias: add a learned per-token bias to the logits (`output_bias_variable`; `keras_llm.training`
            starts it at the corpus's log unigram frequencies). GPT-2 has none.
        position: `"learned"` or `"sinusoidal"` position embeddings.
        norm_first: pre-LN (True, GPT-2) or post-LN (False) blocks.
        activation: feed-forward activation.
        layer_norm_epsilon: epsilon of the layer normalizations.
        token_conventions: None for a keras_llm vocabulary (special tokens at ids 0-6: generation ends at
            `<eos>` and never emits the structural ones; losses ignore `<pad>` targets). For a vocabulary laid out
            otherwise (GPT-2's, from `keras_llm.models.from_pretrained`): `{"eos_id": int or None,
            "suppressed_ids": [ids never generated], "pad_id": int or None}`, which `keras_llm.generation` and
            `keras_llm.training.compile_language_model` read instead.
        **kwargs: base `keras.Model` arguments (`name`, `dtype`).

    Example:
    >>> model = TransformerLanguageModel(100, num_layers=2, hidden_dim=16, num_heads=2,
    ...                                  intermediate_dim=32, max_sequence_length=8)
    >>> tuple(model(keras.ops.ones((2, 8), "int32")).shape)
    (2, 8, 100)
    >>> cache = model.init_cache(batch_size=2)
    >>> logits, cache = model.call_with_cache(keras.ops.ones((2, 1), "int32"), cache, cache_index=0)
    >>> tuple(logits.shape)
    (2, 1, 100)
    """

    def __init__(
        self,
        vocabulary_size,
        num_layers,
        hidden_dim,
        num_heads,
        intermediate_dim,
        max_sequence_length,
        dropout=0.0,
        tie_embeddings=True,
        position="learned",
        norm_first=True,
        activation="gelu",
        layer_norm_epsilon=1e-5,
        output_bias=False,
        token_conventions=None,
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
        self.dropout = float(dropout)
        self.tie_embeddings = bool(tie_embeddings)
        self.position = position
        self.norm_first = bool(norm_first)
        self.activation = keras.activations.serialize(get_activation(activation))
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.output_bias = bool(output_bias)
        self.token_conventions = _check_token_conventions(token_conventions, self.vocabulary_size)
        self.logits_bias = None

        policy = self.dtype_policy
        self.embedding = TokenAndPositionEmbedding(
            vocabulary_size, max_sequence_length, hidden_dim, position=position, dtype=policy, name="embedding"
        )
        self.embedding_dropout = keras.layers.Dropout(dropout, dtype=policy, name="embedding_dropout")
        self.blocks = [
            TransformerDecoderBlock(
                num_heads,
                intermediate_dim,
                dropout=dropout,
                activation=activation,
                layer_norm_epsilon=layer_norm_epsilon,
                norm_first=norm_first,
                dtype=policy,
                name=f"decoder_block_{index}",
            )
            for index in range(num_layers)
        ]
        # Pre-LN blocks leave the residual stream unnormalized, so a last norm precedes the logits.
        self.final_norm = None
        if norm_first:
            self.final_norm = LayerNormalization(
                epsilon=layer_norm_epsilon, dtype=policy, name="final_norm"
            )
        self.lm_head = None
        if not tie_embeddings:
            self.lm_head = keras.layers.Dense(vocabulary_size, use_bias=False, dtype=policy, name="lm_head")

    @property
    def head_dim(self):
        return self.hidden_dim // self.num_heads

    def build(self, input_shape=(None, None)):
        input_shape = tuple(input_shape)
        hidden_shape = input_shape + (self.hidden_dim,)
        sublayers = [(self.embedding, input_shape)] + [(block, hidden_shape) for block in self.blocks]
        sublayers += [(layer, hidden_shape) for layer in (self.final_norm, self.lm_head) if layer is not None]
        for layer, shape in sublayers:
            if not layer.built:  # e.g. already built by `call_with_cache` on a fresh model
                layer.build(shape)
        if self.output_bias and self.logits_bias is None:
            self.logits_bias = self.add_weight(shape=(self.vocabulary_size,), initializer="zeros", name="output_bias")

    @property
    def output_bias_variable(self):
        """The logits' per-token bias variable (`[vocabulary_size]`), or None without `output_bias`."""
        if not self.built:
            self.build()
        return self.logits_bias

    def _logits(self, hidden, output_kernel=None):
        """Logits from the final-normalized hidden states (through `output_kernel` when given)."""
        # A 2-D matmul over the flattened positions (`on_flat_positions`): on TensorFlow the 3-D product's
        # table gradient was a [batch, dim, vocab] product summed over the batch.
        if output_kernel is not None:
            logits = on_flat_positions(lambda x: ops.matmul(x, ops.cast(output_kernel, hidden.dtype)), hidden)
        elif self.lm_head is not None:
            logits = on_flat_positions(self.lm_head, hidden)
        else:
            table = ops.cast(self.embedding.token_embeddings, hidden.dtype)
            logits = on_flat_positions(lambda x: ops.matmul(x, ops.transpose(table)), hidden)
        if self.logits_bias is not None:
            logits = logits + ops.cast(self.logits_bias, logits.dtype)
        return ops.cast(logits, "float32")

    def output_kernel(self):
        """The `[hidden_dim, vocabulary_size]` matrix the logits are computed with (the transposed token
        table when tied). A decoding loop computes it once and passes it to every `call_with_cache` step:
        XLA on a CPU does not hoist the tied table's transpose out of the loop."""
        if not self.built:
            self.build()
        if self.lm_head is not None:
            return self.lm_head.kernel
        return ops.transpose(self.embedding.token_embeddings)

    def _final(self, hidden):
        return hidden if self.final_norm is None else self.final_norm(hidden)

    def _transform(self, token_embeddings, padding_mask, training):
        x = self.embedding.add_positions(token_embeddings)
        x = self.embedding_dropout(x, training=training)
        for block in self.blocks:
            x = block(x, padding_mask=padding_mask, training=training)
        return self._final(x)

    def call(self, token_ids, padding_mask=None, training=None):
        """Full-sequence forward pass; `padding_mask` `[batch, T]` (True/1 = real token) is optional."""
        return self.call_embeddings(self.embed_tokens(token_ids), padding_mask=padding_mask, training=training)

    def embed_tokens(self, token_ids):
        """Token embeddings `[batch, T, hidden_dim]` of `token_ids`, without positions."""
        if not self.built:
            self.build()
        return self.embedding.token_embedding(token_ids)

    def call_embeddings(self, token_embeddings, padding_mask=None, training=None):
        """Logits `[batch, T, vocabulary_size]` from input embeddings `[batch, T, hidden_dim]`.

        Positions `0..T-1` are added here; `call(ids)` is `call_embeddings(embed_tokens(ids))`. Soft prompts
        (`keras_llm.models.PromptTuningLM`) and other continuous inputs enter the model this way.
        """
        return self._logits(self._transform(token_embeddings, padding_mask, training))

    def hidden_states(self, token_ids, padding_mask=None, training=None):
        """The final hidden states `[batch, T, hidden_dim]` (after the final norm), e.g. for a classifier."""
        return self._transform(self.embed_tokens(token_ids), padding_mask, training)

    def init_cache(self, batch_size, max_length=None):
        """A zero key/value cache: a list with one `(keys, values)` pair per layer, each
        `[batch, num_heads, max_length, head_dim]`.

        Args:
            batch_size: batch size of the decoding run.
            max_length: cache length; defaults to `max_sequence_length` (learned positions allow no more).
        """
        if not self.built:
            self.build()
        max_length = self.max_sequence_length if max_length is None else max_length
        return [block.self_attention.init_cache(batch_size, max_length) for block in self.blocks]

    def call_with_cache(self, token_ids, cache, cache_index, padding_mask=None, output_kernel=None):
        """Forward pass for new tokens at positions `cache_index, cache_index + 1, ...` (inference mode).

        Args:
            token_ids: `[batch, T_new]` int ids (usually `T_new = 1`; a prompt can be fed at once).
            cache: the cache from `init_cache` or from the previous call.
            cache_index: position of `token_ids[:, 0]` (int or scalar int tensor).
            padding_mask: optional `[batch, max_length]` mask over cache positions (left-padded prompts).
            output_kernel: optional `output_kernel()`, computed once per decoding loop rather than per step.

        Returns:
            `(logits [batch, T_new, vocabulary_size], new_cache)`.
        """
        return self.call_embeddings_with_cache(
            self.embed_tokens(token_ids), cache, cache_index, padding_mask, output_kernel=output_kernel
        )

    def call_embeddings_with_cache(self, token_embeddings, cache, cache_index, padding_mask=None,
                                   output_kernel=None):
        """`call_with_cache` from input embeddings `[batch, T_new, hidden_dim]` (positions are added here), e.g.
        to write a soft prompt into the cache (`PromptTuningLM.init_cache`)."""
        if not self.built:
            self.build()
        x = self.embedding.add_positions(token_embeddings, start_index=cache_index)
        new_cache = []
        for block, layer_cache in zip(self.blocks, cache):
            x, layer_cache = block(
                x, padding_mask=padding_mask, cache=layer_cache, cache_index=cache_index, training=False
            )
            new_cache.append(layer_cache)
        return self._logits(self._final(x), output_kernel), new_cache

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
                "dropout": self.dropout,
                "tie_embeddings": self.tie_embeddings,
                "position": self.position,
                "norm_first": self.norm_first,
                "activation": self.activation,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "output_bias": self.output_bias,
                "token_conventions": self.token_conventions,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _check_token_conventions(conventions, vocabulary_size):
    """None, or `{"eos_id": int | None, "suppressed_ids": [int, ...], "pad_id": int | None}` with ids inside the
    vocabulary (`pad_id` None: no id is padding, so training losses count every target)."""
    if conventions is None:
        return None
    if not isinstance(conventions, dict) or set(conventions) - {"eos_id", "suppressed_ids", "pad_id"}:
        raise ValueError("token_conventions must be a dict with keys eos_id, suppressed_ids and pad_id, got "
                         f"{conventions!r}")
    eos_id, pad_id = conventions.get("eos_id"), conventions.get("pad_id")
    suppressed = [int(i) for i in conventions.get("suppressed_ids") or []]
    for token in suppressed + [t for t in (eos_id, pad_id) if t is not None]:
        if not 0 <= int(token) < vocabulary_size:
            raise ValueError(f"token_conventions: id {token} is outside the vocabulary (size {vocabulary_size})")
    return {"eos_id": None if eos_id is None else int(eos_id), "suppressed_ids": suppressed,
            "pad_id": None if pad_id is None else int(pad_id)}
