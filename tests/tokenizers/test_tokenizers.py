import json

import numpy as np
import pytest
import tensorflow as tf

from tf_only import run_tf_only

from keras_llm.tokenizers import (
    BytePairTokenizer,
    ByteTokenizer,
    SentencePieceTokenizer,
    WordPieceTokenizer,
    WordTokenizer,
    load_tokenizer,
    special_tokens,
    train_tokenizer,
)

MIXED = [
    "Crème brûlée à la café, naïve façade!",
    "日本語のテキストと中文文本",
    "emoji 😀 👍🏽 family 👨‍👩‍👧 ok",
    "Ελληνικά και русский текст",
    "don't stop-me now (really) 42.5%",
]
CORPUS = MIXED * 30 + [f"line {i} with word{i % 13} and more words" for i in range(200)]


def corpus_ds():
    return tf.data.Dataset.from_tensor_slices(CORPUS)


@pytest.fixture(scope="module", params=["word", "wordpiece", "byte", "sentencepiece", "bpe"])
def tokenizer(request):
    size = {"word": 200, "wordpiece": 400, "byte": None, "sentencepiece": 300, "bpe": 400}[request.param]
    return train_tokenizer(request.param, corpus_ds(), size)


def squash(texts):
    """What each tokenizer preserves: all characters, spacing aside (word/wordpiece/sentencepiece)."""
    return [t.decode() if isinstance(t, bytes) else t for t in texts]


def test_round_trip_mixed_scripts(tokenizer):
    ids = tokenizer.tokenize(MIXED)
    assert ids.dtype == tf.int32 and ids.shape[0] == len(MIXED)
    assert not np.any(ids.flat_values.numpy() == special_tokens.UNK_ID)
    back = [t.decode() for t in tokenizer.detokenize(ids).numpy()]
    if isinstance(tokenizer, (ByteTokenizer, BytePairTokenizer)):
        assert back == MIXED  # exact
    elif isinstance(tokenizer, WordPieceTokenizer):
        assert [b.replace(" ", "") for b in back] == [m.replace(" ", "") for m in MIXED]
    else:
        assert back == [" ".join(m.split()) for m in MIXED]


def test_special_ids_fixed(tokenizer):
    vocab = tokenizer.get_vocabulary()
    assert tuple(vocab[:7]) == special_tokens.SPECIAL_TOKENS
    assert len(vocab) == tokenizer.vocabulary_size
    # structural ids vanish on detokenize; out-of-range ids become <unk>, not a crash
    ids = tf.ragged.constant([[special_tokens.BOS_ID, *tokenizer("ok").numpy(), special_tokens.EOS_ID, 0, 0]])
    assert tokenizer.detokenize(ids).numpy()[0] == b"ok"
    bad = tf.ragged.constant([[tokenizer.vocabulary_size + 5, -3]], dtype=tf.int32)
    assert tokenizer.detokenize(bad).shape == [1]


def test_save_load_identical(tokenizer, tmp_path):
    tokenizer.save(tmp_path)
    config = json.loads((tmp_path / "tokenizer.json").read_text())
    assert config["class"] == type(tokenizer).__name__
    loaded = load_tokenizer(tmp_path)
    assert type(loaded) is type(tokenizer)
    assert loaded.tokenize(CORPUS[:50]).to_list() == tokenizer.tokenize(CORPUS[:50]).to_list()
    assert loaded.get_vocabulary() == tokenizer.get_vocabulary()


def test_inside_tf_data_and_tf_function(tokenizer):
    eager = tokenizer.tokenize(CORPUS[:20]).to_list()
    ds = tf.data.Dataset.from_tensor_slices(CORPUS[:20]).batch(7).map(tokenizer.tokenize, num_parallel_calls=2)
    assert [row for batch in ds for row in batch.to_list()] == eager

    @tf.function
    def round_trip(texts):
        return tokenizer.detokenize(tokenizer.tokenize(texts))

    assert round_trip(tf.constant(CORPUS[:20])).numpy().tolist() == tokenizer.detokenize(
        tokenizer.tokenize(CORPUS[:20])
    ).numpy().tolist()


def test_scalar_call_and_detokenize_one(tokenizer):
    ids = tokenizer("Crème naïve")
    assert ids.shape.rank == 1
    assert tokenizer.detokenize_one(ids).replace(" ", "") == "Crèmenaïve"


def test_saved_model_loads_without_keras_llm(tmp_path):
    tokenizers = {k: train_tokenizer(k, corpus_ds(), s) for k, s in [("wordpiece", 400), ("byte", None), ("sentencepiece", 300), ("word", 200), ("bpe", 400)]}
    expected = {}
    for kind, tok in tokenizers.items():
        tf.saved_model.save(tok, str(tmp_path / kind))
        expected[kind] = [tok.tokenize(MIXED).to_list(), [t.decode() for t in tok.detokenize(tok.tokenize(MIXED)).numpy()]]
    body = f"""
        out = {{}}
        for kind in {list(tokenizers)!r}:
            m = tf.saved_model.load({str(tmp_path)!r} + "/" + kind)
            ids = m.tokenize(tf.constant({MIXED!r}))
            out[kind] = [ids.to_list(), [t.decode() for t in m.detokenize(ids).numpy()]]
        print(json.dumps(out))
        """
    assert run_tf_only(body) == expected


