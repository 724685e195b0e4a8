"""The tokenizer base class: normalization, special tokens, batch tokenize/detokenize, save/load.

A tokenizer is a `tf.Module`. Its `tokenize` and `detokenize` are `tf.function`s with fixed input signatures,
so the same object runs eagerly, inside `tf.data.Dataset.map`, inside another `tf.function`, and inside a
SavedModel that is later loaded by a process that never imports keras_llm (the vocabulary is part of the
saved graph; `save(dir)` also writes it as a plain file next to a `tokenizer.json` config).
"""
import collections
import json
import os

import tensorflow as tf

from keras_llm import special_tokens as st
from keras_llm.tokenizers.normalization import normalize_text

CONFIG_FILE = "tokenizer.json"
_REGISTRY = {}


def register(cls):
    """Class decorator: lets `load_tokenizer` find a tokenizer class by the name stored in tokenizer.json."""
    _REGISTRY[cls.__name__] = cls
    return cls


class Tokenizer(tf.Module):
    """Base class. Subclasses implement `_tokenize(normalized_texts)` and `_detokenize(ids)`.

    Args:
        lowercase: lowercase during normalization.
        strip_html: remove HTML tags during normalization.
        nfkc: apply NFKC normalization (invalid UTF-8 and control characters are always cleaned).
        name: module name.
    """

    pad_id, unk_id, bos_id, eos_id = st.PAD_ID, st.UNK_ID, st.BOS_ID, st.EOS_ID
    mask_id, cls_id, sep_id = st.MASK_ID, st.CLS_ID, st.SEP_ID
    special_tokens = st.SPECIAL_TOKENS
    silent_ids = st.SILENT_IDS  # dropped by detokenize

    def __init__(self, *, lowercase=False, strip_html=False, nfkc=True, name=None):
        super().__init__(name=name)
        self.lowercase = bool(lowercase)
        self.strip_html = bool(strip_html)
        self.nfkc = bool(nfkc)

    # ---- to implement -------------------------------------------------------------------------------
    @property
    def vocabulary_size(self):
        raise NotImplementedError

    def _tokenize(self, texts):
        """texts: normalized string[None] -> int32 ragged [None, None]."""
        raise NotImplementedError

    def _detokenize(self, ids):
        """ids: int32 ragged [None, None] without silent special ids -> string[None]."""
        raise NotImplementedError

    def _save_assets(self, directory):
        """Writes the vocabulary/model files; returns config entries that name them."""
        raise NotImplementedError

    def get_config(self):
        return {"lowercase": self.lowercase, "strip_html": self.strip_html, "nfkc": self.nfkc}

    # ---- shared behaviour ---------------------------------------------------------------------------
    def normalize(self, texts):
        return normalize_text(texts, lowercase=self.lowercase, strip_html=self.strip_html, nfkc=self.nfkc)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def tokenize(self, texts):
        """Batch of strings -> int32 ragged ids `[batch, (tokens)]`."""
        return self._tokenize(self.normalize(texts))

    @tf.function(input_signature=[tf.RaggedTensorSpec([None, None], tf.int32)])
    def detokenize(self, ids):
        """int32 ragged ids `[batch, (tokens)]` -> batch of strings. Pad/bos/eos/cls/sep (`silent_ids`) are
        dropped and ids outside the vocabulary become `<unk>` (are dropped where there is no `<unk>`)."""
        in_range = (ids.flat_values >= 0) & (ids.flat_values < self.vocabulary_size)
        if self.unk_id is None:  # a vocabulary without <unk> (GPT-2's): ids out of range are dropped
            keep = in_range
        else:
            ids = ids.with_flat_values(tf.where(in_range, ids.flat_values, tf.cast(self.unk_id, ids.dtype)))
            keep = tf.ones_like(ids.flat_values, dtype=tf.bool)
        for silent in self.silent_ids:
            keep &= tf.not_equal(ids.flat_values, silent)
        ids = tf.ragged.boolean_mask(ids, ids.with_flat_values(keep))
        return self._detokenize(ids)

    def __call__(self, texts):
        """Convenience: a Python string, a list of strings, or a string tensor of rank 0 or 1.
        Rank 0 gives a 1-D int32 tensor; rank 1 gives ragged ids."""
        texts = tf.convert_to_tensor(texts, dtype=tf.string)
        if texts.shape.rank == 0:
            return self.tokenize(tf.reshape(texts, [1]))[0]
        return self.tokenize(texts)

    def detokenize_one(self, ids):
        """1-D ids (list or tensor) -> a Python str (invalid UTF-8 bytes shown as U+FFFD)."""
        ids = tf.RaggedTensor.from_tensor(tf.reshape(tf.cast(ids, tf.int32), [1, -1]))
        return self.detokenize(ids)[0].numpy().decode("utf-8", errors="replace")

    def save(self, directory):
        """Writes `tokenizer.json` and the vocabulary/model asset file(s) into `directory`."""
        os.makedirs(directory, exist_ok=True)
        config = dict(self.get_config(), **self._save_assets(directory))
        with open(os.path.join(directory, CONFIG_FILE), "w", encoding="utf-8") as f:
            json.dump({"class": type(self).__name__, "config": config}, f, indent=2, sort_keys=True)

    @classmethod
    def load(cls, directory):
        tokenizer = load_tokenizer(directory)
        if not isinstance(tokenizer, cls):
            raise ValueError(f"{directory} holds a {type(tokenizer).__name__}, not a {cls.__name__}")
        return tokenizer

    @classmethod
    def _from_saved(cls, directory, config):
        """Rebuilds from a saved config; subclasses turn asset file names back into objects."""
        return cls(**config)

    # ---- learning from unit counts (word, wordpiece, bpe) ----------------------------------------------
    # `train(corpus, ...)` is `from_counts(count_units(corpus, counting_units), ...)`; the TFX VocabularyGen
    # counts the same units with a Beam combiner over shards and calls `from_counts` on the merged table.
    learns_from_counts = False

    @classmethod
    def counting_units(cls, texts, **normalization):
        """Graph: raw texts string[None] -> the units (words, ...) `from_counts` learns from, one per occurrence."""
        raise NotImplementedError(f"{cls.__name__} does not learn from unit counts")

    @classmethod
    def from_counts(cls, counts, vocab_size, **options):
        """A tokenizer learned from `{unit bytes: count}` (the counts of `counting_units` over a corpus)."""
        raise NotImplementedError(f"{cls.__name__} does not learn from unit counts")


