"""PerplexityEvaluator: blesses a language model on eval-split perplexity (absolute threshold + baseline)."""
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import channel, standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

from tfx_components.perplexity_evaluator.executor import Executor


class PerplexityEvaluatorSpec(ComponentSpec):
    PARAMETERS = {
        "perplexity_threshold": ExecutionParameter(type=float),
        "tolerance": ExecutionParameter(type=float),
        "split": ExecutionParameter(type=str, optional=True),
        "text_feature": ExecutionParameter(type=str, optional=True),
        "max_examples": ExecutionParameter(type=int, optional=True),
    }
    INPUTS = {
        "examples": ChannelParameter(type=standard_artifacts.Examples),
        "model": ChannelParameter(type=standard_artifacts.Model),
        "baseline_model": ChannelParameter(type=standard_artifacts.Model, optional=True),
    }
    OUTPUTS = {
        "evaluation": ChannelParameter(type=standard_artifacts.ModelEvaluation),
        "blessing": ChannelParameter(type=standard_artifacts.ModelBlessing),
    }


class PerplexityEvaluator(base_component.BaseComponent):
    """Computes perplexity on the eval split through the model's exported `score` signature and writes a
    `ModelBlessing` (custom property `blessed`, plus `current_model_id` so TFX's LatestBlessedModelStrategy
    finds it) and a `ModelEvaluation` (`metrics.json`). A model that already is the latest blessed one (a re-run
    with a cached trainer) gets `blessed=0`, `already_blessed=1`, so the Pusher does not push a duplicate.

    Args:
        examples: `Examples` channel. model: the trained `Model`. baseline_model: optional, the latest
            blessed `Model` (from a `LatestBlessedModelStrategy` resolver).
        perplexity_threshold: bless only at or below this perplexity.
        tolerance: and only if not worse than the baseline's perplexity by more than this fraction.
        split, text_feature, max_examples: which texts to score (default eval, "text", 2000).
    """

    SPEC_CLASS = PerplexityEvaluatorSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)

    def __init__(self, examples, model, baseline_model=None, perplexity_threshold=1e9, tolerance=0.05,
                 split="eval", text_feature="text", max_examples=2000):
        super().__init__(spec=PerplexityEvaluatorSpec(
            examples=examples, model=model, baseline_model=baseline_model,
            perplexity_threshold=float(perplexity_threshold), tolerance=float(tolerance), split=split,
            text_feature=text_feature, max_examples=int(max_examples),
            evaluation=channel.Channel(type=standard_artifacts.ModelEvaluation),
            blessing=channel.Channel(type=standard_artifacts.ModelBlessing)))
