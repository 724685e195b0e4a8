"""VocabularyGen: trains a keras_llm tokenizer on Examples -> a `Vocabulary` artifact (a `Tokenizer.save` dir)."""
from tfx_components.vocabulary_gen.component import VocabularyGen, VocabularyGenSpec
from tfx_components.vocabulary_gen.executor import Executor

__all__ = ["Executor", "VocabularyGen", "VocabularyGenSpec"]
