"""Tokenizers built on tensorflow-text: WordPiece, word-level, byte-level, byte-level BPE (GPT-2) and SentencePiece.

All share normalization (`normalize_text`), the special tokens and their fixed ids (`special_tokens`),
graph-mode `tokenize` / `detokenize` on batches, and `save(dir)` / `load_tokenizer(dir)`.
"""
from keras_llm.tokenizers import special_tokens
from keras_llm.tokenizers.base import Tokenizer, load_tokenizer
from keras_llm.tokenizers.byte import ByteTokenizer
from keras_llm.tokenizers.byte_pair import BytePairTokenizer
from keras_llm.tokenizers.normalization import normalize_text
from keras_llm.tokenizers.sentencepiece import SentencePieceTokenizer
from keras_llm.tokenizers.stop_words import ENGLISH_STOP_WORDS, StopWordFilter
from keras_llm.tokenizers.word import WordTokenizer
from keras_llm.tokenizers.wordpiece import WordPieceTokenizer

TOKENIZERS = {
    "word": WordTokenizer,
    "wordpiece": WordPieceTokenizer,
    "byte": ByteTokenizer,
    "sentencepiece": SentencePieceTokenizer,
    "bpe": BytePairTokenizer,
}


def train_tokenizer(kind, corpus, vocab_size=None, **kwargs):
    """Trains (or, for `byte`, builds) a tokenizer of the given kind: word, wordpiece, byte, sentencepiece, bpe."""
    if kind not in TOKENIZERS:
        raise ValueError(f"unknown tokenizer {kind!r}; choose one of {sorted(TOKENIZERS)}")
    if kind == "byte":
        return ByteTokenizer(**kwargs)
    if vocab_size is None:
        raise ValueError(f"the {kind} tokenizer needs a vocab_size")
    return TOKENIZERS[kind].train(corpus, vocab_size, **kwargs)


__all__ = [
    "BytePairTokenizer", "ByteTokenizer", "ENGLISH_STOP_WORDS", "SentencePieceTokenizer", "StopWordFilter", "TOKENIZERS", "Tokenizer",
    "WordPieceTokenizer", "WordTokenizer", "load_tokenizer", "normalize_text", "special_tokens", "train_tokenizer",
]
