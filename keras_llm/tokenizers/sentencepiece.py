"""SentencePiece tokenizer: model trained with the `sentencepiece` package, run by tensorflow-text.

Training uses our normalization (the model's own rule is `identity`), maps the special tokens to their fixed
ids (pad/unk/bos/eos as SentencePiece's own ids 0-3; mask/cls/sep as control symbols 4-6, which are never
matched in input text), and optionally falls back to bytes for unseen characters (`byte_fallback=True`,
needs a vocabulary of at least 7 + 256 + a few pieces). Detokenization restores the text with runs of
whitespace collapsed to one space.

Corpora bigger than memory: SentencePiece's trainer holds its input sentences in memory, so `train` feeds it at
most `max_lines` lines (default 1M). A longer corpus is streamed once and sampled: the `max_lines` non-blank
lines with the smallest `sample_key(line, seed)` (a keyed SHA-256, so the sample is the same for a given seed
whatever the order or sharding of the files), in key order. `VocabularyGen` takes the same sample with a Beam
`Top` combiner. A corpus within the limit is used whole, in its own order.
"""
import functools
import hashlib
import heapq
import io
import os

import tensorflow as tf
import tensorflow_text as tf_text

from keras_llm import special_tokens as st
from keras_llm.tokenizers.base import Tokenizer, corpus_dataset, register
from keras_llm.tokenizers.normalization import normalize_text

MODEL_FILE = "sentencepiece.model"
MAX_TRAINING_LINES = 1_000_000


def sample_key(line, seed=0):
    """The sampling key of a raw line (bytes): a 64-bit keyed SHA-256; lines with the smallest keys are kept."""
    return int.from_bytes(hashlib.sha256(seed.to_bytes(8, "little", signed=True) + line).digest()[:8], "little")


def sample_lines(corpus, max_lines=MAX_TRAINING_LINES, seed=0):
    """The non-blank raw lines of `corpus` (bytes): all of them in order when there are at most `max_lines`,
    else the `max_lines` with the smallest `sample_key`, in key order. One streaming pass; memory holds at
    most `max_lines` lines."""
    if max_lines < 1:
        raise ValueError(f"max_lines must be at least 1, got {max_lines}")
    heap, seen = [], 0  # (-key, -index, line): the root is the line with the largest key kept so far
    for batch in corpus_dataset(corpus).batch(4096):
        for line in batch.numpy():
            if not line.strip():
                continue
            entry = (-sample_key(line, seed), -seen, line)
            seen += 1
            if len(heap) < max_lines:
                heapq.heappush(heap, entry)
            elif entry > heap[0]:
                heapq.heapreplace(heap, entry)
    if seen <= max_lines:
        return [line for _, _, line in sorted(heap, key=lambda entry: -entry[1])]
    return [line for _, _, line in sorted(heap, reverse=True)]


@register
class SentencePieceTokenizer(Tokenizer):
    """SentencePiece (unigram or BPE) over a trained model.

    Args:
        model: serialized SentencePiece model proto (bytes) or a path to a `.model` file.
        **kwargs: normalization options of `Tokenizer` (`lowercase`, `strip_html`, `nfkc`).

    Example:
        >>> texts = tf.data.Dataset.from_tensor_slices(["the cat sat on the mat"] * 50)
        >>> tok = SentencePieceTokenizer.train(texts, vocab_size=30)
        >>> tok.detokenize(tok.tokenize(["the mat"])).numpy()
        array([b'the mat'], dtype=object)
    """

    def __init__(self, model, **kwargs):
        super().__init__(**kwargs)
        if isinstance(model, (str, os.PathLike)):
            with open(model, "rb") as f:
                model = f.read()
        self._model_proto = bytes(model)
        self._sp = tf_text.SentencepieceTokenizer(model=self._model_proto, out_type=tf.int32)
        self._size = int(self._sp.vocab_size().numpy())
        pieces = [p.decode("utf-8") for p in self._sp.id_to_string(tf.range(st.NUM_SPECIAL_TOKENS)).numpy()]
        if tuple(pieces) != st.SPECIAL_TOKENS:
            raise ValueError(f"SentencePiece model: ids 0-6 must be {list(st.SPECIAL_TOKENS)}, got {pieces}")

    @property
    def vocabulary_size(self):
        return self._size

    def get_vocabulary(self):
        return [p.decode("utf-8") for p in self._sp.id_to_string(tf.range(self._size)).numpy()]

    def _tokenize(self, texts):
        return self._sp.tokenize(texts)

    def _detokenize(self, ids):
        return self._sp.detokenize(ids)

    def _save_assets(self, directory):
        with open(os.path.join(directory, MODEL_FILE), "wb") as f:
            f.write(self._model_proto)
        return {"model": MODEL_FILE}

    @classmethod
    def _from_saved(cls, directory, config):
        return cls(**dict(config, model=os.path.join(directory, config["model"])))

    @classmethod
    def train(cls, corpus, vocab_size, model_type="unigram", byte_fallback=False, max_lines=MAX_TRAINING_LINES,
              seed=0, **kwargs):
        """Trains a SentencePiece model of at most `vocab_size` pieces (special tokens included) on a corpus
        (dataset of strings, file path or list of paths), with full character coverage. A corpus of more than
        `max_lines` non-blank lines is sampled to `max_lines` of them, deterministically for a `seed` (see the
        module docstring)."""
        import sentencepiece

        normalize = functools.partial(normalize_text, **kwargs)
        sample = sample_lines(corpus, max_lines, seed)
        lines = (
            line.decode("utf-8")
            for start in range(0, len(sample), 4096)
            for line in normalize(tf.constant(sample[start:start + 4096], tf.string)).numpy()
            if line.strip()
        )
        first = next(lines, None)
        if first is None:
            raise ValueError("cannot train a SentencePiece model: the corpus holds no text")
        model = io.BytesIO()
        sentencepiece.SentencePieceTrainer.train(
            sentence_iterator=_chain(first, lines),
            model_writer=model,
            vocab_size=vocab_size,
            model_type=model_type,
            character_coverage=1.0,
            byte_fallback=byte_fallback,
            normalization_rule_name="identity",
            pad_id=st.PAD_ID, unk_id=st.UNK_ID, bos_id=st.BOS_ID, eos_id=st.EOS_ID,
            pad_piece=st.PAD, unk_piece=st.UNK, bos_piece=st.BOS, eos_piece=st.EOS,
            control_symbols=[st.MASK, st.CLS, st.SEP],
            unk_surface=st.UNK,
            hard_vocab_limit=False,
            max_sentence_length=1 << 20,
            minloglevel=2,
            num_threads=1,
        )
        return cls(model.getvalue(), **kwargs)


def _chain(first, rest):
    yield first
    yield from rest
