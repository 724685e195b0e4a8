"""Serving modules of the non-causal models: fill_mask / embed (masked LMs, encoders), classify / embed
(classifiers) and generate (seq2seq translation). Their inputs are framed exactly as in training
(`keras_llm.tokenizers.framing`) and as the Python helpers of `keras_llm.generation` (`MaskFiller`, `Labeler`,
`Translator`) frame them.
"""
import numpy as np
import tensorflow as tf

from keras_llm import special_tokens as st
from keras_llm.export.base import STRINGS, ServingModule
from keras_llm.export.batching import chunked, truncate_text
from keras_llm.generation.samplers import Sampler
from keras_llm.generation.seq2seq_decoding import translate_ids
from keras_llm.generation.labeler import class_names
from keras_llm.generation.model_limits import encoder_max_length, source_max_length
from keras_llm.tokenizers.framing import frame_cls_sep, tokenize_with_masks

BYTES_PER_TOKEN = 64  # input bytes kept per allowed token: generous, a token is rarely longer


def _trim(tokens, lengths):
    """Drops the padding columns that no row of this chunk uses."""
    return tokens[:, : tf.reduce_max(tf.concat([lengths, [1]], 0))]


class _EncoderInputs(ServingModule):
    """Shared by the encoder-side modules: `<cls> tokens <sep>` framing with bounded work per request."""

    def __init__(self, model, tokenizer, max_length, max_batch_size, feature_name, name):
        super().__init__(model, lambda: tf.zeros([1, 2], tf.int32), feature_name, name=name)
        self.tokenizer = tokenizer
        self.max_length = int(max_length)
        self.max_batch_size = int(max_batch_size)
        self._max_bytes = BYTES_PER_TOKEN * self.max_length

    def frame(self, texts):
        """-> (tokens int32 [batch, longest], lengths int32 [batch]): `<cls>` + first tokens + `<sep>`."""
        texts = truncate_text(texts, self._max_bytes, keep="start")
        return frame_cls_sep(self.tokenizer.tokenize(texts), self.max_length)

    def _embed(self, texts, features):
        tokens, lengths = self.frame(texts)
        out = chunked(lambda t, n: {"embedding": tf.cast(features(_trim(t, n)), tf.float32)}, (tokens, lengths),
                      self.max_batch_size, {"embedding": tf.float32})
        return {"embedding": tf.reshape(out["embedding"], [-1, self._embedding_dim])}


class EncoderServingModule(_EncoderInputs):
    """`embed` and `serving_default` (-> embed) of a `BertEncoder` (the pooled output of `<cls> text <sep>`).

    Args:
        model: a `BertEncoder` (or any model returning a dict with `"pooled_output"` and a `hidden_dim`).
        tokenizer: its tokenizer.
        max_length: longest framed input (default: the encoder's `max_sequence_length`).
        max_batch_size: requests are processed in chunks of this many rows.
        feature_name: the tf.Example feature `serving_default` reads.
    """

    def __init__(self, model, tokenizer, max_length=None, max_batch_size=64, feature_name="text",
                 name="encoder_serving", encoder=None):
        encoder = encoder or model
        super().__init__(model, tokenizer, max_length or encoder_max_length(encoder), max_batch_size, feature_name,
                         name=name)
        self.encoder = encoder
        self._embedding_dim = int(encoder.hidden_dim)

    @tf.function(input_signature=[STRINGS])
    def embed(self, texts):
        """texts string[None] -> `embedding` float32 [batch, hidden_dim]: the encoder's pooled output of
        `<cls> text <sep>`."""
        return self._embed(texts, lambda t: self.encoder(t, training=False)["pooled_output"])

    @tf.function(input_signature=[STRINGS])
    def serving_default(self, examples):
        """Serialized tf.Example -> `embed`'s output."""
        return self.embed(self.parse_texts(examples))

    def signatures(self):
        return {"serving_default": self.serving_default, "embed": self.embed}

    def warmup_inputs(self):
        return {"embed": {"texts": ["", "the"]}}


