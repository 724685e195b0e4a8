"""The tokenizer of a pretrained checkpoint folder (what `keras-llm convert` writes beside the model).

GPT-2's byte-level BPE files, from either folder format `keras_llm.models.from_pretrained` reads:
- a Hugging Face folder: `vocab.json` + `merges.txt` next to `config.json`;
- a KerasHub preset: `assets/tokenizer/vocabulary.json` + `assets/tokenizer/merges.txt`.
BERT's `vocab.txt` is not converted: keras_llm's WordPiece vocabularies start with keras_llm's own special
tokens, and BERT's do not.
"""
import os

from keras_llm.tokenizers.byte_pair import BytePairTokenizer

_LAYOUTS = (("vocab.json", "merges.txt"), (os.path.join("assets", "tokenizer", "vocabulary.json"),
                                           os.path.join("assets", "tokenizer", "merges.txt")))


def checkpoint_tokenizer_files(path):
    """-> (vocabulary path, merges path) of the checkpoint folder, or None when it has no BPE files."""
    for vocabulary, merges in _LAYOUTS:
        vocabulary, merges = os.path.join(path, vocabulary), os.path.join(path, merges)
        if os.path.isfile(vocabulary) and os.path.isfile(merges):
            return vocabulary, merges
    return None


def checkpoint_tokenizer(path):
    """The checkpoint's `BytePairTokenizer` (GPT-2 conventions: `<|endoftext|>` ends text), or None."""
    files = checkpoint_tokenizer_files(path)
    return None if files is None else BytePairTokenizer(*files)
