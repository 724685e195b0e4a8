"""TFX components for keras_llm (they use only keras_llm's public API).

- `TextExampleGen`: plain-text / JSON Lines files -> standard `Examples` (tf.Example, `text` bytes feature).
- `TextDataValidator`: language-model data checks -> standard `ExampleAnomalies` (+ `TextStatistics`).
- `VocabularyGen`: trains a keras_llm tokenizer -> `Vocabulary` (a `Tokenizer.save` directory).
- `create_pipeline` / `run_pipeline`: the data pipeline on TFX's LocalDagRunner (`tfx_components.pipeline`).
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
    "create_pipeline", "no_text_anomalies", "run_pipeline",
]
_PIPELINE_NAMES = ("DataComponents", "create_pipeline", "run_pipeline")


def __getattr__(name):
    # The pipeline module imports `tfx.v1` (tens of seconds); executors and Beam workers never need it.
    if name in _PIPELINE_NAMES:
        from tfx_components import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'tfx_components' has no attribute {name!r}")
