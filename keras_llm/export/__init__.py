"""SavedModel export with text-in / text-out signatures, in TF Serving's `BASE/VERSION/` layout."""
from keras_llm.export.causal_lm_module import CausalLMServingModule
from keras_llm.export.saved_model import (
    WARMUP_FILE,
    export_saved_model,
    save_serving_model,
    serving_module_for,
    write_warmup_requests,
)
from keras_llm.export.task_modules import (
    ClassifierServingModule,
    EncoderServingModule,
    MaskedLMServingModule,
    Seq2SeqServingModule,
)
from keras_llm.export.tf_only import TFOnlyError, run_tf_only

__all__ = [
    "CausalLMServingModule", "ClassifierServingModule", "EncoderServingModule", "MaskedLMServingModule",
    "Seq2SeqServingModule", "TFOnlyError", "WARMUP_FILE", "export_saved_model", "run_tf_only", "save_serving_model",
    "serving_module_for", "write_warmup_requests",
]
