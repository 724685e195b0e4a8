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
"""
import json
import os

import apache_beam as beam
import tensorflow as tf
from tfx.components.example_gen.base_example_gen_executor import BaseExampleGenExecutor
from tfx.types import standard_component_specs

TEXT_FEATURE = "text"
TEXT_FORMAT_KEY = "text_format"
JSONL_FIELD_KEY = "jsonl_field"
TEXT_FORMATS = ("auto", "text", "jsonl")
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
    """The string in `field` of one JSON Lines line (bytes in, bytes out)."""
    try:
        value = json.loads(line.decode("utf-8", "surrogateescape"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: invalid JSON ({e.msg}) in line {line[:80]!r}") from None
    for key in field.split("."):
        if not isinstance(value, dict) or key not in value:
            raise ValueError(f"{path}: field {field!r} is missing in line {line[:80]!r}")
        value = value[key]
    if not isinstance(value, str):
        raise ValueError(f"{path}: field {field!r} is a {type(value).__name__}, not a string, in line {line[:80]!r}")
    return _to_bytes(value)


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


class Executor(BaseExampleGenExecutor):
    """TFX ExampleGen executor for plain-text and JSON Lines files (see the module docstring)."""

    def GetInputSourceToExamplePTransform(self):  # noqa: N802 - TFX's method name
        return TextFilesToExamples
