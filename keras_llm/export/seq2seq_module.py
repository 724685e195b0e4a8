"""Serving an encoder-decoder (`Seq2SeqTransformer`, `LSTMSeq2Seq`): `generate` and `generate_with_options`,
source texts in, translations out (the decoding loop of `keras_llm.generation.translate_ids`)."""
import tensorflow as tf

from keras_llm import special_tokens as st
from keras_llm.export.base import STRINGS, ServingModule
from keras_llm.export.batching import BYTES_PER_TOKEN, chunked, truncate_text
from keras_llm.generation.model_limits import source_max_length
from keras_llm.generation.samplers import Sampler
from keras_llm.generation.seq2seq_decoding import translate_ids


class Seq2SeqServingModule(ServingModule):
    """`generate`, `generate_with_options` and `serving_default` (-> generate) of a `Seq2SeqTransformer` or
    `LSTMSeq2Seq`: source texts in, translations out.

    Args:
        model: the encoder-decoder.
        tokenizer: the source tokenizer.
        target_tokenizer: the target tokenizer (default: the source one).
        max_new_tokens: longest translation (`<eos>` included); the cap of `generate_with_options`.
        beam_width: 1: greedy / `sampler`; more: beam search (then temperature is ignored).
        sampler: the `Sampler` for `beam_width=1` (default greedy).
        max_source_tokens: sources keep their first this-many tokens (default: the model's limit, else 512).
        max_batch_size: requests are processed in chunks of this many rows.
        feature_name: the tf.Example feature `serving_default` reads.
    """

    def __init__(self, model, tokenizer, target_tokenizer=None, max_new_tokens=32, beam_width=1, length_penalty=0.0,
                 sampler=None, max_source_tokens=None, max_batch_size=64, feature_name="text"):
        sample = lambda: {"encoder_inputs": tf.ones([1, 1], tf.int32), "decoder_inputs": tf.ones([1, 1], tf.int32)}  # noqa: E731
        super().__init__(model, sample, feature_name, name="seq2seq_serving")
        limit = getattr(model, "max_target_length", None)
        if getattr(model, "position", None) == "learned" and limit is not None and max_new_tokens > limit:
            raise ValueError(f"max_new_tokens ({max_new_tokens}) exceeds the model's max_target_length ({limit})")
        self.tokenizer = tokenizer
        self.target_tokenizer = target_tokenizer or tokenizer
        self.max_new_tokens = int(max_new_tokens)
        self.beam_width = int(beam_width)
        self.length_penalty = float(length_penalty)
        self._sampler = sampler or Sampler("greedy")
        self.max_source_tokens = int(max_source_tokens or source_max_length(model))
        self.max_batch_size = int(max_batch_size)
        self._max_bytes = BYTES_PER_TOKEN * self.max_source_tokens

    def _source(self, texts):
        """-> source ids int32 [batch, max(longest, 1)], padded with 0 (an empty text is one pad)."""
        texts = truncate_text(texts, self._max_bytes, keep="start")
        ids = self.tokenizer.tokenize(texts)[:, : self.max_source_tokens].to_tensor(default_value=st.PAD_ID)
        return tf.pad(ids, [[0, 0], [0, 1 - tf.minimum(tf.shape(ids)[1], 1)]])

    def _translate_chunk(self, texts, max_new_tokens, temperature):
        source = self._source(texts)
        noise = tf.random.uniform([self.max_new_tokens + 1, tf.shape(source)[0]])
        ids = translate_ids(self.model, source, self.max_new_tokens, self.beam_width, self.length_penalty,
                            sampler=self._sampler, temperature=temperature, noise=noise, max_new_tokens=max_new_tokens)
        ids = ids[:, :max_new_tokens]  # the decoding loop takes one step even for 0 tokens
        text = self.target_tokenizer.detokenize(tf.RaggedTensor.from_tensor(ids, padding=st.PAD_ID))
        return {"text": tf.strings.unicode_transcode(text, "UTF-8", "UTF-8", errors="replace")}

    def _generate(self, texts, max_new_tokens, temperature):
        max_new_tokens = tf.clip_by_value(max_new_tokens, 0, self.max_new_tokens)
        return chunked(lambda t: self._translate_chunk(t, max_new_tokens, temperature), texts, self.max_batch_size,
                       {"text": tf.string})

    @tf.function(input_signature=[STRINGS])
    def generate(self, prompts):
        """prompts string[None] (source texts) -> text string[None] (translations), export-time settings."""
        return self._generate(prompts, tf.constant(self.max_new_tokens), tf.constant(float(self._sampler.temperature)))

    @tf.function(input_signature=[STRINGS, tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.float32)])
    def generate_with_options(self, prompts, max_new_tokens, temperature):
        """Like `generate`, with `max_new_tokens` (capped at the export-time value; <= 0: empty) and
        `temperature` (> 0; ignored by greedy decoding and beam search) per request."""
        return self._generate(prompts, max_new_tokens, tf.maximum(temperature, 1e-4))

    @tf.function(input_signature=[STRINGS])
    def serving_default(self, examples):
        """Serialized tf.Example -> `text` (the translation of the `feature_name` text)."""
        return self.generate(self.parse_texts(examples))

    def signatures(self):
        return {"serving_default": self.serving_default, "generate": self.generate,
                "generate_with_options": self.generate_with_options}

    def warmup_inputs(self):
        return {"generate": {"prompts": ["", "the"]}}
