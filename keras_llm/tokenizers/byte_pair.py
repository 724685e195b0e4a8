"""Byte-level BPE (GPT-2's tokenizer), run entirely in the TensorFlow graph.

Text is split into words with GPT-2's pre-tokenization rule, each word's UTF-8 bytes start as one symbol each,
and the ranked merges (merges.txt: "a b" per line, lowest line first) are applied until no adjacent pair of
symbols is a merge. The files are GPT-2's own format (vocab.json: token -> id, tokens spelled with GPT-2's
printable stand-ins for bytes, "Ġ" for a space), so a vocabulary from Hugging Face or a KerasHub preset loads
as is, and one trained here loads in those libraries.

How it runs in the graph (tensorflow-text and core TF ops only):
- Pre-tokenization: GPT-2's regex rule, computed from character classes (gpt2_words.py), so no lookahead
  (which RE2 lacks) and no slow Unicode regex is needed.
- Merging. Every word the vocabulary itself holds, and its bytes, is looked up in a table computed once at
  construction (most words of running text). The other words go through a vectorized merge loop: each round
  looks up the rank of every adjacent pair of every word at once, merges, in each word, all occurrences of
  its lowest-ranked pair left to right (GPT-2's rule: "a a a" -> "aa a"), and stops when no word changes.
- Special tokens given as `unsplittable_tokens` (by default `<|endoftext|>` when the vocabulary has it) are
  matched in the text first and become their own id, as in GPT-2's and Hugging Face's tokenizers.

Normalization: none by default (byte-level BPE encodes any text); invalid UTF-8 byte sequences become U+FFFD
first, a documented, deterministic cleaning step (GPT-2's tokenizers take decoded text).
"""
import json
import os

import tensorflow as tf
import tensorflow_text as tf_text

from keras_llm import special_tokens as st
from keras_llm.tokenizers.base import Tokenizer, count_units, register
from keras_llm.tokenizers.gpt2_words import WordSplitter
from keras_llm.tokenizers.normalization import clean_invalid_utf8, normalize_text

VOCAB_FILE = "vocab.json"
MERGES_FILE = "merges.txt"
END_OF_TEXT = "<|endoftext|>"

_NO_RANK = 2**62


