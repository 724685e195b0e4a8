import gzip
import json

import pytest
import tensorflow as tf

from keras_llm.data import csv_dataset, jsonl_dataset, load_texts, text_file_dataset, tfrecord_dataset


def texts(ds):
    return [t.decode() for t in ds.as_numpy_iterator()]


def example(text=None, **features):
    feats = {k: tf.train.Feature(bytes_list=tf.train.BytesList(value=[v.encode()])) for k, v in features.items()}
    if text is not None:
        feats["text"] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[text.encode()]))
    return tf.train.Example(features=tf.train.Features(feature=feats)).SerializeToString()


def test_lines_drop_blank_and_keep_order(tmp_path):
    (tmp_path / "a.txt").write_text("one\n\n  \ntwo words\nthree\n")
    assert texts(load_texts(tmp_path / "a.txt")) == ["one", "two words", "three"]


def test_documents_split_on_blank_lines(tmp_path):
    (tmp_path / "d.txt").write_text("first doc\nline two\n\n \n\nsecond\r\n\r\nthird\n")
    assert texts(text_file_dataset(tmp_path / "d.txt", documents=True)) == ["first doc\nline two", "second", "third\n"]


def test_directory_and_glob(tmp_path):
    (tmp_path / "b.txt").write_text("b\n")
    (tmp_path / "a.txt").write_text("a\n")
    assert texts(load_texts(tmp_path)) == ["a", "b"]
    assert texts(load_texts(str(tmp_path / "*.txt"))) == ["a", "b"]
    with pytest.raises(FileNotFoundError, match=r"no file matches .*\*\.md"):
        load_texts(str(tmp_path / "*.md"))


def test_jsonl_fields_and_errors(tmp_path):
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps({"text": "hello", "meta": {"body": "nested"}}) + "\n\n" + json.dumps({"text": "x"}) + "\n")
    assert texts(load_texts(good)) == ["hello", "x"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok"}\n{"text": broken\n')
    with pytest.raises(ValueError, match=r"bad.jsonl:2: invalid JSON"):
        jsonl_dataset(bad)
    with pytest.raises(ValueError, match=r"good.jsonl:3: field 'meta.body' is missing"):
        jsonl_dataset(good, field="meta.body")
    num = tmp_path / "num.jsonl"
    num.write_text('{"text": 3}\n')
    with pytest.raises(ValueError, match=r"num.jsonl:1: field 'text' is a int"):
        jsonl_dataset(num)


def test_jsonl_and_csv_stream_from_disk(tmp_path):
    """The texts are read from the files on each pass, in batches, not held in the dataset: a file rewritten
    after the dataset is built is read as it is now (10000 lines: several generator batches)."""
    rows = [{"text": f"line {i}", "id": i} for i in range(10000)]
    path = tmp_path / "big.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    dataset = jsonl_dataset(path)
    assert texts(dataset) == [f"line {i}" for i in range(10000)]
    path.write_text("".join(json.dumps({"text": f"new {i}"}) + "\n" for i in range(3)))
    assert texts(dataset) == ["new 0", "new 1", "new 2"]
    (tmp_path / "a.csv").write_text("text,label\n" + "".join(f"row {i},{i % 2}\n" for i in range(3000)) + ",1\n")
    assert texts(csv_dataset(tmp_path / "a.csv")) == [f"row {i}" for i in range(3000)]  # the blank row dropped
    lone = tmp_path / "lone.jsonl"
    lone.write_text('{"text": "a \\ud800 b"}\n')  # a lone surrogate escape: kept as bytes, cleaned by normalization
    assert [t.numpy() for t in jsonl_dataset(lone)] == [b"a \xed\xa0\x80 b"]


def test_csv_and_tsv_columns(tmp_path):
    (tmp_path / "a.csv").write_text('id,text\n1,"hello, world"\n2,"multi\nline"\n')
    assert texts(load_texts(tmp_path / "a.csv")) == ["hello, world", "multi\nline"]
    assert texts(csv_dataset(tmp_path / "a.csv", column=0)) == ["1", "2"]
    (tmp_path / "b.tsv").write_text("text\tlabel\nfoo bar\t1\n")
    assert texts(load_texts(tmp_path / "b.tsv")) == ["foo bar"]
    with pytest.raises(ValueError, match=r"a.csv: column 'body' not in header"):
        csv_dataset(tmp_path / "a.csv", column="body")


@pytest.mark.parametrize("compress", [True, False])
def test_tfrecord_examples(tmp_path, compress):
    path = tmp_path / ("data.tfrecord.gz" if compress else "data.tfrecord")
    with tf.io.TFRecordWriter(str(path), options="GZIP" if compress else None) as w:
        for t in ["alpha beta", "", "gamma"]:
            w.write(example(t, other="z"))
    assert texts(load_texts(path)) == ["alpha beta", "gamma"]
    with pytest.raises(ValueError, match=r"data.tfrecord(.gz)?: feature 'body' is missing \(features: \['other', 'text'\]\)"):
        tfrecord_dataset(path, feature="body")


def test_tfrecord_that_is_not_examples(tmp_path):
    path = tmp_path / "junk.tfrecord"
    with tf.io.TFRecordWriter(str(path)) as w:
        w.write(b"\xff\x00not a proto")
    with pytest.raises(ValueError, match=r"junk.tfrecord: not a TFRecord of tf.Example"):
        tfrecord_dataset(path)


def test_missing_empty_and_whitespace_files(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"corpus file not found: .*nope.txt"):
        load_texts(tmp_path / "nope.txt")
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "blank.txt").write_text(" \n\t\n\n")
    with pytest.raises(ValueError, match=r"corpus is empty: .*blank.txt, .*empty.txt hold\(s\) no text"):
        load_texts([tmp_path / "blank.txt", tmp_path / "empty.txt"])
    (tmp_path / "real.txt").write_text("words\n")
    assert texts(load_texts(tmp_path)) == ["words"]  # empty files skipped, not an error


def test_mixed_formats_rejected(tmp_path):
    (tmp_path / "a.txt").write_text("a\n")
    (tmp_path / "b.jsonl").write_text('{"text": "b"}\n')
    with pytest.raises(ValueError, match="mixed file formats"):
        load_texts(tmp_path)


def test_gzip_detection_by_magic_bytes(tmp_path):
    path = tmp_path / "records.tfrecords"
    with tf.io.TFRecordWriter(str(path), options="GZIP") as w:
        w.write(example("zipped"))
    assert gzip.open(path).read(1)  # really gzip, though the name doesn't say so
    assert texts(load_texts(path)) == ["zipped"]
