"""Serving a masked LM (`BertMaskedLM`): `fill_mask` (the likeliest tokens at each `<mask>`) and `embed`."""
import numpy as np
import tensorflow as tf

from keras_llm import special_tokens as st
from keras_llm.export.base import STRINGS
from keras_llm.export.batching import chunked, trim_padding, truncate_text
from keras_llm.export.encoder_module import EncoderServingModule
from keras_llm.tokenizers.framing import frame_cls_sep, tokenize_with_masks


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
        tokens = trim_padding(tokens, lengths)
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
