"""BytePairTokenizer (GPT-2's byte-level BPE, in the graph) against the references that run here:
Python's `regex` with GPT-2's pattern (pre-tokenization), Hugging Face `tokenizers` (ids from the same
vocab.json/merges.txt, and loading ours), keras-hub's GPT2Tokenizer (ids). Vocabularies are trained on text the
project generates; the wikitext-2 check runs when ../shared/data is beside the repository."""
import json
import os
import random

import numpy as np
import pytest
import regex
import tensorflow as tf
from tokenizers import Tokenizer as HFTokenizer
from tokenizers import decoders, models, pre_tokenizers, trainers

from keras_llm.datasets import grammar_documents
from keras_llm.tokenizers import BytePairTokenizer, load_tokenizer, special_tokens, train_tokenizer
from keras_llm.tokenizers.byte_pair import BYTE_TO_CHAR
from keras_llm.tokenizers.gpt2_words import WordSplitter

GPT2_PATTERN = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")
HARD = [
    "emoji 😀👍🏽 family 👨‍👩‍👧 ok", "日本語のテキストと中文文本", "   leading spaces", "trailing spaces   ",
    "I'm sure they'll say we've done it, isn't it? 'Tis", "don't   've  'll\n's", "x''s !'s 'S 'RE",
    "tabs\t\tand\nnew\n\nlines\r\n", "a\u3000\u3000b\u00a0c \u2028d\u0085e", "e\u0301 combining, ﬁ ligature",
    "numbers 1234 56.7 ½ ٣", "", " ", "\n", "Ελληνικά και русский текст", "a  b   c    d",
]
WIKITEXT = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "wikitext-2")


def corpus():
    return [" ".join(doc) if isinstance(doc, list) else doc for doc in grammar_documents(300, seed=1)]


def hf_files(directory, texts, vocab_size):
    """vocab.json + merges.txt trained by HF tokenizers' own BpeTrainer (GPT-2 layout, <|endoftext|> included)."""
    model = HFTokenizer(models.BPE())
    model.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<|endoftext|>"], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    model.train_from_iterator(texts, trainer)
    model.model.save(str(directory))
    return os.path.join(directory, "vocab.json"), os.path.join(directory, "merges.txt")


def hf_tokenizer(vocab, merges, special=("<|endoftext|>",)):
    tok = HFTokenizer(models.BPE.from_file(vocab, merges))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    if special:
        tok.add_special_tokens(list(special))
    return tok


@pytest.fixture(scope="module")
def gpt2_style(tmp_path_factory):
    vocab, merges = hf_files(tmp_path_factory.mktemp("hf"), corpus() + HARD, 700)
    return vocab, merges, BytePairTokenizer(vocab, merges)


def keras_hub_ids(theirs, texts):
    out = theirs(tf.constant(texts))
    rows = out.to_list() if hasattr(out, "to_list") else out
    return [[int(i) for i in np.asarray(row).reshape(-1)] for row in rows]


def fuzz_texts(count, seed=0):
    pool = [" ", "  ", "\n", "\t", "a", "b", "'", "s", "ll", "re", "ve", "1", "!", ".", "\u3000", "\u00a0", "é", "😀",
            "\u0301", "日", "the", "The", "'t"]
    rng = random.Random(seed)
    return ["".join(rng.choice(pool) for _ in range(rng.randint(0, 16))) for _ in range(count)]


def test_words_equal_gpt2_regex_on_hard_and_random_text():
    texts = HARD + fuzz_texts(3000) + corpus()[:100]
    got = WordSplitter().split(tf.constant(texts)).to_list()
    for text, words in zip(texts, got):
        assert [w.decode("utf-8") for w in words] == GPT2_PATTERN.findall(text), repr(text)


def test_ids_equal_hugging_face_on_the_same_files(gpt2_style):
    vocab, merges, ours = gpt2_style
    hf = hf_tokenizer(vocab, merges)
    texts = HARD + fuzz_texts(500, seed=1) + corpus()[:200] + ["end <|endoftext|>  start", "<|endoftext|>"]
    assert ours.tokenize(texts).to_list() == [e.ids for e in hf.encode_batch(texts)]
    # round trip: exact, except that the special token is dropped (as HF's skip_special_tokens does)
    back = [t.decode("utf-8") for t in ours.detokenize(ours.tokenize(texts)).numpy()]
    assert back == [t.replace("<|endoftext|>", "") for t in texts]
    assert back == hf.decode_batch([e.ids for e in hf.encode_batch(texts)])


