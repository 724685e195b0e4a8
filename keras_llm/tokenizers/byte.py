"""Byte-level tokenizer: the UTF-8 bytes of the text, no vocabulary, never an unknown token.

Byte `b` has id `b + 7` (after the special tokens), so the vocabulary size is 263. Any string, whatever its
script, tokenizes and detokenizes back exactly (after normalization; pass `nfkc=False` to keep the text's
own normalization form). A model that generates an incomplete UTF-8 sequence detokenizes to those raw bytes.
"""
import tensorflow as tf

from keras_llm import special_tokens as st
from keras_llm.tokenizers.base import Tokenizer, register

OFFSET = st.NUM_SPECIAL_TOKENS


@register
class ByteTokenizer(Tokenizer):
    """UTF-8 bytes as tokens.

    Args:
        **kwargs: normalization options of `Tokenizer` (`lowercase`, `strip_html`, `nfkc`).

    Example:
        >>> tok = ByteTokenizer()
        >>> tok.tokenize(["hé"]).to_list()
        [[111, 202, 176]]
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._byte_strings = tf.constant([bytes([b]) for b in range(256)], dtype=tf.string)

    @property
    def vocabulary_size(self):
        return OFFSET + 256

    def get_vocabulary(self):
        return list(st.SPECIAL_TOKENS) + [f"<0x{b:02X}>" for b in range(256)]

    def _tokenize(self, texts):
        chars = tf.strings.bytes_split(texts)
        values = tf.reshape(tf.io.decode_raw(chars.flat_values, tf.uint8, fixed_length=1), [-1])
        return chars.with_flat_values(tf.cast(values, tf.int32) + OFFSET)

    def _detokenize(self, ids):
        ids = tf.ragged.boolean_mask(ids, ids >= OFFSET)  # <unk> and <mask> have no byte form
        chars = ids.with_flat_values(tf.gather(self._byte_strings, ids.flat_values - OFFSET))
        return tf.strings.reduce_join(chars, axis=-1)

    def _save_assets(self, directory):
        return {}
