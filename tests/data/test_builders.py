import numpy as np
import pytest
import tensorflow as tf

from keras_llm.data import causal_lm_dataset, classification_dataset, mask_tokens, masked_lm_dataset, seq2seq_dataset
from keras_llm.datasets import grammar_classification, grammar_documents, grammar_translation_pairs, write_corpus
from keras_llm.tokenizers import ByteTokenizer, StopWordFilter, WordTokenizer, special_tokens

DOCS = grammar_documents(120, seed=3)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "docs.txt"
    write_corpus(DOCS, path)
    return str(path)


@pytest.fixture(scope="module")
def tok(corpus):
    return WordTokenizer.train(corpus, vocab_size=200)


def stream_of(tok, docs):
    return np.concatenate([np.append(ids, special_tokens.EOS_ID) for ids in tok.tokenize(docs).to_list()])


def test_causal_blocks_concatenate_back_to_the_stream(corpus, tok):
    ds = causal_lm_dataset(corpus, tok, seq_len=24, batch_size=5, shuffle=False)
    inputs, targets = zip(*[(x.numpy(), y.numpy()) for x, y in ds])
    inputs, targets = np.concatenate(inputs), np.concatenate(targets)
    assert inputs.shape[1] == 24 and inputs.dtype == np.int32
    stream = stream_of(tok, DOCS)
    n = inputs.size
    np.testing.assert_array_equal(inputs.reshape(-1), stream[:n])
    np.testing.assert_array_equal(targets.reshape(-1), stream[1 : n + 1])
    assert len(stream) - n < 24 * 5 + 24 + 1  # only the last partial batch/block is left over
    assert not np.any(inputs == special_tokens.PAD_ID)  # packed: no padding at all


def test_causal_shuffle_is_seeded_and_reshuffles_each_epoch(corpus, tok):
    def epochs(seed):
        ds = causal_lm_dataset(corpus, tok, seq_len=16, batch_size=4, seed=seed)
        return [np.concatenate([x.numpy() for x, _ in ds]) for _ in range(2)]

    a, b = epochs(7), epochs(7)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], a[1])
    every = [tuple(x) for x, _ in causal_lm_dataset(corpus, tok, seq_len=16, batch_size=1, shuffle=False).unbatch().as_numpy_iterator()]
    for epoch in a:  # each epoch: distinct blocks of the corpus, in a new order (a partial batch dropped)
        rows = [tuple(r) for r in epoch]
        assert len(set(rows)) == len(rows) and set(rows) <= set(every) and len(rows) > len(every) - 4


def test_causal_fits_model_fit_signature(corpus, tok):
    ds = causal_lm_dataset(corpus, tok, seq_len=8, batch_size=3, seed=0)
    spec = ds.element_spec
    assert spec[0].shape.as_list() == [3, 8] and spec[1].shape.as_list() == [3, 8]


def test_causal_too_small_and_empty(tmp_path, tok):
    (tmp_path / "tiny.txt").write_text("the dog\n")
    with pytest.raises(ValueError, match=r"corpus is empty: .*tiny.txt yields no block of seq_len \+ 1 = 65 tokens"):
        causal_lm_dataset(str(tmp_path / "tiny.txt"), tok, seq_len=64, batch_size=2)
    with pytest.raises(ValueError, match="corpus is empty: the given dataset"):
        causal_lm_dataset(tf.data.Dataset.from_tensor_slices(["  ", "\t"]), tok, seq_len=4, batch_size=2)
    (tmp_path / "ws.txt").write_text("\n   \n\t\n")
    with pytest.raises(ValueError, match=r"ws.txt hold\(s\) no text"):
        causal_lm_dataset(str(tmp_path / "ws.txt"), tok, seq_len=4, batch_size=2)


def test_invalid_utf8_and_nul_bytes_are_cleaned(tmp_path):
    path = tmp_path / "dirty.txt"
    # A stray NUL in text: under the 1% share that makes a file binary (`check_text_file`), so it is cleaned.
    path.write_bytes(b"caf\xc3\xa9 \xff\xfe ok\x00ay\nsecond line\n" + b"more plain text for the share .\n" * 4)
    ds = causal_lm_dataset(str(path), ByteTokenizer(), seq_len=8, batch_size=1, shuffle=False)
    ids = np.concatenate([x.numpy().reshape(-1) for x, _ in ds] + [y.numpy()[0, -1:] for _, y in ds.skip(2)])
    text = bytes(int(i) - 7 for i in ids if i >= 7).decode("utf-8")
    assert text.startswith("café \ufffd\ufffd okay")  # invalid bytes -> U+FFFD, NUL removed


