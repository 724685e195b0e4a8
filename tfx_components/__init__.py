"""TFX components for keras_llm (they use only keras_llm's public API).

- `TextExampleGen`: plain-text / JSON Lines files -> standard `Examples` (tf.Example, `text` bytes feature).
- `TextDataValidator`: language-model data checks -> standard `ExampleAnomalies` (+ `TextStatistics`).
- `VocabularyGen`: trains a keras_llm tokenizer -> `Vocabulary` (a `Tokenizer.save` directory).
- `TextTrainer` (TFX's Trainer + a `vocabulary` input, run_fn in our package), `PerplexityEvaluator` (ModelBlessing),
  `ServingValidator` (InfraBlessing, TF-only process), wired with TFX's Pusher in `TrainingStage`.
- `create_pipeline` / `run_pipeline`: the pipeline on TFX's LocalDagRunner (`tfx_components.pipeline`);
  `run_local_pipeline`: the main job (`tfx_components.local_run`).
"""
from tfx_components.artifact_types import TextStatistics, Vocabulary
from tfx_components.text_data_validator import (
    HAS_ANOMALIES_PROPERTY,
    TextDataAnomaliesError,
    TextDataValidator,
    TextValidationThresholds,
    no_text_anomalies,
)
from tfx_components.text_example_gen import TEXT_FEATURE, TextExampleGen
from tfx_components.vocabulary_gen import VocabularyGen

__all__ = [
    "DataComponents", "HAS_ANOMALIES_PROPERTY", "TEXT_FEATURE", "TextDataAnomaliesError", "TextDataValidator",
    "TextExampleGen", "TextStatistics", "TextValidationThresholds", "Vocabulary", "VocabularyGen",
    "create_pipeline", "no_text_anomalies", "run_pipeline", "TrainingStage", "TextTrainer", "PerplexityEvaluator",
    "ServingValidator", "run_local_pipeline",
]
_PIPELINE_NAMES = ("DataComponents", "create_pipeline", "run_pipeline")
_LAZY = {
    "TrainingStage": "tfx_components.training_stage",
    "TextTrainer": "tfx_components.text_trainer",
    "PerplexityEvaluator": "tfx_components.perplexity_evaluator",
    "ServingValidator": "tfx_components.serving_validator",
    "run_local_pipeline": "tfx_components.local_run",
}


def __getattr__(name):
    # The pipeline module imports `tfx.v1` (tens of seconds); executors and Beam workers never need it.
    if name in _PIPELINE_NAMES:
        from tfx_components import pipeline

        return getattr(pipeline, name)
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tfx_components' has no attribute {name!r}")