def test_ids_equal_keras_hubs_gpt2_tokenizer(gpt2_style):
    keras_hub = pytest.importorskip("keras_hub")
    vocab, merges, ours = gpt2_style
    theirs = keras_hub.models.GPT2Tokenizer(vocabulary=vocab, merges=merges)
    texts = HARD + corpus()[:100] + ["end <|endoftext|>  start"]
    assert ours.tokenize(texts).to_list() == keras_hub_ids(theirs, texts)


def test_gpt2_conventions_and_the_end_of_text_token(gpt2_style):
    vocab, _, ours = gpt2_style
    end = json.load(open(vocab, encoding="utf-8"))["<|endoftext|>"]
    assert ours.eos_id == end and ours.pad_id is None and ours.unk_id is None
    assert ours.token_conventions() == {"eos_id": end, "suppressed_ids": [], "pad_id": None}
    ids = ours("a<|endoftext|>b").numpy().tolist()
    assert ids.count(end) == 1 and len(ids) == 3
    # ids out of range are dropped (no <unk> to stand for them), the end token is silent
    assert ours.detokenize(tf.ragged.constant([[end, -1, ours.vocabulary_size, *ids]])).numpy()[0] == b"ab"


def test_invalid_utf8_is_replaced_then_encoded_like_hf_decodes_it(gpt2_style):
    vocab, merges, ours = gpt2_style
    raw = [b"caf\xc3\xa9 \xff\xfe bad", b"ok \xe6\x97 cut", b"\xc3"]
    hf = hf_tokenizer(vocab, merges)
    expected = [hf.encode(r.decode("utf-8", errors="replace")).ids for r in raw]
    assert ours.tokenize(tf.constant(raw)).to_list() == expected


def test_merges_apply_left_to_right_by_rank():
    """GPT-2's rule: the lowest-ranked pair merges everywhere in the word, left to right ("a a a" -> "aa a")."""
    vocab = {BYTE_TO_CHAR[b]: b for b in range(256)}
    a = BYTE_TO_CHAR[ord("a")]
    for token in (a + a, a + a + a, a * 4):
        vocab[token] = len(vocab)
    merges = [f"{a} {a}", f"{a * 2} {a}", f"{a * 2} {a * 2}"]
    ours = BytePairTokenizer(vocab, merges)
    aa, aaa, aaaa = vocab[a * 2], vocab[a * 3], vocab[a * 4]
    got = ours.tokenize(["a", "aa", "aaa", "aaaa", "aaaaa", "aaaaaaa"]).to_list()
    # 5 a's: (a a) twice -> aa aa a; then (aa a) ranks before (aa aa) -> aa aaa
    assert got == [[ord("a")], [aa], [aaa], [aaaa], [aa, aaa], [aaaa, aaa]]
    with_hf = HFTokenizer(models.BPE(vocab, [tuple(m.split(" ")) for m in merges]))
    with_hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    assert got == [e.ids for e in with_hf.encode_batch(["a", "aa", "aaa", "aaaa", "aaaaa", "aaaaaaa"])]


