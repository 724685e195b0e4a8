"""`TextExampleGen`: a TFX ExampleGen for plain-text and JSON Lines corpora.

Its spec is TFX's `FileBasedExampleGenSpec` plus `text_format` and `jsonl_field`; its driver is TFX's
`FileBasedDriver` (span/version patterns, input fingerprint for caching); its executor is
`tfx_components.text_example_gen.executor.Executor`. The output is a standard `Examples` artifact: GZIP
TFRecords of `tf.train.Example` with one bytes feature `text`, split `train`/`eval` 2:1 by hash by default.
"""
from tfx import types
from tfx.components.example_gen import driver, utils
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.proto import example_gen_pb2
from tfx.types import standard_artifacts, standard_component_specs
from tfx.types.component_spec import ExecutionParameter

from tfx_components.text_example_gen import executor
from tfx_components.text_example_gen.executor import JSONL_FIELD_KEY, TEXT_FORMAT_KEY, check_text_format


class TextExampleGenSpec(standard_component_specs.FileBasedExampleGenSpec):
    """FileBasedExampleGen's parameters plus how to read the text files."""

    PARAMETERS = {
        **standard_component_specs.FileBasedExampleGenSpec.PARAMETERS,
        TEXT_FORMAT_KEY: ExecutionParameter(type=str),
        JSONL_FIELD_KEY: ExecutionParameter(type=str),
    }


class TextExampleGen(base_beam_component.BaseBeamComponent):
    """Ingests text files into an `Examples` artifact (`text` bytes feature, train/eval split by hash).

    Args:
        input_base: directory holding the text files (all files in it form one input, unless `input_config`
            says otherwise; `{SPAN}` / `{VERSION}` patterns work as in TFX's ExampleGens).
        text_format: "auto" (by extension: .jsonl/.json -> JSON Lines, else plain text), "text" or "jsonl".
        jsonl_field: the JSON field holding the text (nested fields as "a.b"); ignored for plain text.
        input_config: optional `example_gen_pb2.Input`; default: every file in `input_base`, one split.
        output_config: optional `example_gen_pb2.Output`; default: train/eval by hash, 2:1.
        range_config: optional `range_config_pb2.RangeConfig` selecting spans.

    Example:
        >>> example_gen = TextExampleGen(input_base="data/corpus", text_format="text")
        >>> example_gen.outputs["examples"]  # a Channel of standard `Examples`
    """

    SPEC_CLASS = TextExampleGenSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)
    DRIVER_CLASS = driver.FileBasedDriver

    def __init__(self, input_base, text_format="auto", jsonl_field="text", input_config=None, output_config=None,
                 range_config=None):
        input_config = input_config or utils.make_default_input_config()
        output_config = output_config or utils.make_default_output_config(input_config)
        spec = TextExampleGenSpec(
            input_base=input_base,
            input_config=input_config,
            output_config=output_config,
            range_config=range_config,
            output_data_format=example_gen_pb2.FORMAT_TF_EXAMPLE,
            output_file_format=example_gen_pb2.FORMAT_TFRECORDS_GZIP,
            text_format=check_text_format(text_format),
            jsonl_field=jsonl_field,
            examples=types.Channel(type=standard_artifacts.Examples),
        )
        super().__init__(spec=spec)