def bytes_to_unicode():
    """GPT-2's byte -> printable character table: printable Latin-1 bytes stand for themselves, the other 68
    bytes (controls, space, ...) for the characters from U+0100 on, in byte order ("Ġ" is the space)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table, extra = {}, 0
    for byte in range(256):
        if byte in printable:
            table[byte] = chr(byte)
        else:
            table[byte] = chr(256 + extra)
            extra += 1
    return table


BYTE_TO_CHAR = bytes_to_unicode()
CHAR_TO_BYTE = {c: b for b, c in BYTE_TO_CHAR.items()}


def token_to_bytes(token, where="vocabulary"):
    try:
        return bytes(CHAR_TO_BYTE[c] for c in token)
    except KeyError as error:
        raise ValueError(f"{where}: token {token!r} holds {error.args[0]!r}, which is not one of GPT-2's 256 byte "
                         "characters (is this a byte-level BPE vocabulary?)") from None


def bytes_to_token(raw):
    return "".join(BYTE_TO_CHAR[b] for b in raw)


@register
class BytePairTokenizer(Tokenizer):
    """Byte-level BPE from a vocabulary and ranked merges (GPT-2's vocab.json + merges.txt, or trained here).

    Args:
        vocabulary: dict token -> id, or a path to a vocab.json. Tokens are spelled with GPT-2's byte characters;
            all 256 single bytes must be tokens, and every merge's result must be one.
        merges: list of "a b" strings (rank = position) or a path to a merges.txt (a "#version" line is skipped).
        unsplittable_tokens: strings matched in the text as whole tokens before splitting (each must be in the
            vocabulary). Default: `["<|endoftext|>"]` if the vocabulary holds it, else none.
        end_token: the end-of-text token (`eos_id`; also the start token of generation). Default:
            `<|endoftext|>` if present, else keras_llm's `<eos>` if present.
        lowercase, strip_html, nfkc: optional normalization (all off by default, as in GPT-2).

    A vocabulary that starts with keras_llm's seven special tokens (what `train` builds) keeps their ids and
    meanings (pad 0, eos 3, ...); any other (GPT-2's) has no padding or unknown token, and `eos_id` is
    `end_token`'s id.

    Example:
        >>> tok = BytePairTokenizer.train(tf.data.Dataset.from_tensor_slices(["the cat sat"] * 10), 300)
        >>> tok.detokenize(tok.tokenize(["the cat"])).numpy()
        array([b'the cat'], dtype=object)
    """

    def __init__(self, vocabulary, merges, unsplittable_tokens=None, end_token=None, *, lowercase=False,
                 strip_html=False, nfkc=False, name=None):
        super().__init__(lowercase=lowercase, strip_html=strip_html, nfkc=nfkc, name=name)
        vocabulary, merges = _read_vocabulary(vocabulary), _read_merges(merges)
        self._vocabulary, self._merges = vocabulary, merges
        self._words = WordSplitter()
        size = max(vocabulary.values()) + 1
        if sorted(vocabulary.values()) != list(range(size)):
            raise ValueError("vocabulary: ids must be 0..N-1, each used once")
        by_id = [None] * size
        for token, i in vocabulary.items():
            by_id[i] = token
        self._tokens = by_id
        self._own_layout = tuple(by_id[: st.NUM_SPECIAL_TOKENS]) == st.SPECIAL_TOKENS
        if unsplittable_tokens is None:
            unsplittable_tokens = [END_OF_TEXT] if END_OF_TEXT in vocabulary else []
        self.unsplittable_tokens = [str(t) for t in unsplittable_tokens]
        for token in self.unsplittable_tokens:
            if token not in vocabulary:
                raise ValueError(f"unsplittable token {token!r} is not in the vocabulary")
        if end_token is None:
            end_token = END_OF_TEXT if END_OF_TEXT in vocabulary else (st.EOS if self._own_layout else None)
        if end_token is not None and end_token not in vocabulary:
            raise ValueError(f"end_token {end_token!r} is not in the vocabulary")
        self.end_token = end_token
        self._set_special_ids()

        specials = set(self.unsplittable_tokens) | (set(st.SPECIAL_TOKENS) if self._own_layout else set())
        if end_token is not None:
            specials.add(end_token)
        # Each id's bytes (special tokens have none: detokenize drops them).
        raw = [b"" if t in specials else token_to_bytes(t) for t in by_id]
        self._id_to_bytes = tf.constant(raw, dtype=tf.string)
        byte_ids = []
        for b in range(256):
            char = BYTE_TO_CHAR[b]
            if char not in vocabulary:
                raise ValueError(f"vocabulary: no token for the byte 0x{b:02X} ({char!r}); byte-level BPE needs all 256")
            byte_ids.append(vocabulary[char])
        self._byte_to_id = tf.constant(byte_ids, dtype=tf.int64)

        keys, merged = [], []
        for rank, (left, right) in enumerate(merges):
            for part in (left, right, left + right):
                if part not in vocabulary:
                    raise ValueError(f"merges: rank {rank} ({left} {right}) uses {part!r}, which is not in the vocabulary")
            keys.append(vocabulary[left] * size + vocabulary[right])
            merged.append(vocabulary[left + right])
        self._size = size
        self._pair_rank = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(tf.constant(keys or [-1], tf.int64),
                                                tf.range(max(len(keys), 1), dtype=tf.int64)),
            default_value=_NO_RANK)
        self._merged_id = tf.constant(merged or [0], dtype=tf.int64)

        # The words the vocabulary spells (and the special tokens), with their merged ids: computed once, here,
        # by the same merge loop, so the common words of running text skip it.
        words = [r for t, r in zip(by_id, raw) if t not in specials and r]
        known_ids = self._merge_words(tf.constant(words, tf.string))
        special_words = [t.encode("utf-8") for t in self.unsplittable_tokens]
        if special_words:
            special_ids = tf.constant([vocabulary[t] for t in self.unsplittable_tokens], tf.int64)
            known_ids = tf.concat([known_ids, tf.RaggedTensor.from_row_lengths(
                special_ids, tf.ones_like(special_ids))], axis=0)
        known = tf.constant(words + special_words, tf.string)
        self._known_splits = known_ids.row_splits
        self._known_values = known_ids.flat_values
        self._known_row = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(known, tf.range(len(words) + len(special_words), dtype=tf.int64)),
            default_value=-1)
        self._special_words = tf.constant(special_words or [b""], tf.string)
        self._unsplittable = "|".join(_escape(t) for t in self.unsplittable_tokens) or None

    def _set_special_ids(self):
        v = self._vocabulary
        if self._own_layout:
            self.pad_id, self.unk_id, self.bos_id, self.eos_id = st.PAD_ID, st.UNK_ID, st.BOS_ID, st.EOS_ID
            self.mask_id, self.cls_id, self.sep_id = st.MASK_ID, st.CLS_ID, st.SEP_ID
            self.silent_ids = st.SILENT_IDS
        else:
            end = v.get(self.end_token) if self.end_token else None
            self.pad_id = self.unk_id = self.mask_id = self.cls_id = self.sep_id = None
            self.bos_id = self.eos_id = end
            self.silent_ids = tuple(sorted({v[t] for t in self.unsplittable_tokens} | ({end} if end is not None else set())))

    # ---- the Tokenizer interface --------------------------------------------------------------------
    @property
    def vocabulary_size(self):
        return self._size

    def get_vocabulary(self):
        return list(self._tokens)

    def get_merges(self):
        return [f"{a} {b}" for a, b in self._merges]

    def token_conventions(self):
        """What a model trained on these ids needs to know (TransformerLanguageModel's `token_conventions`)."""
        if self._own_layout:
            return None  # keras_llm's defaults
        return {"eos_id": self.eos_id, "suppressed_ids": [], "pad_id": None}

    def get_config(self):
        return dict(super().get_config(), unsplittable_tokens=list(self.unsplittable_tokens), end_token=self.end_token)

    def normalize(self, texts):
        return normalize_for_byte_pairs(texts, lowercase=self.lowercase, strip_html=self.strip_html, nfkc=self.nfkc)

    def _tokenize(self, texts):
        if self._unsplittable:
            # special tokens first, as their own segments; each becomes one word, looked up as itself
            segments = tf_text.regex_split(texts, self._unsplittable, self._unsplittable)
            flat = segments.flat_values
            is_special = tf.reduce_any(tf.equal(flat[:, None], self._special_words[None, :]), axis=1)
            words = self._words.split(tf.where(is_special, tf.constant(b""), flat))
            specials = tf.RaggedTensor.from_row_lengths(tf.boolean_mask(flat, is_special), tf.cast(is_special, tf.int64))
            words = segments.with_flat_values(tf.concat([specials, words], axis=1)).merge_dims(1, 2)
        else:
            words = self._words.split(texts)
        ids = self._word_ids(words.flat_values)
        return tf.cast(words.with_flat_values(ids).merge_dims(1, 2), tf.int32)

    def _detokenize(self, ids):
        pieces = tf.cast(ids, tf.int64)
        pieces = ids.with_flat_values(tf.gather(self._id_to_bytes, pieces.flat_values))
        return tf.strings.reduce_join(pieces, axis=-1)

    # ---- merging ------------------------------------------------------------------------------------
    def _word_ids(self, words):
        """string[n] words -> int64 ragged [n, (ids)]: table hits gathered, the rest merged in the graph."""
        row = self._known_row.lookup(words)
        hit = row >= 0
        known = tf.RaggedTensor.from_row_splits(self._known_values, self._known_splits, validate=False)
        hits = tf.gather(known, tf.boolean_mask(row, hit))
        misses = self._merge_words(tf.boolean_mask(words, ~hit))
        # original order: position of each word in concat([hits, misses])
        hit_rank = tf.cumsum(tf.cast(hit, tf.int64), exclusive=True)
        miss_rank = tf.cumsum(tf.cast(~hit, tf.int64), exclusive=True) + tf.reduce_sum(tf.cast(hit, tf.int64))
        return tf.gather(tf.concat([hits, misses], axis=0), tf.where(hit, hit_rank, miss_rank))

    def _merge_words(self, words):
        """string[n] -> int64 ragged [n, (ids)], by the merge loop (GPT-2's `bpe`, all words at once)."""
        chars = tf.strings.bytes_split(words)
        byte_values = tf.cast(tf.io.decode_raw(chars.flat_values, tf.uint8, fixed_length=1)[:, 0], tf.int64)
        values = tf.gather(self._byte_to_id, byte_values)
        splits = chars.row_splits
        size = tf.constant(self._size, tf.int64)

        def body(values, splits, _):
            n = tf.size(values, out_type=tf.int64)
            row_ids = tf.ragged.row_splits_to_segment_ids(splits)
            # pair i = (values[i], values[i + 1]), valid when both are in the same word
            same_word = tf.equal(row_ids[:-1], row_ids[1:])
            ranks = self._pair_rank.lookup(values[:-1] * size + values[1:])
            ranks = tf.where(same_word, ranks, _NO_RANK)
            lowest = tf.math.unsorted_segment_min(ranks, row_ids[:-1], tf.size(splits, out_type=tf.int64) - 1)
            chosen = tf.equal(ranks, tf.gather(lowest, row_ids[:-1])) & (ranks < _NO_RANK)
            # consecutive occurrences ("a a a" for the pair "a a") merge left to right: every other one
            previous = tf.concat([[False], chosen[:-1]], 0)
            run_starts = chosen & ~previous
            start_of_run = tf.concat([tf.boolean_mask(tf.range(n - 1), run_starts), [0]], 0)  # + 0: never empty
            run = tf.cumsum(tf.cast(run_starts, tf.int64)) - 1
            offset = tf.range(n - 1) - tf.gather(start_of_run, tf.maximum(run, 0))
            merge = chosen & tf.equal(offset % 2, 0)
            merged = tf.gather(self._merged_id, tf.where(merge, ranks, 0))
            new_values = tf.where(tf.concat([merge, [False]], 0), tf.concat([merged, [0]], 0), values)
            keep = ~tf.concat([[False], merge], 0)
            lengths = tf.math.unsorted_segment_sum(tf.cast(keep, tf.int64), row_ids, tf.size(splits, out_type=tf.int64) - 1)
            return (tf.boolean_mask(new_values, keep), tf.concat([[0], tf.cumsum(lengths)], 0),
                    tf.reduce_any(merge))

        def cond(values, splits, changed):
            return changed

        values, splits, _ = tf.while_loop(
            cond, body, (values, splits, tf.size(values) > 1),
            shape_invariants=(tf.TensorShape([None]), tf.TensorShape([None]), tf.TensorShape([])))
        return tf.RaggedTensor.from_row_splits(values, splits, validate=False)

    # ---- files --------------------------------------------------------------------------------------
    def _save_assets(self, directory):
        write_vocabulary(self._vocabulary, os.path.join(directory, VOCAB_FILE))
        write_merges(self._merges, os.path.join(directory, MERGES_FILE))
        return {"vocabulary": VOCAB_FILE, "merges": MERGES_FILE}

    @classmethod
    def _from_saved(cls, directory, config):
        return cls(**dict(config, vocabulary=os.path.join(directory, config["vocabulary"]),
                          merges=os.path.join(directory, config["merges"])))

    learns_from_counts = True

    @classmethod
    def counting_units(cls, texts, **normalization):
        return WordSplitter().split(normalize_for_byte_pairs(texts, **normalization)).flat_values

    @classmethod
    def from_counts(cls, counts, vocab_size, min_frequency=2, **kwargs):
        """Merges learned from GPT-2-word counts (see byte_pair_training.py)."""
        from keras_llm.tokenizers.byte_pair_training import merges_from_counts

        vocabulary, merges = merges_from_counts(counts, vocab_size, min_frequency=min_frequency)
        return cls(vocabulary, merges, unsplittable_tokens=[], **kwargs)

    @classmethod
    def train(cls, corpus, vocab_size, min_frequency=2, **kwargs):
        """Learns merges from a corpus (dataset of strings, file path or list of paths): keras_llm's seven
        special tokens, the 256 bytes, then merges until `vocab_size` tokens (see byte_pair_training.py)."""
        from keras_llm.tokenizers.byte_pair_training import check_vocab_size

        check_vocab_size(vocab_size)
        counts = count_units(corpus, lambda texts: cls.counting_units(texts, **kwargs))
        return cls.from_counts(counts, vocab_size, min_frequency=min_frequency, **kwargs)


def normalize_for_byte_pairs(texts, lowercase=False, strip_html=False, nfkc=False):
    """No normalization unless asked (GPT-2 has none); invalid UTF-8 always becomes U+FFFD."""
    if lowercase or strip_html or nfkc:
        return normalize_text(texts, lowercase=lowercase, strip_html=strip_html, nfkc=nfkc)
    return clean_invalid_utf8(texts)


def _escape(token):
    """`token` as a literal RE2 pattern."""
    return "".join("\\" + c if c in "\\.^$|?*+()[]{}" else c for c in token)


def _read_vocabulary(vocabulary):
    if isinstance(vocabulary, (str, os.PathLike)):
        path = os.fspath(vocabulary)
        try:
            with open(path, encoding="utf-8") as handle:
                vocabulary = json.load(handle)
        except FileNotFoundError:
            raise FileNotFoundError(f"vocabulary file not found: {path}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ValueError(f"{path}: not a JSON token -> id map ({error})") from None
        if not isinstance(vocabulary, dict) or not all(isinstance(i, int) for i in vocabulary.values()):
            raise ValueError(f"{path}: not a JSON token -> id map")
    return {str(t): int(i) for t, i in dict(vocabulary).items()}


def _read_merges(merges):
    where = "merges"
    if isinstance(merges, (str, os.PathLike)):
        where = os.fspath(merges)
        try:
            with open(where, encoding="utf-8") as handle:
                merges = [line.rstrip("\n") for line in handle]
        except FileNotFoundError:
            raise FileNotFoundError(f"merges file not found: {where}") from None
        if merges and merges[0].startswith("#version"):
            merges = merges[1:]
        merges = [m for m in merges if m]
    pairs = []
    for number, merge in enumerate(merges):
        parts = merge.split(" ") if isinstance(merge, str) else list(merge)
        if len(parts) != 2 or not all(parts):
            raise ValueError(f"{where}: merge {number} is {merge!r}, not two tokens separated by one space")
        pairs.append((parts[0], parts[1]))
    return pairs


def write_vocabulary(vocabulary, path):
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(vocabulary, handle, ensure_ascii=False)


def write_merges(merges, path):
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("#version: 0.2\n")
        for left, right in merges:
            handle.write(f"{left} {right}\n")
