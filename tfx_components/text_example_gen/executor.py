"""Executor of `TextExampleGen`: plain-text and JSON Lines files -> `tf.train.Example`s with a `text` feature.

Only the reading is ours. Splitting by hash, the `Split-<name>/` layout, GZIP TFRecords, the payload format
and span/version/fingerprint handling come from TFX's `BaseExampleGenExecutor` (and its `FileBasedDriver`).

Per file, by `text_format`:
- `text`: one example per non-blank line (a line holding only whitespace is skipped). `\n` and `\r\n` end a
  line; the line terminator is not part of the example.
- `jsonl`: one example per non-blank line, the string in `jsonl_field` (nested fields as `a.b`). A line that is
  not a JSON object or lacks the field is an error naming the file and quoting the line.
- `auto` (default): `jsonl` for `.jsonl` / `.json` files (also `.gz`-compressed), `text` otherwise.

Bytes are kept as they are: invalid UTF-8 does not stop ingestion; the raw bytes go into the feature so that
`TextDataValidator` can report them. A UTF-8 byte-order mark at the start of a line is dropped.

Writing: each split's examples are written as they come, in GZIP TFRecords named `data_tfrecord-*.gz`, without the
`Reshuffle` that TFX's own `WriteSplit` puts before its write. On the in-process DirectRunner a Reshuffle is a
GroupByKey that holds the whole corpus in memory (peak RSS 5.3 GiB for a 1 GB corpus; see
`benchmarks/corpus_scaling.py`), and it buys nothing here: the trainer shuffles its input, and on a distributed
runner the text read is already split across workers. Without it, the record order within a split follows the
input files (deterministic on one worker).
"""
import os

import apache_beam as beam
import tensorflow as tf
from tfx.components.example_gen import utils as example_gen_utils
from tfx.components.example_gen.base_example_gen_executor import BaseExampleGenExecutor
from tfx.components.util import examples_utils
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import proto_utils

from keras_llm.data import json_field

TEXT_FEATURE = "text"
TEXT_FORMAT_KEY = "text_format"
JSONL_FIELD_KEY = "jsonl_field"
TEXT_FORMATS = ("auto", "text", "jsonl")
RECORD_FILE_PREFIX = "data_tfrecord"
_JSONL_SUFFIXES = (".jsonl", ".json")
_BYTE_ORDER_MARK = b"\xef\xbb\xbf"


def check_text_format(text_format):
    if text_format not in TEXT_FORMATS:
        raise ValueError(f"text_format must be one of {TEXT_FORMATS}, got {text_format!r}")
    return text_format


def format_of_file(path, text_format):
    """The format a file is read in: `text_format` itself unless it is `auto`, then by extension."""
    if text_format != "auto":
        return text_format
    name = path.lower()
    name = name[:-3] if name.endswith(".gz") else name
    return "jsonl" if name.endswith(_JSONL_SUFFIXES) else "text"


def text_example(text):
    """A `tf.train.Example` with the single bytes feature `text`."""
    feature = tf.train.Feature(bytes_list=tf.train.BytesList(value=[text]))
    return tf.train.Example(features=tf.train.Features(feature={TEXT_FEATURE: feature}))


def _to_bytes(text):
    """Str from `json.loads` -> bytes; invalid UTF-8 read with surrogateescape comes back byte for byte."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate written as a JSON escape, e.g. "\ud800"
        return text.encode("utf-8", "surrogatepass")


def json_line_text(path, line, field):
    """The string in `field` of one JSON Lines line (bytes in, bytes out); the lookup is `keras_llm.data`'s."""
    try:
        return _to_bytes(json_field(line.decode("utf-8", "surrogateescape"), field))
    except ValueError as e:
        raise ValueError(f"{path}: {e} in line {line[:80]!r}") from None


