"""The serving modules of the non-causal models, each in its own module now and re-exported here:

- `EncoderServingModule` (and the shared `EncoderInputs` framing): `keras_llm.export.encoder_module`;
- `MaskedLMServingModule`: `keras_llm.export.masked_lm_module`;
- `ClassifierServingModule`: `keras_llm.export.classifier_module`;
- `Seq2SeqServingModule`: `keras_llm.export.seq2seq_module`.

`keras_llm.tasks` says which module serves which task.
"""
from keras_llm.export.batching import BYTES_PER_TOKEN
from keras_llm.export.classifier_module import ClassifierServingModule
from keras_llm.export.encoder_module import EncoderInputs, EncoderServingModule
from keras_llm.export.masked_lm_module import MaskedLMServingModule
from keras_llm.export.seq2seq_module import Seq2SeqServingModule

__all__ = ["BYTES_PER_TOKEN", "ClassifierServingModule", "EncoderInputs", "EncoderServingModule",
           "MaskedLMServingModule", "Seq2SeqServingModule"]
