"""GPT-2's pre-tokenization (text -> words, before byte-pair merging), vectorized in the TensorFlow graph.

GPT-2 splits text with the regex `'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+`
(Hugging Face's ByteLevel pre-tokenizer uses the same one). TensorFlow's RE2 has no lookahead, and
`tensorflow_text.regex_split` with Unicode classes runs at a quarter of its ASCII speed, so we do not run a
regex: each character gets a class (letter, number, space U+0020, other whitespace, anything else) from a
table, and the word starts follow from each character's class and its neighbours' — the same decisions the
regex makes, written out:

- a letter, number or other character starts a word where the class changes, unless the character before is
  a space U+0020, which then starts the word instead (` ?\\p{L}+`);
- in a run of whitespace, the first character starts a word, and so does the last one when a non-space
  follows (the lookahead `\\s+(?!\\S)` leaves it to the next word: a space joins that word, any other whitespace
  character is a word of its own);
- an apostrophe that starts a word and is followed by s, t, m, d, re, ve or ll (case-sensitive) is a
  contraction word; the letters after it start a new word.

`\\s` is Unicode White_Space (what `\\s` means for GPT-2's Python `regex` and for Oniguruma in HF `tokenizers`);
letters and numbers are the Unicode general categories L* and N* from Python's `unicodedata` (the table is
built once per process and stored in the graph, so a SavedModel keeps the classes it was exported with).
Tested against Python's `regex` with GPT-2's pattern on real and random text.
"""
import functools
import unicodedata

import numpy as np
import tensorflow as tf

LETTER, NUMBER, OTHER, SPACE, WHITESPACE = 0, 1, 2, 3, 4
WHITE_SPACE = (0x9, 0xA, 0xB, 0xC, 0xD, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F,
               0x205F, 0x3000)
_APOSTROPHE = ord("'")
_BLOCK = 256


@functools.lru_cache(maxsize=1)
def character_classes():
    """-> (blocks, block_of): the class of code point c is `blocks[block_of[c // 256] * 256 + c % 256]`
    (identical 256-code-point blocks are stored once: 121 blocks instead of 4352)."""
    classes = np.full(0x110000, OTHER, np.int32)
    for cp in range(0x110000):
        major = unicodedata.category(chr(cp))[0]
        if major == "L":
            classes[cp] = LETTER
        elif major == "N":
            classes[cp] = NUMBER
    classes[list(WHITE_SPACE)] = WHITESPACE
    classes[0x20] = SPACE
    blocks, block_of = np.unique(classes.reshape(-1, _BLOCK), axis=0, return_inverse=True)
    return blocks.reshape(-1), block_of.reshape(-1).astype(np.int32)


class WordSplitter(tf.Module):
    """`split(texts)`: valid UTF-8 string[None] -> ragged string [None, (words)]; the words join back to the
    text. (A module so the class table is created once and tracked in a SavedModel.)"""

    def __init__(self, name=None):
        super().__init__(name=name)
        blocks, block_of = character_classes()
        self._blocks = tf.constant(blocks, tf.int32)
        self._block_of = tf.constant(block_of, tf.int32)

    def split(self, texts):
        chars = tf.strings.unicode_decode(texts, "UTF-8")
        cp = chars.flat_values
        cls = tf.gather(self._blocks, tf.gather(self._block_of, cp // _BLOCK) * _BLOCK + cp % _BLOCK)
        row = chars.value_rowids()
        has_prev = tf.equal(row, _shift(row, 1, -1))  # character i - 1 is in the same text
        has_next = tf.equal(row, _shift(row, -1, -1))
        prev_cls = tf.where(has_prev, _shift(cls, 1, -1), -1)
        next_cls = tf.where(has_next, _shift(cls, -1, -1), -1)
        is_space = cls >= SPACE
        prev_not_space = prev_cls < SPACE  # also true at the start of a text (-1)
        next_not_space = (next_cls >= 0) & (next_cls < SPACE)
        start = tf.where(is_space, prev_not_space | next_not_space,
                         tf.not_equal(prev_cls, cls) & tf.not_equal(prev_cls, SPACE))

        # contractions: 's 't 'm 'd (one letter) and 're 've 'll (two), at an apostrophe that starts a word
        has_next2 = has_next & _shift(has_next, -1, False)
        next1 = tf.where(has_next, _shift(cp, -1, 0), 0)
        next2 = tf.where(has_next2, _shift(cp, -2, 0), 0)
        apostrophe = tf.equal(cp, _APOSTROPHE) & start
        one = apostrophe & _is_any(next1, "stmd")
        two = apostrophe & ((_is(next1, "r") & _is(next2, "e")) | (_is(next1, "v") & _is(next2, "e"))
                            | (_is(next1, "l") & _is(next2, "l")))
        inside = _shift(one | two, 1, False) | _shift(two, 2, False)  # the contraction's letters start nothing
        after = (_shift(one & has_next2, 2, False) | _shift(two & has_next2 & _shift(has_next, -2, False), 3, False))
        after &= tf.equal(cls, LETTER)  # a letter right after the contraction starts a word
        start = (start & ~inside) | after

        words = tf.strings.unicode_encode(tf.RaggedTensor.from_row_starts(cp, tf.where(start)[:, 0], validate=False),
                                          "UTF-8")
        per_text = tf.math.unsorted_segment_sum(tf.cast(start, tf.int64), row, chars.nrows())
        return tf.RaggedTensor.from_row_lengths(words, per_text, validate=False)


def _is(values, char):
    return tf.equal(values, ord(char))


def _is_any(values, chars):
    result = _is(values, chars[0])
    for char in chars[1:]:
        result |= _is(values, char)
    return result


def _shift(values, k, fill):
    """`values` moved k places right (k > 0: position i gets values[i - k]) or left (k < 0), `fill` coming in."""
    n = tf.size(values)
    padded = tf.concat([tf.fill([max(k, 0)], tf.constant(fill, values.dtype)), values,
                        tf.fill([max(-k, 0)], tf.constant(fill, values.dtype))], 0)
    return padded[max(-k, 0): max(-k, 0) + n] if k < 0 else padded[:n]
