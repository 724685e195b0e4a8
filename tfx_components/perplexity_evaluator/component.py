"""PerplexityEvaluator: blesses a language model on eval-split perplexity, against the unigram baseline of the
train split (by default), the latest blessed model and an optional absolute threshold."""
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import channel, standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

from tfx_components.perplexity_evaluator.executor import DEFAULT_MAX_UNIGRAM_RATIO, Executor


class PerplexityEvaluatorSpec(ComponentSpec):
    PARAMETERS = {
        "perplexity_threshold": ExecutionParameter(type=float, optional=True),
        "max_unigram_ratio": ExecutionParameter(type=float, optional=True),
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
    """Scores the trained model on the eval split -- causal LMs through the exported `score` signature, masked
    LMs (`bert`) on BERT-style masked positions from the Keras run (`scoring`) -- and the unigram baseline (the
    train split's smoothed token frequencies) on the very same targets, then writes a `ModelBlessing` (custom
    property `blessed`, plus `current_model_id` so TFX's LatestBlessedModelStrategy finds it) and a
    `ModelEvaluation` (`metrics.json`: perplexity, unigram_perplexity, their ratio, the bounds and the reason).

    Blessed when (see `executor.bless`):
    - perplexity <= `max_unigram_ratio` x the unigram baseline's (default 0.9: at least 10% better than word
      frequencies alone; a model that learned nothing beyond them, e.g. one step from the unigram output bias,
      is not blessed), and
    - perplexity <= `perplexity_threshold`, if one is given (default None: no absolute bound, since perplexities
      of different tokenizers and corpora are not comparable), and
    - not worse than the latest blessed model by more than `tolerance` (relative), when there is one of the same
      task (a causal and a masked LM's perplexities are not compared).
    A model that already is the latest blessed one (a re-run with a cached trainer) gets `blessed=0`,
    `already_blessed=1`, so the Pusher does not push a duplicate.

    Args:
        examples: `Examples` channel (train split: the unigram counts; `split`: the scored texts).
        model: the trained `Model`. baseline_model: optional, the latest blessed `Model` (from a
            `LatestBlessedModelStrategy` resolver).
        perplexity_threshold: optional absolute bound (None: off).
        max_unigram_ratio: bound relative to the unigram baseline (None: off).
        tolerance: allowed relative regression against the baseline model.
        split, text_feature, max_examples: which texts to score (default eval, "text", 2000).

    Example:
        >>> evaluator = PerplexityEvaluator(examples=gen.outputs["examples"], model=trainer.outputs["model"],
        ...                                 baseline_model=resolver.outputs["model"], max_unigram_ratio=0.8)
    """

    SPEC_CLASS = PerplexityEvaluatorSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)

    def __init__(self, examples, model, baseline_model=None, perplexity_threshold=None,
                 max_unigram_ratio=DEFAULT_MAX_UNIGRAM_RATIO, tolerance=0.05, split="eval", text_feature="text",
                 max_examples=2000):
        optional = {key: float(value) for key, value in (("perplexity_threshold", perplexity_threshold),
                                                          ("max_unigram_ratio", max_unigram_ratio))
                    if value is not None}
        super().__init__(spec=PerplexityEvaluatorSpec(
            examples=examples, model=model, baseline_model=baseline_model, **optional, tolerance=float(tolerance),
            split=split, text_feature=text_feature, max_examples=int(max_examples),
            evaluation=channel.Channel(type=standard_artifacts.ModelEvaluation),
            blessing=channel.Channel(type=standard_artifacts.ModelBlessing)))
