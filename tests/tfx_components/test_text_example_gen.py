"""TextExampleGen executor on real files, without a pipeline."""
import glob
import json

import pytest

pytest.importorskip("tfx")
pytestmark = pytest.mark.tfx

import tensorflow as tf  # noqa: E402
from tfx.components.example_gen import utils  # noqa: E402
from tfx.proto import example_gen_pb2  # noqa: E402
from tfx.types import artifact_utils, standard_artifacts  # noqa: E402
from tfx.utils import proto_utils  # noqa: E402

from tfx_components.text_example_gen import Executor, TextExampleGen  # noqa: E402


def run_example_gen(tmp_path, files, **exec_properties):
    """Writes `files` (name -> bytes) under tmp_path/data, runs the executor -> the Examples artifact."""
    data = tmp_path / "data"
    data.mkdir()
    for name, content in files.items():
        (data / name).write_bytes(content)
    input_config = utils.make_default_input_config()
    properties = {
        "input_base": str(data),
        "input_config": proto_utils.proto_to_json(input_config),
        "output_config": proto_utils.proto_to_json(utils.make_default_output_config(input_config)),
        "output_data_format": example_gen_pb2.FORMAT_TF_EXAMPLE,
        "output_file_format": example_gen_pb2.FORMAT_TFRECORDS_GZIP,
        **exec_properties,
    }
    examples = standard_artifacts.Examples()
    examples.uri = str(tmp_path / "examples")
    Executor().Do({}, {"examples": [examples]}, properties)
    return examples


def split_texts(examples, split):
    files = glob.glob(artifact_utils.get_split_uri([examples], split) + "/*.gz")
    assert files, f"no TFRecord files in split {split}"
    texts = []
    for record in tf.data.TFRecordDataset(files, compression_type="GZIP"):
        feature = tf.train.Example.FromString(record.numpy()).features.feature
        assert list(feature) == ["text"]
        texts.extend(feature["text"].bytes_list.value)
    return texts


def test_plain_text_lines_become_examples_split_by_hash(tmp_path, clean_documents):
    lines = [doc.encode() for doc in clean_documents]
    content = b"\n".join(lines[:100]) + b"\n\n   \n\t\n" + b"\r\n".join(lines[100:]) + b"\n"
    examples = run_example_gen(tmp_path, {"corpus.txt": content}, text_format="auto")

    assert artifact_utils.decode_split_names(examples.split_names) == ["train", "eval"]
    assert examples.get_string_custom_property("payload_format") == "FORMAT_TF_EXAMPLE"
    train, evaluation = split_texts(examples, "train"), split_texts(examples, "eval")
    assert sorted(train + evaluation) == sorted(lines)  # every non-blank line once, bytes unchanged
    assert not set(train) & set(evaluation)
    assert 0.55 < len(train) / len(lines) < 0.78  # hash buckets 2:1
    # Written without TFX's Reshuffle (an in-memory GroupByKey of the whole corpus on the DirectRunner): each
    # split keeps the input order, so a rerun writes the same files.
    assert train == [line for line in lines if line in set(train)]
    assert examples.get_string_custom_property("file_format") == "tfrecords_gzip"


def test_only_gzip_tfrecords_are_written(tmp_path):
    with pytest.raises(ValueError, match="GZIP TFRecords only; output_file_format is FILE_FORMAT_PARQUET"):
        run_example_gen(tmp_path, {"corpus.txt": b"a line\n"}, output_file_format=example_gen_pb2.FILE_FORMAT_PARQUET)


def test_jsonl_field_and_invalid_utf8_are_kept_as_raw_bytes(tmp_path):
    records = [json.dumps({"meta": {"body": f"record {i}"}, "id": i}).encode() for i in range(30)]
    jsonl = b"\xef\xbb\xbf" + b"\n".join(records) + b"\n\n"
    jsonl += b'{"meta": {"body": "caf\xe9 \xff raw"}}\n'  # invalid UTF-8 inside a JSON string
    text = b"plain \xc3\x28 invalid\nplain ok\n"
    examples = run_example_gen(tmp_path, {"a.jsonl": jsonl, "b.txt": text}, text_format="auto",
                               jsonl_field="meta.body")

    texts = split_texts(examples, "train") + split_texts(examples, "eval")
    expected = [f"record {i}".encode() for i in range(30)] + [b"caf\xe9 \xff raw", b"plain \xc3\x28 invalid",
                                                              b"plain ok"]
    assert sorted(texts) == sorted(expected)


def test_malformed_jsonl_line_is_an_error_naming_the_file(tmp_path):
    with pytest.raises(Exception, match=r"bad\.jsonl: invalid JSON"):
        run_example_gen(tmp_path, {"bad.jsonl": b'{"text": "fine"}\n{"text": broken\n'}, text_format="jsonl")


def test_component_spec_carries_the_text_options(tmp_path):
    component = TextExampleGen(input_base=str(tmp_path), text_format="jsonl", jsonl_field="body")
    assert component.exec_properties["text_format"] == "jsonl"
    assert component.exec_properties["jsonl_field"] == "body"
    assert component.outputs["examples"].type_name == "Examples"
    with pytest.raises(ValueError, match="text_format"):
        TextExampleGen(input_base=str(tmp_path), text_format="csv")