class MaskedLMServingModule(EncoderServingModule):
    """`fill_mask`, `embed` and `serving_default` (-> fill_mask) of a `BertMaskedLM`.

    Args:
        model: a `BertMaskedLM`.
        tokenizer: its tokenizer.
        top_k: predictions per mask.
        max_length: longest framed input (default: the encoder's `max_sequence_length`); masks beyond it are
            not predicted (`num_masks` says how many were).
        max_batch_size: requests are processed in chunks of this many rows.
        mask_token: the string that marks a mask in request texts.
        feature_name: the tf.Example feature `serving_default` reads.
    """

    def __init__(self, model, tokenizer, top_k=5, max_length=None, max_batch_size=64, mask_token=st.MASK,
                 feature_name="text"):
        super().__init__(model, tokenizer, max_length, max_batch_size, feature_name, name="masked_lm_serving",
                         encoder=model.encoder)
        self.mask_token = mask_token
        self.top_k = int(min(top_k, model.vocabulary_size - st.NUM_SPECIAL_TOKENS))
        penalty = np.zeros((model.vocabulary_size,), "float32")
        penalty[: st.NUM_SPECIAL_TOKENS] = -1e9  # special tokens are never predicted
        self._penalty = tf.constant(penalty)

    def _fill_chunk(self, tokens, lengths, width):
        tokens = _trim(tokens, lengths)
        logits = tf.cast(self.model(tokens, training=False), tf.float32)  # [b, T, V]
        is_mask = tf.equal(tokens, st.MASK_ID)
        columns = tf.broadcast_to(tf.range(tf.shape(tokens)[1]), tf.shape(tokens))
        positions = tf.ragged.boolean_mask(columns, is_mask).to_tensor(default_value=0)
        positions = tf.pad(positions, [[0, 0], [0, width - tf.shape(positions)[1]]])
        valid = tf.sequence_mask(tf.reduce_sum(tf.cast(is_mask, tf.int32), 1), width)[:, :, None]
        probabilities = tf.nn.softmax(tf.gather(logits, positions, batch_dims=1) + self._penalty)
        scores, ids = tf.math.top_k(probabilities, self.top_k)
        return {"token_ids": tf.where(valid, ids, st.PAD_ID), "scores": tf.where(valid, scores, 0.0)}

    @tf.function(input_signature=[STRINGS])
    def fill_mask(self, texts):
        """texts string[None] with `<mask>` marks -> per text and mask (left to right, padded to the most
        masks in the request): `tokens` string [batch, masks, top_k], `token_ids` int32, `scores` float32
        (probabilities; 0 and "" in padding), and `num_masks` int32 [batch]."""
        texts = truncate_text(texts, self._max_bytes, keep="start")
        tokens, lengths = frame_cls_sep(tokenize_with_masks(self.tokenizer, texts, self.mask_token), self.max_length)
        num_masks = tf.reduce_sum(tf.cast(tf.equal(tokens, st.MASK_ID), tf.int32), 1)
        width = tf.reduce_max(tf.concat([num_masks, [0]], 0))
        out = chunked(lambda t, n: self._fill_chunk(t, n, width), (tokens, lengths), self.max_batch_size,
                      {"token_ids": tf.int32, "scores": tf.float32})
        shape = [-1, width, self.top_k]
        ids = tf.reshape(out["token_ids"], shape)
        strings = self.tokenizer.detokenize(tf.RaggedTensor.from_tensor(tf.reshape(ids, [-1, 1])))
        return {"tokens": tf.reshape(strings, shape), "token_ids": ids, "scores": tf.reshape(out["scores"], shape),
                "num_masks": num_masks}

    @tf.function(input_signature=[STRINGS])
    def serving_default(self, examples):
        """Serialized tf.Example -> `fill_mask`'s outputs."""
        return self.fill_mask(self.parse_texts(examples))

    def signatures(self):
        return {**super().signatures(), "serving_default": self.serving_default, "fill_mask": self.fill_mask}

    def warmup_inputs(self):
        return {**super().warmup_inputs(), "fill_mask": {"texts": [self.mask_token, f"the {self.mask_token}"]}}


class ClassifierServingModule(_EncoderInputs):
    """`classify`, `embed` and `serving_default` (-> classify) of a `TextClassifier`.

    Args:
        model: a `TextClassifier`.
        tokenizer: its tokenizer.
        labels: class names (index = class id); default "0", "1", ...
        max_length: longest framed input (default: the encoder's context, else 512).
        max_batch_size: requests are processed in chunks of this many rows.
        stop_words: the `StopWordFilter` used in training, if any (runs in the graph).
        feature_name: the tf.Example feature `serving_default` reads.
    """

    def __init__(self, model, tokenizer, labels=None, max_length=None, max_batch_size=64, stop_words=None,
                 feature_name="text"):
        super().__init__(model, tokenizer, max_length or encoder_max_length(model.encoder), max_batch_size,
                         feature_name, name="classifier_serving")
        self.labels = tf.constant(class_names(model, labels))
        self.stop_words = stop_words
        self._embedding_dim = int(model.classifier_head.kernel.shape[0])

    def frame(self, texts):
        if self.stop_words is not None:
            texts = self.stop_words(texts)
        return super().frame(texts)

    @tf.function(input_signature=[STRINGS])
    def classify(self, texts):
        """texts string[None] -> `probabilities` float32 [batch, classes], `label` string [batch] (the class
        name), `label_id` int32 [batch]."""
        tokens, lengths = self.frame(texts)
        out = chunked(lambda t, n: {"p": tf.nn.softmax(tf.cast(self.model(_trim(t, n), training=False), tf.float32))},
                      (tokens, lengths), self.max_batch_size, {"p": tf.float32})
        probabilities = tf.reshape(out["p"], [-1, self.model.num_classes])
        label_id = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
        return {"probabilities": probabilities, "label": tf.gather(self.labels, label_id), "label_id": label_id}

    @tf.function(input_signature=[STRINGS])
    def embed(self, texts):
        """texts string[None] -> `embedding` float32 [batch, dim]: the pooled features the head reads."""
        return self._embed(texts, lambda t: self.model.features(t, training=False))

    @tf.function(input_signature=[STRINGS])
    def serving_default(self, examples):
        """Serialized tf.Example -> `classify`'s outputs."""
        return self.classify(self.parse_texts(examples))

    def signatures(self):
        return {"serving_default": self.serving_default, "classify": self.classify, "embed": self.embed}

    def warmup_inputs(self):
        return {"classify": {"texts": ["", "the"]}, "embed": {"texts": ["the"]}}


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
