"""Serving an encoder: `embed` (the pooled output of `<cls> text <sep>`), and `EncoderInputs`, the framing
that every encoder-side module (encoder, masked LM, classifier) shares: inputs framed exactly as in training
(`keras_llm.tokenizers.framing`) and as `keras_llm.generation`'s `MaskFiller` and `Labeler` frame them."""
import tensorflow as tf

from keras_llm.export.base import STRINGS, ServingModule
from keras_llm.export.batching import BYTES_PER_TOKEN, chunked, trim_padding, truncate_text
from keras_llm.generation.model_limits import encoder_max_length
from keras_llm.tokenizers.framing import frame_cls_sep


class EncoderInputs(ServingModule):
    """Base of the encoder-side modules (encoder, masked LM, classifier): `<cls> tokens <sep>` framing with
    bounded work per request."""

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
        out = chunked(lambda t, n: {"embedding": tf.cast(features(trim_padding(t, n)), tf.float32)}, (tokens, lengths),
                      self.max_batch_size, {"embedding": tf.float32})
        return {"embedding": tf.reshape(out["embedding"], [-1, self._embedding_dim])}


class EncoderServingModule(EncoderInputs):
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
