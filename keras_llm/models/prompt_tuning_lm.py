"""Prompt tuning (Lester et al., 2021): learned soft-prompt vectors in front of a frozen language model."""
import keras
from keras import ops

from keras_llm.models.freezing import freeze


@keras.saving.register_keras_serializable(package="keras_llm")
class PromptTuningLM(keras.Model):
    """Token ids `[batch, T]` -> next-token logits `[batch, T, vocabulary_size]` of a frozen
    `TransformerLanguageModel` that sees `num_prompt_tokens` trainable vectors before the tokens.

    The prompt is a `[num_prompt_tokens, hidden_dim]` weight, the only trainable variable: the base model is
    frozen (`base_lm.trainable = False`). Each batch's token embeddings (`base_lm.embed_tokens`) get the
    prompt prepended, and the concatenation goes through the base model (`base_lm.call_embeddings`), so the
    prompt takes positions `0 .. num_prompt_tokens - 1` and token `t` position `num_prompt_tokens + t`
    (`num_prompt_tokens + T` must fit in the base model's `max_sequence_length`). Only the logits of the
    token positions are returned, so the model trains on `keras_llm.data.causal_lm_dataset` batches as is.

    Args:
        base_lm: a `TransformerLanguageModel` (anything with `embed_tokens`, `call_embeddings` and
            `hidden_dim`).
        num_prompt_tokens: number of soft-prompt vectors.
        prompt_initializer: initializer of the prompt; default `RandomNormal(stddev=0.02)` (the scale of
            GPT-2's embeddings). `init_prompt_from_tokens` copies token embeddings in instead.
        freeze_base: freeze the base model (True for prompt tuning).
        **kwargs: base `keras.Model` arguments (`name`, `dtype`).

    Example:
    >>> from keras_llm.models import TransformerLanguageModel
    >>> base = TransformerLanguageModel(100, num_layers=1, hidden_dim=16, num_heads=2, intermediate_dim=32,
    ...                                 max_sequence_length=16)
    >>> model = PromptTuningLM(base, num_prompt_tokens=4)
    >>> tuple(model(keras.ops.ones((2, 12), "int32")).shape)
    (2, 12, 100)
    >>> [v.name for v in model.trainable_variables]  # only the soft prompt trains
    ['soft_prompt']
    """

    def __init__(self, base_lm, num_prompt_tokens, prompt_initializer=None, freeze_base=True, **kwargs):
        super().__init__(**kwargs)
        self.base_lm = base_lm
        self.num_prompt_tokens = int(num_prompt_tokens)
        if prompt_initializer is None:
            prompt_initializer = keras.initializers.RandomNormal(stddev=0.02)
        self.prompt_initializer = keras.initializers.get(prompt_initializer)
        self.freeze_base = bool(freeze_base)
        if self.freeze_base:
            freeze(self.base_lm)
        self.soft_prompt = None

    def build(self, input_shape=(None, None)):
        if not self.base_lm.built:
            self.base_lm.build(input_shape)
        if self.freeze_base:  # again: the variables its build just created start out trainable
            freeze(self.base_lm)
        if self.soft_prompt is None:
            self.soft_prompt = self.add_weight(
                shape=(self.num_prompt_tokens, self.base_lm.hidden_dim),
                initializer=self.prompt_initializer,
                dtype=self.variable_dtype,
                name="soft_prompt",
            )

    def init_prompt_from_tokens(self, token_ids):
        """Sets the prompt to the base model's embeddings of `num_prompt_tokens` token ids (e.g. the words of
        a task description or class labels), the initialization Lester et al. found best."""
        if not self.built:
            self.build()
        ids = ops.convert_to_tensor(token_ids, "int32")
        if tuple(ids.shape) != (self.num_prompt_tokens,):
            raise ValueError(f"expected {self.num_prompt_tokens} token ids, got shape {tuple(ids.shape)}")
        self.soft_prompt.assign(ops.cast(self.base_lm.embed_tokens(ids), self.soft_prompt.dtype))

    def call(self, token_ids, padding_mask=None, training=None):
        length = token_ids.shape[-1]
        limit = getattr(self.base_lm, "max_sequence_length", None)
        if length is not None and limit is not None and self.num_prompt_tokens + length > limit:
            raise ValueError(
                f"{self.num_prompt_tokens} prompt tokens + {length} tokens exceed the base model's "
                f"max_sequence_length={limit}"
            )
        tokens = self.base_lm.embed_tokens(token_ids)
        batch = ops.shape(tokens)[0]
        prompt = ops.cast(self.soft_prompt, tokens.dtype)
        prompt = ops.broadcast_to(prompt[None], (batch, self.num_prompt_tokens, ops.shape(prompt)[-1]))
        if padding_mask is not None:
            real = ops.ones((batch, self.num_prompt_tokens), dtype="bool")
            padding_mask = ops.concatenate([real, ops.cast(padding_mask, "bool")], axis=1)
        logits = self.base_lm.call_embeddings(
            ops.concatenate([prompt, tokens], axis=1), padding_mask=padding_mask, training=training
        )
        return logits[:, self.num_prompt_tokens :, :]

    @property
    def max_sequence_length(self):
        """Longest token sequence: the base model's context minus the soft prompt (None: unbounded)."""
        limit = getattr(self.base_lm, "max_sequence_length", None)
        return None if limit is None else limit - self.num_prompt_tokens

    def init_cache(self, batch_size, max_length=None):
        """The base model's key/value cache with the soft prompt already written at positions
        `0 .. num_prompt_tokens - 1`; room for `max_length` tokens after it (default: `max_sequence_length`)."""
        if not self.built:
            self.build()
        max_length = self.max_sequence_length if max_length is None else max_length
        cache = self.base_lm.init_cache(batch_size, max_length + self.num_prompt_tokens)
        prompt = ops.cast(self.soft_prompt, self.base_lm.compute_dtype)
        prompt = ops.broadcast_to(prompt[None], (batch_size, self.num_prompt_tokens, ops.shape(prompt)[-1]))
        _, cache = self.base_lm.call_embeddings_with_cache(prompt, cache, 0)
        return cache

    def output_kernel(self):
        """The base model's `output_kernel()` (decoding loops compute it once)."""
        return self.base_lm.output_kernel()

    def call_with_cache(self, token_ids, cache, cache_index, padding_mask=None, output_kernel=None):
        """Incremental forward for tokens at token positions `cache_index, ...` (after the soft prompt), so
        `TextGenerator`, the decoding loop and the serving export drive a prompt-tuned model like any causal
        LM. `padding_mask` covers the token positions of the cache only."""
        if padding_mask is not None:
            real = ops.ones((ops.shape(padding_mask)[0], self.num_prompt_tokens), dtype="bool")
            padding_mask = ops.concatenate([real, ops.cast(padding_mask, "bool")], axis=1)
        return self.base_lm.call_with_cache(token_ids, cache, cache_index + self.num_prompt_tokens, padding_mask,
                                            output_kernel=output_kernel)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "base_lm": keras.saving.serialize_keras_object(self.base_lm),
                "num_prompt_tokens": self.num_prompt_tokens,
                "prompt_initializer": keras.initializers.serialize(self.prompt_initializer),
                "freeze_base": self.freeze_base,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["base_lm"] = keras.saving.deserialize_keras_object(config["base_lm"])
        return cls(**config)
