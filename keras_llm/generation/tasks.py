"""Text in, text out for the non-causal models; each helper has its own module now, re-exported here:

- `MaskFiller` (masked LMs): `keras_llm.generation.mask_filler`;
- `Labeler` and `class_names` (classifiers): `keras_llm.generation.labeler`;
- `Translator` (encoder-decoders): `keras_llm.generation.translator`;
- `encoder_max_length`, `source_max_length`: `keras_llm.generation.model_limits`.

Each helper binds a model to its tokenizer(s) and frames inputs exactly as the training data builders do
(`keras_llm.data`) and as the exported SavedModels do (`keras_llm.export`), so Python and serving agree.
"""
from keras_llm.generation.labeler import Labeler, class_names
from keras_llm.generation.mask_filler import MaskFiller
from keras_llm.generation.model_limits import DEFAULT_MAX_LENGTH, encoder_max_length, source_max_length
from keras_llm.generation.translator import Translator

__all__ = ["DEFAULT_MAX_LENGTH", "Labeler", "MaskFiller", "Translator", "class_names", "encoder_max_length",
           "source_max_length"]
