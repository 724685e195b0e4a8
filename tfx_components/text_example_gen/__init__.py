"""TextExampleGen: plain-text / JSON Lines files -> standard `Examples` (tf.Example with a `text` feature)."""
from tfx_components.text_example_gen.component import TextExampleGen, TextExampleGenSpec
from tfx_components.text_example_gen.executor import TEXT_FEATURE, Executor

__all__ = ["Executor", "TEXT_FEATURE", "TextExampleGen", "TextExampleGenSpec"]
