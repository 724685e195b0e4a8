"""Word-level tokenizer: whitespace-separated words, vocabulary by frequency, `<unk>` for the rest.

This is the classic PTB / WikiText word-level setup: the text is split on whitespace only (punctuation in
those corpora is already separated by spaces), the vocabulary keeps the most frequent words up to a cap,
and every other word maps to `<unk>`. Detokenization joins words with single spaces, so a round trip
equals the normalized text with runs of whitespace collapsed to one space.
"""
import os

import tensorflow as tf

from keras_llm import special_tokens as st
from keras_llm.tokenizers.normalization import normalize_text
from keras_llm.tokenizers.base import (
    Tokenizer,
    check_vocabulary,
    count_units,
    read_vocabulary_file,
    register,
    write_vocabulary_file,
)

VOCAB_FILE = "vocab.txt"


@register
class WordTokenizer(Tokenizer):
    """Whitespace word tokenizer over a fixed vocabulary.

    Args:
        vocabulary: list of tokens (starting with the special tokens) or a path to a one-token-per-line file.
        **kwargs: normalization options of `Tokenizer` (`lowercase`, `strip_html`, `nfkc`).

    Example:
        >>> tok = WordTokenizer.train(tf.data.Dataset.from_tensor_slices(["a b a", "b c"]), vocab_size=20)
        >>> tok.detokenize(tok.tokenize(["a c d"])).numpy()
        array([b'a c <unk>'], dtype=object)
    """

    def __init__(self, vocabulary, **kwargs):
        super().__init__(**kwargs)
        if isinstance(vocabulary, (str, os.PathLike)):
            vocabulary = read_vocabulary_file(vocabulary)
        vocabulary = list(vocabulary)
        check_vocabulary(vocabulary)
        for token in vocabulary[st.NUM_SPECIAL_TOKENS:]:
            if not token or token != token.strip() or len(token.split()) != 1:
                raise ValueError(f"vocabulary: word tokens must be non-empty and hold no whitespace, got {token!r}")
        self._vocabulary = vocabulary
        words = tf.constant(vocabulary, dtype=tf.string)
        self._id_to_word = words
        self._word_to_id = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(words, tf.range(len(vocabulary), dtype=tf.int32)),
            default_value=st.UNK_ID,
        )

    @property
    def vocabulary_size(self):
        return len(self._vocabulary)

    def get_vocabulary(self):
        return list(self._vocabulary)

    def _tokenize(self, texts):
        words = tf.strings.split(texts)
        return words.with_flat_values(self._word_to_id.lookup(words.flat_values))

    def _detokenize(self, ids):
        words = ids.with_flat_values(tf.gather(self._id_to_word, ids.flat_values))
        return tf.strings.reduce_join(words, axis=-1, separator=" ")

    def _save_assets(self, directory):
        write_vocabulary_file(self._vocabulary, os.path.join(directory, VOCAB_FILE))
        return {"vocabulary": VOCAB_FILE}

    @classmethod
    def _from_saved(cls, directory, config):
        config = dict(config, vocabulary=os.path.join(directory, config["vocabulary"]))
        return cls(**config)

    learns_from_counts = True

    @classmethod
    def counting_units(cls, texts, **normalization):
        return tf.strings.split(normalize_text(texts, **normalization)).flat_values

    @classmethod
    def from_counts(cls, counts, vocab_size, min_frequency=1, **kwargs):
        """The `vocab_size - 7` most frequent words seen at least `min_frequency` times (ties alphabetical)."""
        if vocab_size <= st.NUM_SPECIAL_TOKENS:
            raise ValueError(f"vocab_size must exceed the {st.NUM_SPECIAL_TOKENS} special tokens, got {vocab_size}")
        counts = {w: c for w, c in counts.items() if w.decode("utf-8") not in st.SPECIAL_TOKENS}
        ranked = sorted((w for w, c in counts.items() if c >= min_frequency), key=lambda w: (-counts[w], w))
        words = [w.decode("utf-8") for w in ranked[: vocab_size - st.NUM_SPECIAL_TOKENS]]
        if not words:
            raise ValueError("cannot train a vocabulary: the corpus holds no words")
        return cls(list(st.SPECIAL_TOKENS) + words, **kwargs)

    @classmethod
    def train(cls, corpus, vocab_size, min_frequency=1, **kwargs):
        """Builds the vocabulary from a corpus (dataset of strings, file path or list of paths).

        Keeps the `vocab_size - 7` most frequent words seen at least `min_frequency` times (ties broken
        alphabetically, so the result is deterministic). Counting runs on normalized text."""
        if vocab_size <= st.NUM_SPECIAL_TOKENS:
            raise ValueError(f"vocab_size must exceed the {st.NUM_SPECIAL_TOKENS} special tokens, got {vocab_size}")
        counts = count_units(corpus, lambda texts: cls.counting_units(texts, **kwargs))
        return cls.from_counts(counts, vocab_size, min_frequency=min_frequency, **kwargs)
