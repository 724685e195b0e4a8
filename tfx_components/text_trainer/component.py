"""TextTrainer: TFX's Trainer (GenericExecutor + a `run_fn` in our package) with a `vocabulary` input.

TFX's `Trainer` builds its spec in its constructor and has no input for a custom artifact, so this is the
same component with one more channel: the `Vocabulary` from `VocabularyGen`. The executor is TFX's own
`GenericExecutor`, which passes the vocabulary's URI to `run_fn` as `fn_args.custom_config["vocabulary_uri"]`
(and where to keep resumable checkpoints: see `executor`). The default `run_fn` is
`tfx_components.text_trainer.run_fn.run_fn` (`keras_llm.training.trainer.train_language_model` inside TFX),
referenced by module path.
"""
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import channel, standard_artifacts, standard_component_specs
from tfx.types.component_spec import ChannelParameter
from tfx.utils import json_utils

from tfx_components.artifact_types import Vocabulary
from tfx_components.text_trainer.executor import VOCABULARY_KEY, TextTrainerExecutor

RUN_FN = "tfx_components.text_trainer.run_fn.run_fn"


class TextTrainerSpec(standard_component_specs.TrainerSpec):
    INPUTS = {**standard_component_specs.TrainerSpec.INPUTS, VOCABULARY_KEY: ChannelParameter(type=Vocabulary)}


class TextTrainer(base_component.BaseComponent):
    """Trains a keras_llm model on `Examples` with a trained `Vocabulary`.

    Args:
        examples: the `Examples` channel (train and eval splits of tf.Example with a `text` feature).
        vocabulary: the `Vocabulary` channel.
        train_args / eval_args: `tfx.proto.TrainArgs` (steps) / `EvalArgs` (required by TFX; the run_fn
            validates on the whole eval split after each reporting period).
        custom_config: model and training settings for `run_fn`: `model` (lstm, gru, rnn, gpt or bert),
            `distribute` (a `keras_llm.distribute` strategy, default "auto"), `checkpoint_every`, sizes and
            rates (`run_fn.PIPELINE_SETTINGS`, fields of `keras_llm.training.train_config.TrainConfig`).
        run_fn: module path of the training function.
        base_model: optional `Model` channel (TFX's Trainer input; the default run_fn does not warm-start).

    Example:
        >>> trainer = TextTrainer(examples=gen.outputs["examples"], vocabulary=vocab.outputs["vocabulary"],
        ...                       train_args=tfx.proto.TrainArgs(num_steps=500),
        ...                       eval_args=tfx.proto.EvalArgs(num_steps=1),
        ...                       custom_config={"model": "bert", "distribute": "mirrored"})
    """

    SPEC_CLASS = TextTrainerSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(TextTrainerExecutor)

    def __init__(self, examples, vocabulary, train_args, eval_args, custom_config=None, run_fn=RUN_FN,
                 base_model=None):
        spec = TextTrainerSpec(
            examples=examples,
            vocabulary=vocabulary,
            base_model=base_model,
            train_args=train_args,
            eval_args=eval_args,
            run_fn=run_fn,
            custom_config=json_utils.dumps(custom_config or {}),
            model=channel.Channel(type=standard_artifacts.Model),
            model_run=channel.Channel(type=standard_artifacts.ModelRun),
        )
        super().__init__(spec=spec)
