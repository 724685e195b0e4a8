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

from tfx_components.perplexity_evaluator import PerplexityEvaluator
from tfx_components.serving_validator import ServingValidator
from tfx_components.text_trainer import TextTrainer


@dataclasses.dataclass
class TrainingStage:
    """Settings of the model stage. `custom_config` goes to the trainer's run_fn (see
    `tfx_components.text_trainer.run_fn.TrainingConfig`)."""

    serving_dir: str
    custom_config: dict = dataclasses.field(default_factory=dict)
    train_steps: int = 200
    eval_steps: int = 10
    perplexity_threshold: float = 1e9
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
            perplexity_threshold=self.perplexity_threshold, tolerance=self.tolerance,
            max_examples=self.evaluator_max_examples)
        validator = ServingValidator(model=trainer.outputs["model"], examples=data.examples,
                                     latency_budget_ms=self.latency_budget_ms)
        pusher = tfx.components.Pusher(
            model=trainer.outputs["model"], model_blessing=evaluator.outputs["blessing"],
            infra_blessing=validator.outputs["blessing"],
            push_destination=tfx.proto.PushDestination(
                filesystem=tfx.proto.PushDestination.Filesystem(base_directory=self.serving_dir)))
        return [resolver, trainer, evaluator, validator, pusher]
