"""The model stage of the pipeline: train -> evaluate (perplexity, blessing) -> validate serving -> push.

```
Vocabulary, Examples ─▶ TextTrainer ─▶ PerplexityEvaluator ◀─ latest blessed Model (Resolver)
                              │                 │ ModelBlessing
                              ├─▶ ServingValidator (InfraBlessing)
                              └─▶ Pusher (filesystem, versioned directory) when both blessings say so
```
"""
import dataclasses
from typing import Optional

import tfx.v1 as tfx
from tfx.types import channel, standard_artifacts

from tfx_components.perplexity_evaluator import DEFAULT_MAX_UNIGRAM_RATIO, PerplexityEvaluator
from tfx_components.serving_validator import ServingValidator
from tfx_components.text_trainer import TextTrainer


@dataclasses.dataclass
class TrainingStage:
    """Settings of the model stage.

    Attributes:
        serving_dir: the Pusher's base directory (`<serving_dir>/<version>`).
        custom_config: the trainer's settings: `model` (lstm, gru, rnn, gpt or bert), `distribute` (a
            `keras_llm.distribute` strategy name, default "auto"), `checkpoint_every`, sizes and rates (see
            `tfx_components.text_trainer.run_fn.PIPELINE_SETTINGS`).
        train_steps: optimizer steps. eval_steps: TFX's EvalArgs (the trainer validates on the whole eval split
            after each reporting period; the evaluator scores up to `evaluator_max_examples` eval texts).
        perplexity_threshold, max_unigram_ratio, tolerance: the blessing bounds (see `PerplexityEvaluator`;
            by default the model must be at most 0.9x the unigram baseline's perplexity and within 5% of the
            latest blessed model, with no absolute bound).
        latency_budget_ms: the serving validator's p95 budget.

    Example:
        >>> stage = TrainingStage(serving_dir="/models/lm", custom_config={"model": "bert"}, train_steps=500)
        >>> create_pipeline(..., training=stage)
    """

    serving_dir: str
    custom_config: dict = dataclasses.field(default_factory=dict)
    train_steps: int = 200
    eval_steps: int = 10
    perplexity_threshold: Optional[float] = None
    max_unigram_ratio: Optional[float] = DEFAULT_MAX_UNIGRAM_RATIO
    tolerance: float = 0.05
    latency_budget_ms: float = 5000.0
    evaluator_max_examples: Optional[int] = 2000

    def components(self, data):
        """The stage's nodes, wired to the data stage's outputs (a `DataComponents`)."""
        resolver = tfx.dsl.Resolver(
            strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
            model=channel.Channel(type=standard_artifacts.Model),
            model_blessing=channel.Channel(type=standard_artifacts.ModelBlessing),
        ).with_id("latest_blessed_model_resolver")
        trainer = TextTrainer(
            examples=data.examples, vocabulary=data.vocabulary,
            train_args=tfx.proto.TrainArgs(num_steps=self.train_steps),
            eval_args=tfx.proto.EvalArgs(num_steps=self.eval_steps), custom_config=self.custom_config)
        evaluator = PerplexityEvaluator(
            examples=data.examples, model=trainer.outputs["model"], baseline_model=resolver.outputs["model"],
            perplexity_threshold=self.perplexity_threshold, max_unigram_ratio=self.max_unigram_ratio,
            tolerance=self.tolerance,
            max_examples=self.evaluator_max_examples)
        validator = ServingValidator(model=trainer.outputs["model"], examples=data.examples,
                                     latency_budget_ms=self.latency_budget_ms)
        pusher = tfx.components.Pusher(
            model=trainer.outputs["model"], model_blessing=evaluator.outputs["blessing"],
            infra_blessing=validator.outputs["blessing"],
            push_destination=tfx.proto.PushDestination(
                filesystem=tfx.proto.PushDestination.Filesystem(base_directory=self.serving_dir)))
        return [resolver, trainer, evaluator, validator, pusher]