def test_trained_vocabulary_loads_in_hugging_face_with_the_same_ids(tmp_path):
    texts = corpus()
    ours = train_tokenizer("bpe", tf.data.Dataset.from_tensor_slices(texts), 500)
    assert isinstance(ours, BytePairTokenizer)
    vocab = ours.get_vocabulary()
    assert len(vocab) == 500 and tuple(vocab[:7]) == special_tokens.SPECIAL_TOKENS
    assert ours.eos_id == special_tokens.EOS_ID and ours.pad_id == special_tokens.PAD_ID
    assert ours.token_conventions() is None
    ours.save(tmp_path)
    hf = hf_tokenizer(str(tmp_path / "vocab.json"), str(tmp_path / "merges.txt"), special=())
    probe = texts[:100] + HARD
    ids = ours.tokenize(probe).to_list()
    assert ids == [e.ids for e in hf.encode_batch(probe)]
    # the merges compress: far fewer tokens than bytes on the training text
    assert sum(map(len, ids[:100])) < 0.5 * sum(len(t.encode()) for t in probe[:100])
    assert [t.decode() for t in ours.detokenize(ours.tokenize(probe)).numpy()] == probe
    again = BytePairTokenizer.train(tf.data.Dataset.from_tensor_slices(texts), 500)
    assert again.get_merges() == ours.get_merges()  # deterministic
    loaded = load_tokenizer(tmp_path)
    assert loaded.tokenize(probe).to_list() == ids and loaded.get_merges() == ours.get_merges()


@pytest.mark.skipif(not os.path.isdir(WIKITEXT), reason="../shared/data/wikitext-2 is not beside the repository")
def test_wikitext2_ids_equal_hf_and_keras_hub(tmp_path):
    with open(os.path.join(WIKITEXT, "valid.txt"), encoding="utf-8") as handle:
        train = [line.rstrip("\n") for line in handle][:6000]
    with open(os.path.join(WIKITEXT, "test.txt"), encoding="utf-8") as handle:
        probe = [line.rstrip("\n") for line in handle][:3000]
    vocab, merges = hf_files(tmp_path, train, 5000)
    ours = BytePairTokenizer(vocab, merges)
    ids = ours.tokenize(probe).to_list()
    assert ids == [e.ids for e in hf_tokenizer(vocab, merges).encode_batch(probe)]
    keras_hub = pytest.importorskip("keras_hub")
    theirs = keras_hub.models.GPT2Tokenizer(vocabulary=vocab, merges=merges)
    assert ids == keras_hub_ids(theirs, probe)
    assert [t.decode() for t in ours.detokenize(ours.tokenize(probe)).numpy()] == probe


def test_bad_files_give_one_line_errors(tmp_path):
    vocab = {BYTE_TO_CHAR[b]: b for b in range(256)}
    with pytest.raises(ValueError, match=r"merges: rank 0 \(a b\) uses 'ab', which is not in the vocabulary"):
        BytePairTokenizer(vocab, ["a b"])
    del vocab[BYTE_TO_CHAR[0x41]]
    vocab["extra"] = 0x41
    with pytest.raises(ValueError, match="no token for the byte 0x41"):
        BytePairTokenizer(vocab, [])
    (tmp_path / "merges.txt").write_text("#version: 0.2\na b c\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"merges.txt: merge 0 is 'a b c', not two tokens"):
        BytePairTokenizer({BYTE_TO_CHAR[b]: b for b in range(256)}, tmp_path / "merges.txt")
    (tmp_path / "vocab.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ValueError, match="vocab.json: not a JSON token -> id map"):
        BytePairTokenizer(tmp_path / "vocab.json", [])
    with pytest.raises(FileNotFoundError, match="vocabulary file not found"):
        BytePairTokenizer(tmp_path / "missing.json", [])
    with pytest.raises(ValueError, match="unsplittable token '<x>' is not in the vocabulary"):
        BytePairTokenizer({BYTE_TO_CHAR[b]: b for b in range(256)}, [], unsplittable_tokens=["<x>"])
    with pytest.raises(ValueError, match="vocab_size must be at least 263"):
        BytePairTokenizer.train(tf.data.Dataset.from_tensor_slices(["a b"]), 100)


def test_unsplittable_tokens_match_literally():
    """Special tokens with regex metacharacters match only as themselves ("a.b*" does not match "axb")."""
    vocab = {BYTE_TO_CHAR[b]: b for b in range(256)}
    specials = ["<|endoftext|>", "[SPECIAL_1]", "<s>", "a.b*"]
    for token in specials:
        vocab[token] = len(vocab)
    ours = BytePairTokenizer(vocab, [], unsplittable_tokens=specials)
    assert ours("x[SPECIAL_1]y<s>a.b* axb*<|endoftext|>").numpy().tolist() == [
        120, 257, 121, 258, 259, 32, 97, 120, 98, 42, 256]