def test_ten_megabyte_single_line(tmp_path):
    path = tmp_path / "huge.txt"
    words = ("alpha beta gamma delta " * (10_000_000 // 23 + 1))[:10_000_000]
    path.write_text(words)
    tok = WordTokenizer.train(tf.data.Dataset.from_tensor_slices(["alpha beta gamma delta"]), vocab_size=20)
    ds = causal_lm_dataset(str(path), tok, seq_len=512, batch_size=64, shuffle=False)
    n_blocks = sum(int(x.shape[0]) for x, _ in ds)
    n_tokens = len(words.split()) + 1
    assert n_blocks == ((n_tokens - 1) // 512) // 64 * 64


def test_mask_rates_over_100k_tokens():
    rng = np.random.default_rng(0)
    ids = rng.integers(7, 1000, size=(400, 300)).astype(np.int32)
    ids[:, 0], ids[:, -1], ids[::3, 100:110] = special_tokens.CLS_ID, special_tokens.SEP_ID, special_tokens.PAD_ID
    inputs, labels, weights = (t.numpy() for t in mask_tokens(tf.constant(ids), tf.constant([1, 2]), 1000))
    eligible = ids >= 7
    chosen = weights > 0
    assert eligible.sum() > 100_000
    assert not np.any(chosen & ~eligible)  # pads and specials never chosen
    assert abs(chosen.sum() / eligible.sum() - 0.15) < 0.01
    masked = (inputs == special_tokens.MASK_ID) & chosen
    unchanged = (inputs == ids) & chosen
    random = chosen & ~masked & ~unchanged
    assert abs(masked.sum() / chosen.sum() - 0.8) < 0.01
    assert abs(random.sum() / chosen.sum() - 0.1 * (1 - 1 / 993)) < 0.01
    assert abs(unchanged.sum() / chosen.sum() - 0.1) < 0.01
    assert np.all(inputs[random] >= 7) and np.all(inputs[random] < 1000)
    np.testing.assert_array_equal(labels, ids)
    np.testing.assert_array_equal(inputs[~chosen], ids[~chosen])


def test_masked_lm_dataset_fresh_masks_each_epoch_reproducible(corpus, tok):
    def run(seed):
        ds = masked_lm_dataset(corpus, tok, seq_len=16, batch_size=4, seed=seed, shuffle=False)
        return [[w.numpy() for _, _, w in ds] for _ in range(2)]

    a, b = run(5), run(5)
    for e in range(2):
        for x, y in zip(a[e], b[e]):
            np.testing.assert_array_equal(x, y)
    assert not all(np.array_equal(x, y) for x, y in zip(a[0], a[1]))
    x, y, w = next(iter(masked_lm_dataset(corpus, tok, seq_len=16, batch_size=4, seed=0)))
    assert x.shape == y.shape == w.shape == (4, 16)
    assert np.all(y.numpy()[:, 0] == special_tokens.CLS_ID) and np.all(y.numpy()[:, -1] == special_tokens.SEP_ID)
    assert w.dtype == tf.float32


def test_seq2seq_teacher_forcing_and_buckets(tmp_path):
    pairs = grammar_translation_pairs(300, seed=1)
    path = tmp_path / "pairs.tsv"
    write_corpus(pairs, path)
    src = WordTokenizer.train(tf.data.Dataset.from_tensor_slices([s for s, _ in pairs]), 300)
    tgt = WordTokenizer.train(tf.data.Dataset.from_tensor_slices([t for _, t in pairs]), 300)
    ds = seq2seq_dataset(str(path), src, tgt, batch_size=16, max_source_len=12, max_target_len=10, seed=0)
    seen = 0
    for x, y in ds:
        enc, dec, y = x["encoder_inputs"].numpy(), x["decoder_inputs"].numpy(), y.numpy()
        assert dec.shape == y.shape and enc.shape[1] <= 12 and y.shape[1] <= 10
        assert np.all(dec[:, 0] == special_tokens.BOS_ID)
        for d, t in zip(dec, y):
            n = int((t != 0).sum())
            np.testing.assert_array_equal(d[1:n], t[: n - 1])  # decoder input = target shifted right
            assert t[n - 1] == special_tokens.EOS_ID or n == 10
        seen += len(y)
    assert seen == 300
    # lengths within a batch are similar: padding per batch bounded by the bucket width
    lengths = [x["encoder_inputs"].shape[1] for x, _ in ds]
    assert len(set(lengths)) > 1


def test_seq2seq_bad_line_names_file_and_line(tmp_path):
    path = tmp_path / "bad.tsv"
    path.write_text("a b\tx y\nno tab here\n")
    tok = ByteTokenizer()
    with pytest.raises(ValueError, match=r"bad.tsv:2: expected 'source'\\t'target', got 1 field"):
        seq2seq_dataset(str(path), tok, batch_size=2)


def test_classification_labels_padding_and_stop_words():
    texts, labels = grammar_classification(64, seed=2)
    names = ["negative", "positive"]
    ds = tf.data.Dataset.from_tensor_slices((texts, [names[y] for y in labels]))
    tok = WordTokenizer.train(tf.data.Dataset.from_tensor_slices(texts), 300)
    out = classification_dataset(ds, tok, seq_len=12, batch_size=8, labels=names, shuffle=False)
    ids = np.concatenate([x.numpy() for x, _ in out])
    ys = np.concatenate([y.numpy() for _, y in out])
    np.testing.assert_array_equal(ys, labels)
    assert ids.shape == (64, 12) and np.all(ids[:, 0] == special_tokens.CLS_ID)
    assert np.all((ids == special_tokens.SEP_ID).sum(axis=1) == 1)
    filtered = classification_dataset(ds, tok, seq_len=40, batch_size=64, labels=names, shuffle=False,
                                      stop_words=StopWordFilter())
    the = tok.get_vocabulary().index("the")
    assert not np.any(next(iter(filtered))[0].numpy() == the)
    bad = tf.data.Dataset.from_tensor_slices((["x"], ["neutral"]))
    with pytest.raises(ValueError, match="unknown label 'neutral'"):
        classification_dataset(bad, tok, seq_len=8, batch_size=1, labels=names)
