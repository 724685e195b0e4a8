"""Artifact types that keras_llm's TFX components produce besides TFX's standard ones.

- `Vocabulary`: a directory written by `keras_llm.tokenizers.Tokenizer.save(dir)`; load it with
  `keras_llm.tokenizers.load_tokenizer(artifact.uri)`. Custom properties: `tokenizer_kind`, `vocabulary_size`.
- `TextStatistics`: language-model text statistics, one `Split-<name>/text_statistics.json` per split
  (written by `TextDataValidator`; a previous run's artifact is the baseline for character-set drift).

The MLMD type names carry a `keras_llm.` prefix so they cannot clash with another project's `Vocabulary` in
a shared metadata store.
"""
from tfx.types.artifact import Artifact, Property, PropertyType


class Vocabulary(Artifact):
    """A trained tokenizer directory (`tokenizer.json` plus its vocabulary/model files)."""

    TYPE_NAME = "keras_llm.Vocabulary"


class TextStatistics(Artifact):
    """Per-split text statistics as JSON (`Split-<name>/text_statistics.json`)."""

    TYPE_NAME = "keras_llm.TextStatistics"
    PROPERTIES = {
        "span": Property(type=PropertyType.INT),
        "split_names": Property(type=PropertyType.STRING),
    }