def load_tokenizer(directory):
    """Loads any tokenizer written by `Tokenizer.save(directory)`."""
    path = os.path.join(directory, CONFIG_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no tokenizer in {directory}: {CONFIG_FILE} is missing")
    with open(path, encoding="utf-8") as f:
        saved = json.load(f)
    name = saved.get("class")
    if name not in _REGISTRY:
        raise ValueError(f"{path}: unknown tokenizer class {name!r} (known: {sorted(_REGISTRY)})")
    return _REGISTRY[name]._from_saved(directory, saved["config"])


def corpus_dataset(corpus):
    """A tf.data.Dataset of strings from a dataset, a text-file path or a list of paths (one line per element).

    In-memory texts: pass `tf.data.Dataset.from_tensor_slices(texts)`. A missing file is an error naming it."""
    if isinstance(corpus, tf.data.Dataset):
        return corpus
    paths = [os.fspath(corpus)] if isinstance(corpus, (str, os.PathLike)) else [os.fspath(p) for p in corpus]
    if not paths:
        raise ValueError("corpus is empty: no files given")
    for path in paths:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"corpus file not found: {path}")
    return tf.data.TextLineDataset(paths)


# Character units start with this byte (never the first byte of valid UTF-8), so one count table holds both
# words and characters (WordPiece learns from both).
CHARACTER_UNIT = b"\xff"


def count_units(corpus, units):
    """`collections.Counter` of the units that `units(batch of texts) -> string[None]` yields over a corpus
    (dataset of strings, file path or list of paths), streamed in batches: memory grows with the number of
    distinct units, not with the corpus. `Tokenizer.train` and the Beam `VocabularyGen` count the same units."""

    def unique(texts):
        values, _, numbers = tf.unique_with_counts(units(texts))
        return values, numbers

    counts = collections.Counter()
    for values, numbers in corpus_dataset(corpus).batch(4096).map(unique):
        counts.update(dict(zip(values.numpy().tolist(), numbers.numpy().tolist())))
    return counts


def read_vocabulary_file(path):
    with open(path, encoding="utf-8") as f:
        vocab = [line.rstrip("\n") for line in f]
    check_vocabulary(vocab, path)
    return vocab


def check_vocabulary(vocab, where="vocabulary"):
    """The vocabulary must start with the special tokens in their fixed order and hold no duplicates."""
    if tuple(vocab[: st.NUM_SPECIAL_TOKENS]) != st.SPECIAL_TOKENS:
        raise ValueError(f"{where}: must start with the special tokens {list(st.SPECIAL_TOKENS)}, got {vocab[:7]}")
    if len(set(vocab)) != len(vocab):
        dup = next(t for i, t in enumerate(vocab) if t in vocab[:i])
        raise ValueError(f"{where}: duplicate token {dup!r}")


def write_vocabulary_file(vocab, path):
    with open(path, "w", encoding="utf-8") as f:
        for token in vocab:
            f.write(token + "\n")
