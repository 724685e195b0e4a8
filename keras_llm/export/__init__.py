"""SavedModel export with text-in / text-out signatures, in TF Serving's `BASE/VERSION/` layout."""
from keras_llm.export.causal_lm_module import CausalLMServingModule
from keras_llm.export.saved_model import export_saved_model, serving_module_for, write_warmup_requests

__all__ = ["CausalLMServingModule", "export_saved_model", "serving_module_for", "write_warmup_requests"]
