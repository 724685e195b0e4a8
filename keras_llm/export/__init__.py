"""SavedModel export with text-in / text-out signatures, in TF Serving's `BASE/VERSION/` layout: one serving
module per task (`keras_llm.tasks` names which), `serving_module_for` picks the model's."""
from keras_llm.export.causal_lm_module import CausalLMServingModule
from keras_llm.export.classifier_module import ClassifierServingModule
from keras_llm.export.encoder_module import EncoderServingModule
from keras_llm.export.masked_lm_module import MaskedLMServingModule
from keras_llm.export.saved_model import (
    WARMUP_FILE,
    export_saved_model,
    save_serving_model,
    serving_module_for,
    write_warmup_requests,
)
from keras_llm.export.seq2seq_module import Seq2SeqServingModule
from keras_llm.export.tf_only import TFOnlyError, run_tf_only

__all__ = [
    "CausalLMServingModule", "ClassifierServingModule", "EncoderServingModule", "MaskedLMServingModule",
    "Seq2SeqServingModule", "TFOnlyError", "WARMUP_FILE", "export_saved_model", "run_tf_only", "save_serving_model",
    "serving_module_for", "write_warmup_requests",
]
