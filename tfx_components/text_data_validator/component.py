"""`TextDataValidator`: language-model data checks that TFDV does not make, as a TFX component.

Inputs: `examples` (standard `Examples`, tf.Example payload) and, all optional, `vocabulary` (a `Vocabulary`
for the unknown-token rate), `baseline_statistics` (a `TextStatistics` of a known-good run, for
character-set drift) and `example_anomalies` (the output of TFX's ExampleValidator, whose anomalies then
count as this component's too, so one property gates everything downstream).
Outputs: `anomalies` (standard `ExampleAnomalies`, custom property `has_anomalies`) and `statistics`
(`TextStatistics`). The checks and their thresholds: `tfx_components.text_data_validator.anomaly_checks`.

Gate later components on the result with `tfx.dsl.Cond(no_text_anomalies(validator.outputs["anomalies"]))`.
"""
import dataclasses

from tfx import types
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

from tfx_components.artifact_types import TextStatistics, Vocabulary
from tfx_components.text_data_validator import executor
from tfx_components.text_data_validator.anomaly_checks import TextValidationThresholds
from tfx_components.text_data_validator.executor import HAS_ANOMALIES_PROPERTY


class TextDataValidatorSpec(ComponentSpec):
    PARAMETERS = {
        executor.TEXT_FEATURE_KEY: ExecutionParameter(type=str),
        executor.FAIL_ON_ANOMALIES_KEY: ExecutionParameter(type=int),
        **{f.name: ExecutionParameter(type=f.type) for f in dataclasses.fields(TextValidationThresholds)},
    }
    INPUTS = {
        executor.EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples),
        executor.VOCABULARY_KEY: ChannelParameter(type=Vocabulary, optional=True),
        executor.BASELINE_STATISTICS_KEY: ChannelParameter(type=TextStatistics, optional=True),
        executor.EXAMPLE_ANOMALIES_KEY: ChannelParameter(type=standard_artifacts.ExampleAnomalies, optional=True),
    }
    OUTPUTS = {
        executor.ANOMALIES_KEY: ChannelParameter(type=standard_artifacts.ExampleAnomalies),
        executor.STATISTICS_KEY: ChannelParameter(type=TextStatistics),
    }


class TextDataValidator(base_beam_component.BaseBeamComponent):
    """Checks text examples for empty / invalid-UTF-8 / too short or long / duplicate records, the `<unk>`
    rate under a vocabulary and character-set drift from a baseline.

    Args:
        examples: channel of `Examples`.
        vocabulary: optional channel of `Vocabulary` (enables the unknown-token check).
        baseline_statistics: optional channel of `TextStatistics` (enables the character-set drift check).
        example_anomalies: optional channel of TFX ExampleValidator's `ExampleAnomalies` (folded in).
        text_feature: the bytes feature holding the text.
        fail_on_anomalies: raise (fail the run) instead of only reporting; default: report, gate with Cond.
        **thresholds: fields of `TextValidationThresholds` (e.g. `max_duplicate_fraction=0.2`).

    Example:
        >>> validator = TextDataValidator(examples=example_gen.outputs["examples"], max_duplicate_fraction=0.2)
        >>> with tfx.dsl.Cond(no_text_anomalies(validator.outputs["anomalies"])):
        ...     vocabulary_gen = VocabularyGen(examples=example_gen.outputs["examples"])
    """

    SPEC_CLASS = TextDataValidatorSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

    def __init__(self, examples, vocabulary=None, baseline_statistics=None, example_anomalies=None,
                 text_feature="text", fail_on_anomalies=False, **thresholds):
        spec = TextDataValidatorSpec(
            examples=examples,
            vocabulary=vocabulary,
            baseline_statistics=baseline_statistics,
            example_anomalies=example_anomalies,
            text_feature=text_feature,
            fail_on_anomalies=int(bool(fail_on_anomalies)),
            anomalies=types.Channel(type=standard_artifacts.ExampleAnomalies),
            statistics=types.Channel(type=TextStatistics),
            **TextValidationThresholds(**thresholds).to_dict(),
        )
        super().__init__(spec=spec)


def no_text_anomalies(anomalies_channel):
    """The `tfx.dsl.Cond` predicate "TextDataValidator found no anomalies" for its `anomalies` channel."""
    return anomalies_channel.future()[0].custom_property(HAS_ANOMALIES_PROPERTY) == 0