def test_word_tokenizer_vocabulary_by_frequency():
    ds = tf.data.Dataset.from_tensor_slices(["b a a c", "a b d", "e"])
    tok = WordTokenizer.train(ds, vocab_size=12)
    assert tok.get_vocabulary()[7:] == ["a", "b", "c", "d", "e"]  # by count, ties alphabetical
    capped = WordTokenizer.train(ds, vocab_size=9)
    assert capped.get_vocabulary()[7:] == ["a", "b"]
    assert capped.tokenize(["a c b zzz"]).to_list() == [[7, 1, 8, 1]]
    assert capped.detokenize(capped.tokenize(["a c"])).numpy().tolist() == [b"a <unk>"]


def test_word_tokenizer_keeps_literal_unk_as_unk():
    tok = WordTokenizer.train(tf.data.Dataset.from_tensor_slices(["the <unk> sat"]), vocab_size=20)
    assert "<unk>" not in tok.get_vocabulary()[7:]
    assert tok.tokenize(["the <unk>"]).to_list() == [[tok.get_vocabulary().index("the"), 1]]


def test_byte_tokenizer_is_exact_without_normalization():
    tok = ByteTokenizer(nfkc=False)
    text = "ﬁ ligature Ｆｕｌｌ e\u0301"
    ids = tok.tokenize([text])
    assert ids.to_list()[0] == [b + 7 for b in text.encode()]
    assert tok.detokenize(ids).numpy()[0].decode() == text
    assert tok.vocabulary_size == 263


def test_invalid_utf8_and_nul_are_cleaned_deterministically():
    raw = tf.constant([b"ok \xff\xfe bad\x00nul \x1b[31mred"])
    for tok in (ByteTokenizer(), WordTokenizer.train(tf.data.Dataset.from_tensor_slices(["ok bad nul"]), 20)):
        out = tok.detokenize(tok.tokenize(raw)).numpy()[0].decode("utf-8")
        assert "\x00" not in out and "\x1b" not in out
        if isinstance(tok, ByteTokenizer):
            assert out == "ok \ufffd\ufffd badnul [31mred"


def test_wordpiece_uses_subwords_for_unseen_words():
    tok = WordPieceTokenizer.train(corpus_ds(), vocab_size=400)
    ids = tok.tokenize(["wordy lines"]).to_list()[0]
    vocab = tok.get_vocabulary()
    assert any(vocab[i].startswith("##") for i in ids)
    assert special_tokens.UNK_ID not in ids


def test_sentencepiece_specials_are_controls():
    tok = SentencePieceTokenizer.train(corpus_ds(), vocab_size=300)
    # the text "<mask>" is not the mask token: control symbols never match input text
    assert special_tokens.MASK_ID not in tok.tokenize(["a <mask> b"]).flat_values.numpy()


def test_sentencepiece_samples_a_corpus_over_max_lines_deterministically(tmp_path):
    from keras_llm.tokenizers.sentencepiece import sample_key, sample_lines

    lines = [f"line {i} of the corpus".encode() for i in range(500)]
    files = [tmp_path / "a.txt", tmp_path / "b.txt"]
    files[0].write_bytes(b"\n".join(lines[:250]) + b"\n\n  \n")
    files[1].write_bytes(b"\n".join(lines[250:]) + b"\n")
    assert sample_lines([str(f) for f in files], max_lines=500) == lines  # within the limit: whole, in order
    sample = sample_lines([str(f) for f in files], max_lines=40, seed=3)
    assert sample == sorted(lines, key=lambda line: sample_key(line, 3))[:40]  # the smallest keys, in key order
    assert sample_lines([str(f) for f in reversed(files)], max_lines=40, seed=3) == sample  # file order: same
    assert sample_lines([str(f) for f in files], max_lines=40, seed=4) != sample  # another seed: another sample
    tok = SentencePieceTokenizer.train([str(f) for f in files], vocab_size=60, max_lines=40, seed=3)
    direct = SentencePieceTokenizer.train(tf.data.Dataset.from_tensor_slices(sample), vocab_size=60)
    assert tok.get_vocabulary() == direct.get_vocabulary()
    with pytest.raises(ValueError, match="max_lines must be at least 1"):
        sample_lines([str(f) for f in files], max_lines=0)


def test_bad_inputs_to_training_and_loading(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        WordTokenizer.train(str(tmp_path / "missing.txt"), 50)
    with pytest.raises(ValueError, match="no words"):
        WordTokenizer.train(tf.data.Dataset.from_tensor_slices(["   ", "\t"]), 50)
    with pytest.raises(ValueError, match="special tokens"):
        WordTokenizer(["a", "b"])
    with pytest.raises(FileNotFoundError, match="tokenizer.json"):
        load_tokenizer(tmp_path)
    with pytest.raises(ValueError, match="unknown tokenizer"):
        train_tokenizer("unigram", corpus_ds(), 10)