def line_to_examples(file_and_line, text_format, jsonl_field):
    """(file name, raw line) -> zero or one `tf.train.Example`."""
    path, line = file_and_line
    if line.startswith(_BYTE_ORDER_MARK):
        line = line[len(_BYTE_ORDER_MARK):]
    if not line.strip():
        return
    if format_of_file(path, text_format) == "jsonl":
        yield text_example(json_line_text(path, line, jsonl_field))
    else:
        yield text_example(line)


@beam.ptransform_fn
@beam.typehints.with_input_types(beam.Pipeline)
@beam.typehints.with_output_types(tf.train.Example)
def TextFilesToExamples(pipeline, exec_properties, split_pattern):  # noqa: N802 - Beam names transforms in CamelCase
    """Reads the files matching `split_pattern` under `input_base` -> PCollection of `tf.train.Example`."""
    text_format = check_text_format(exec_properties.get(TEXT_FORMAT_KEY) or "auto")
    jsonl_field = exec_properties.get(JSONL_FIELD_KEY) or TEXT_FEATURE
    pattern = os.path.join(exec_properties[standard_component_specs.INPUT_BASE_KEY], split_pattern)
    print(f"TextExampleGen: reading {pattern} ({text_format} format) into tf.train.Examples ...", flush=True)
    return (
        pipeline
        | "ReadLines" >> beam.io.ReadFromTextWithFilename(pattern, coder=beam.coders.BytesCoder())
        | "LinesToExamples" >> beam.FlatMap(line_to_examples, text_format, jsonl_field)
    )


@beam.ptransform_fn
def WriteExamples(examples, split_uri):  # noqa: N802 - Beam names transforms in CamelCase
    """tf.train.Examples -> `split_uri/data_tfrecord-*.gz`, in the order they arrive (no shuffle: see above)."""
    return (
        examples
        | "Serialize" >> beam.Map(lambda example: example.SerializeToString())
        | "Write" >> beam.io.WriteToTFRecord(os.path.join(split_uri, RECORD_FILE_PREFIX), file_name_suffix=".gz")
    )


def _parse(proto, json_text):
    proto_utils.json_to_proto(json_text, proto)
    return proto


class Executor(BaseExampleGenExecutor):
    """TFX ExampleGen executor for plain-text and JSON Lines files (see the module docstring).

    `GenerateExamplesByBeam` (TFX's: reading through `TextFilesToExamples`, then the hash split) is kept; `Do`
    is ours only to write the splits without TFX's in-memory Reshuffle."""

    def GetInputSourceToExamplePTransform(self):  # noqa: N802 - TFX's method name
        return TextFilesToExamples

    def Do(self, input_dict, output_dict, exec_properties):  # noqa: N802 - TFX's method name
        self._log_startup(input_dict, output_dict, exec_properties)
        input_config = _parse(example_gen_pb2.Input(), exec_properties[standard_component_specs.INPUT_CONFIG_KEY])
        output_config = _parse(example_gen_pb2.Output(), exec_properties[standard_component_specs.OUTPUT_CONFIG_KEY])
        file_format = exec_properties.get(standard_component_specs.OUTPUT_FILE_FORMAT_KEY)
        if file_format not in (None, example_gen_pb2.FILE_FORMAT_UNSPECIFIED, example_gen_pb2.FORMAT_TFRECORDS_GZIP):
            raise ValueError(f"TextExampleGen writes GZIP TFRecords only; output_file_format is "
                             f"{example_gen_pb2.FileFormat.Name(file_format)}")
        outputs = output_dict[standard_component_specs.EXAMPLES_KEY]
        artifact_utils.get_single_instance(outputs).split_names = artifact_utils.encode_split_names(
            example_gen_utils.generate_output_split_names(input_config, output_config))
        with self._make_beam_pipeline() as pipeline:
            for name, examples in self.GenerateExamplesByBeam(pipeline, exec_properties).items():
                _ = examples | f"WriteSplit[{name}]" >> WriteExamples(artifact_utils.get_split_uri(outputs, name))
        for artifact in outputs:
            examples_utils.set_payload_format(artifact, example_gen_pb2.FORMAT_TF_EXAMPLE)
            examples_utils.set_file_format(artifact, "tfrecords_gzip")
