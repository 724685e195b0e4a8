"""WordPiece tokenizer on tensorflow-text's FastWordpieceTokenizer (linear-time, end-to-end in one op).

The op splits text into words on whitespace and punctuation (and CJK ideographs individually), then each
word into the longest matching vocabulary pieces, continuation pieces carrying the `##` prefix. The
vocabulary is learned with tensorflow-text's WordPiece learner from word counts (words split by BERT's basic
tokenizer, which splits them the same way; `counting_units` / `from_counts`). Detokenization joins pieces into
words and words with single spaces, so a round trip preserves every non-space character (unless a word had
to become `<unk>`).
"""
import os

import tensorflow as tf
import tensorflow_text as tf_text

from keras_llm import special_tokens as st
from keras_llm.tokenizers.normalization import normalize_text
from keras_llm.tokenizers.base import (
    CHARACTER_UNIT,
    Tokenizer,
    check_vocabulary,
    count_units,
    read_vocabulary_file,
    register,
    write_vocabulary_file,
)

VOCAB_FILE = "vocab.txt"
SUFFIX = "##"


@register
class WordPieceTokenizer(Tokenizer):
    """WordPiece over a fixed vocabulary.

    Args:
        vocabulary: list of tokens (starting with the special tokens) or a path to a one-token-per-line file.
        max_bytes_per_word: longer words become `<unk>`.
        **kwargs: normalization options of `Tokenizer` (`lowercase`, `strip_html`, `nfkc`).

    Example:
        >>> texts = tf.data.Dataset.from_tensor_slices(["the cat sat", "the cats sat"])
        >>> tok = WordPieceTokenizer.train(texts, vocab_size=60)
        >>> tok.detokenize(tok.tokenize(["the cats"])).numpy()
        array([b'the cats'], dtype=object)
    """

    def __init__(self, vocabulary, max_bytes_per_word=100, **kwargs):
        super().__init__(**kwargs)
        if isinstance(vocabulary, (str, os.PathLike)):
            vocabulary = read_vocabulary_file(vocabulary)
        vocabulary = list(vocabulary)
        check_vocabulary(vocabulary)
        self._vocabulary = vocabulary
        self.max_bytes_per_word = int(max_bytes_per_word)
        self._wordpiece = tf_text.FastWordpieceTokenizer(
            vocab=vocabulary,
            suffix_indicator=SUFFIX,
            max_bytes_per_word=self.max_bytes_per_word,
            token_out_type=tf.int32,
            unknown_token=st.UNK,
            no_pretokenization=False,
            support_detokenization=True,
        )

    @property
    def vocabulary_size(self):
        return len(self._vocabulary)

    def get_vocabulary(self):
        return list(self._vocabulary)

    def get_config(self):
        return dict(super().get_config(), max_bytes_per_word=self.max_bytes_per_word)

    def _tokenize(self, texts):
        return self._wordpiece.tokenize(texts)

    def _detokenize(self, ids):
        return self._wordpiece.detokenize(ids)

    def _save_assets(self, directory):
        write_vocabulary_file(self._vocabulary, os.path.join(directory, VOCAB_FILE))
        return {"vocabulary": VOCAB_FILE}

    @classmethod
    def _from_saved(cls, directory, config):
        return cls(**dict(config, vocabulary=os.path.join(directory, config["vocabulary"])))

    learns_from_counts = True

    @classmethod
    def counting_units(cls, texts, **normalization):
        """The learner's words (BERT's basic split of normalized text) and, as `CHARACTER_UNIT` + character,
        every non-space character (the split drops some that FastWordpiece keeps inside words)."""
        from tensorflow_text.python.ops.bert_tokenizer import BasicTokenizer

        texts = normalize_text(texts, **normalization)
        words = BasicTokenizer(lower_case=False).tokenize(texts).flat_values
        characters = tf.strings.unicode_split(texts, "UTF-8").flat_values
        return tf.concat([words, tf.strings.join([CHARACTER_UNIT, characters])], 0)

    @classmethod
    def from_counts(cls, counts, vocab_size, max_bytes_per_word=100, **kwargs):
        """tensorflow-text's WordPiece learner on the word counts (ordered by count, then word, so the result
        does not depend on the order they were counted in), plus every counted character."""
        from tensorflow_text.tools.wordpiece_vocab import wordpiece_tokenizer_learner_lib as learner

        if vocab_size <= st.NUM_SPECIAL_TOKENS:
            raise ValueError(f"vocab_size must exceed the {st.NUM_SPECIAL_TOKENS} special tokens, got {vocab_size}")
        words = {u.decode("utf-8"): c for u, c in counts.items() if not u.startswith(CHARACTER_UNIT)}
        if not words:
            raise ValueError("cannot train a vocabulary: the corpus holds no words")
        vocab = learner.learn(dict(sorted(words.items(), key=lambda wc: (-wc[1], wc[0]))), vocab_size,
                              list(st.SPECIAL_TOKENS))
        # The learner's word splitter drops some characters that FastWordpiece keeps inside words (format
        # characters such as the zero-width joiner in emoji sequences); without a piece for them the whole
        # word would become <unk>. Add every missing corpus character, as a word start and as a continuation.
        characters = {u[len(CHARACTER_UNIT):].decode("utf-8") for u in counts if u.startswith(CHARACTER_UNIT)}
        known = set(vocab)
        missing = [c for c in sorted(characters) if not c.isspace() and (c not in known or SUFFIX + c not in known)]
        vocab = vocab + [p for c in missing for p in (c, SUFFIX + c) if p not in known]
        return cls(vocab, max_bytes_per_word=max_bytes_per_word, **kwargs)

    @classmethod
    def train(cls, corpus, vocab_size, max_bytes_per_word=100, **kwargs):
        """Learns a WordPiece vocabulary of about `vocab_size` tokens (special tokens included) from a corpus
        (dataset of strings, file path or list of paths). Learning runs on normalized text."""
        if vocab_size <= st.NUM_SPECIAL_TOKENS:
            raise ValueError(f"vocab_size must exceed the {st.NUM_SPECIAL_TOKENS} special tokens, got {vocab_size}")
        counts = count_units(corpus, lambda texts: cls.counting_units(texts, **kwargs))
        return cls.from_counts(counts, vocab_size, max_bytes_per_word=max_bytes_per_word, **kwargs)
