"""The serving module of a causal language model: generate, score and tf.Example signatures."""
import tensorflow as tf

from keras_llm.export.base import STRINGS, ServingModule
from keras_llm.export.batching import (
    batch_buckets,
    chunked,
    length_buckets,
    pad_to_buckets,
    prompt_batch,
    truncate_text,
)
from keras_llm.generation.decoding import Decoder, generate_ids, start_token_id
from keras_llm.generation.noise import MAX_SEED, seeded_uniform
from keras_llm.generation.samplers import DEFAULT_TEMPERATURE, DEFAULT_TOP_P, Sampler
from keras_llm.generation.scoring import score_ids


class _Decoders:
    """The decoding loop's two tf.functions, in a plain object that `tf.Module` does not track."""

    def __init__(self, plain, xla):
        self.plain, self.xla = plain, xla


class CausalLMServingModule(ServingModule):
    """Wraps a trained causal LM and its tokenizer for `tf.saved_model.save`.

    Args:
        model: `TransformerLanguageModel` or `RNNLanguageModel`.
        tokenizer: its tokenizer (normalization and tokenization run in the graph).
        max_new_tokens: continuation length of `generate`; the upper bound for `generate_with_options`.
        sampler: the `Sampler` of `generate` (default greedy). `generate_with_options` samples top-p with the
            request's settings instead (temperature <= 0: greedy).
        max_batch_size: requests are processed in chunks of this many rows.
        max_prompt_tokens: prompts keep their last this-many tokens (transformers: also limited by context).
        feature_name: the tf.Example feature `serving_default` reads.
        jit_compile: XLA-compile the decoding loop (tokenization stays outside). Requests are padded to a
            few batch sizes (powers of two up to `max_batch_size`) and buffer lengths (multiples of 32), so
            XLA compiles a bounded number of programs; the warmup requests compile the common ones.
        jit_min_batch: chunks with fewer rows run the uncompiled loop. Default 1 (always XLA: faster at every
            batch size measured; see benchmarks/README.md, Performance notes).
    """

    def __init__(self, model, tokenizer, max_new_tokens=32, sampler=None, max_batch_size=64,
                 max_prompt_tokens=512, feature_name="text", jit_compile=True,
                 jit_min_batch=1):
        super().__init__(model, lambda: tf.zeros([1, 1], tf.int32), feature_name, name="causal_lm_serving")
        self.tokenizer = tokenizer
        self._decoder = Decoder(model)
        # Documents start after the end-of-text id: keras_llm's <eos> (3), or the model's own (GPT-2's 50256).
        self._start_id = int(start_token_id(self._decoder, tokenizer))
        context = self._decoder.max_length
        if context is not None and max_new_tokens >= context:
            raise ValueError(f"max_new_tokens ({max_new_tokens}) must be below the model's context ({context})")
        self.max_new_tokens = int(max_new_tokens)
        self.max_prompt_tokens = int(max_prompt_tokens if context is None else min(max_prompt_tokens, context - max_new_tokens))
        self.max_score_tokens = int(context or max_prompt_tokens + max_new_tokens)
        self.max_batch_size = int(max_batch_size)
        self._sampler = sampler or Sampler("greedy")
        self._request_sampler = Sampler("top_p", temperature=DEFAULT_TEMPERATURE, top_p=DEFAULT_TOP_P)
        self._max_bytes = 64 * self.max_score_tokens  # generous: a token is rarely > 64 bytes
        self.jit_compile = bool(jit_compile)
        total = self.max_prompt_tokens + self.max_new_tokens  # longest buffer: prompt (with its <eos>) + new
        self._length_buckets = length_buckets(total if context is None else min(total, context))
        self._batch_buckets = batch_buckets(self.max_batch_size)
        self.jit_min_batch = int(jit_min_batch)
        # Held outside the module's tracked attributes: the signatures that call them carry them into the
        # SavedModel, and tracked, `tf.saved_model.save` would trace each again to list it on its own.
        self._decoders = _Decoders(plain=tf.function(self._decode_ids, autograph=False),
                                   xla=tf.function(self._decode_ids, jit_compile=True, autograph=False))

    def _generate_chunk(self, prompts, rows, max_new_tokens, seed, options):
        """`rows`: the chunk's row indices in the request (its first one offsets the random stream)."""
        prompts = truncate_text(prompts, self._max_bytes)
        tokens, lengths = prompt_batch(self.tokenizer, prompts, self.max_prompt_tokens, self.max_new_tokens,
                                      self._start_id)
        count = tf.shape(tokens)[0]
        settings = (max_new_tokens, seed, rows[0], options)
        if self.jit_compile:
            def compiled():  # a few fixed shapes, so XLA compiles each once (TF Serving: during warmup)
                padded, padded_lengths = pad_to_buckets(tokens, lengths, self._length_buckets, self._batch_buckets)
                out, end = self._decoders.xla(padded, padded_lengths, *settings)
                return out[:count, : tf.shape(tokens)[1]], end[:count]

            if self.jit_min_batch <= 1:  # a chunk has at least one row: always compiled, no uncompiled branch
                out, end = compiled()
            else:
                out, end = tf.cond(count >= self.jit_min_batch, compiled,
                                   lambda: self._decoders.plain(tokens, lengths, *settings))
        else:
            out, end = self._decoders.plain(tokens, lengths, *settings)
        end = tf.minimum(end, lengths + max_new_tokens)  # the decoding loop takes one step even for 0 tokens
        positions = tf.range(tf.shape(out)[1])[None, :]
        keep = (positions >= lengths[:, None]) & (positions < end[:, None]) & (out != self._start_id)
        generated = tf.ragged.boolean_mask(out, keep)
        text = self.tokenizer.detokenize(generated)
        text = tf.strings.unicode_transcode(text, "UTF-8", "UTF-8", errors="replace")
        return {"text": text, "num_tokens": tf.cast(generated.row_lengths(), tf.int32)}

    def _decode_ids(self, tokens, lengths, max_new_tokens, seed, row_offset, options):
        """`options`: None (`generate`: the export-time sampler) or the request's scalar tensors (`temperature`,
        `top_p`, `repetition_penalty`, `no_repeat_ngram_size`) for the top-p request sampler."""
        shape = [tf.shape(tokens)[1], tf.shape(tokens)[0]]
        if options is None and self._sampler.kind == "greedy":
            noise = tf.zeros(shape)
        else:  # the stream TextGenerator draws for the same seed and rows
            noise = seeded_uniform(shape[0], shape[1], seed, row_offset)
        sampler = self._sampler if options is None else self._request_sampler
        return generate_ids(self._decoder, tokens, lengths, noise, sampler, max_new_tokens=max_new_tokens,
                            **(options or {}))

    def _generate(self, prompts, max_new_tokens, seed, options=None):
        max_new_tokens = tf.clip_by_value(max_new_tokens, 0, self.max_new_tokens)
        seed = tf.where(seed < 0, tf.random.uniform([], 0, MAX_SEED, tf.int32), seed)
        rows = tf.range(tf.shape(prompts)[0])
        out = chunked(lambda p, r: self._generate_chunk(p, r, max_new_tokens, seed, options), (prompts, rows),
                      self.max_batch_size, {"text": tf.string, "num_tokens": tf.int32})
        return {"text": out["text"]}

    # The signatures are traced without autograph (their loops and branches are written as tf.while_loop /
    # tf.cond): converting this call tree took a sixth of an export.
    @tf.function(input_signature=[STRINGS], autograph=False)
    def generate(self, prompts):
        """prompts string[None] -> text string[None] (the continuations), export-time settings."""
        return self._generate(prompts, tf.constant(self.max_new_tokens), tf.constant(-1))

    @tf.function(input_signature=[STRINGS, tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.float32),
                                  tf.TensorSpec([], tf.float32), tf.TensorSpec([], tf.float32),
                                  tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.int32)], autograph=False)
    def generate_with_options(self, prompts, max_new_tokens, temperature, top_p, repetition_penalty,
                              no_repeat_ngram_size, seed):
        """Top-p sampling with the request's settings: `max_new_tokens` (capped at the export-time value;
        <= 0: empty continuations), `temperature` (<= 0: greedy), `top_p` (1: plain temperature sampling),
        `repetition_penalty` (1 or <= 0: off), `no_repeat_ngram_size` (<= 0: off) and `seed` (>= 0:
        reproducible, and the same text as `TextGenerator.generate` with the same prompts, settings and seed;
        < 0: a fresh one). Suggested: temperature 0.8, top_p 0.9, repetition_penalty 1.2 or
        no_repeat_ngram_size 3."""
        options = {"temperature": temperature, "top_p": top_p, "repetition_penalty": repetition_penalty,
                   "no_repeat_ngram_size": no_repeat_ngram_size}
        return self._generate(prompts, max_new_tokens, seed, options)

    def _score_chunk(self, texts):
        texts = truncate_text(texts, self._max_bytes)
        ids = self.tokenizer.tokenize(texts)
        n = ids.nrows()
        eos = tf.RaggedTensor.from_tensor(tf.fill([n, 1], tf.constant(self._start_id, tf.int32)))
        ids = tf.concat([eos, ids, eos], axis=1)[:, : self.max_score_tokens]
        lengths = tf.cast(ids.row_lengths(), tf.int32)
        log_likelihood, num_tokens = score_ids(self.model, ids.to_tensor(), lengths)
        return {"log_likelihood": log_likelihood, "num_tokens": num_tokens}

    @tf.function(input_signature=[STRINGS], autograph=False)
    def score(self, texts):
        """texts string[None] -> log_likelihood (nats, of the text and its closing <eos> after a document
        start), num_tokens, perplexity = exp(-log_likelihood / num_tokens)."""
        out = chunked(self._score_chunk, texts, self.max_batch_size, {"log_likelihood": tf.float32, "num_tokens": tf.int32})
        perplexity = tf.exp(-out["log_likelihood"] / tf.cast(tf.maximum(out["num_tokens"], 1), tf.float32))
        return {**out, "perplexity": perplexity}

    @tf.function(input_signature=[STRINGS], autograph=False)
    def serving_default(self, examples):
        """Serialized tf.Example (`examples` string[None], text in the feature `feature_name`) -> `text`."""
        return self.generate(self.parse_texts(examples))

    def signatures(self):
        return {
            "serving_default": self.serving_default,
            "generate": self.generate,
            "generate_with_options": self.generate_with_options,
            "score": self.score,
        }

    def warmup_inputs(self):
        """Example requests per signature, for TF Serving's warmup file."""
        return {
            # With XLA, jit_min_batch rows (1 by default, the commonest request) compile the compiled path's
            # smallest buckets at load time.
            "generate": {"prompts": [""] + ["the"] * (max(self.jit_min_batch, 1) - 1 if self.jit_compile else 1)},
            "score": {"texts": ["the"]},
        }
