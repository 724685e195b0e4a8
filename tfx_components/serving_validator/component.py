"""ServingValidator: TFX's InfraValidator idea without Docker or a TF Serving binary."""
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import channel, standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

from tfx_components.serving_validator.executor import Executor


class ServingValidatorSpec(ComponentSpec):
    PARAMETERS = {
        "latency_budget_ms": ExecutionParameter(type=float),
        "num_requests": ExecutionParameter(type=int, optional=True),
        "batch_size": ExecutionParameter(type=int, optional=True),
        "split": ExecutionParameter(type=str, optional=True),
        "text_feature": ExecutionParameter(type=str, optional=True),
    }
    INPUTS = {
        "model": ChannelParameter(type=standard_artifacts.Model),
        "examples": ChannelParameter(type=standard_artifacts.Examples),
    }
    OUTPUTS = {"blessing": ChannelParameter(type=standard_artifacts.InfraBlessing)}


class ServingValidator(base_component.BaseComponent):
    """Loads the trained SavedModel in a separate process that imports only TensorFlow and tensorflow-text's
    ops, replays its TF Serving warmup requests, times `num_requests` `serving_default` calls on a batch of
    eval examples, and writes an `InfraBlessing` (blessed when every call succeeds and the p95 latency is
    within `latency_budget_ms`; `report.json` holds the figures).
    """

    SPEC_CLASS = ServingValidatorSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)

    def __init__(self, model, examples, latency_budget_ms=5000.0, num_requests=10, batch_size=4, split="eval",
                 text_feature="text"):
        super().__init__(spec=ServingValidatorSpec(
            model=model, examples=examples, latency_budget_ms=float(latency_budget_ms),
            num_requests=int(num_requests), batch_size=int(batch_size), split=split, text_feature=text_feature,
            blessing=channel.Channel(type=standard_artifacts.InfraBlessing)))
