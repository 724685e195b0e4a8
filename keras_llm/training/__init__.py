"""Losses, metrics, schedules and optimizers for training language models (pure Keras 3).

The names below load on first use (PEP 562), so that `keras_llm.training.train_config` (plain Python) can be
imported without Keras and its backend: the `keras-llm` command checks its settings and output folder before
paying TensorFlow's start-up. `from keras_llm.training import make_optimizer` works as usual.
"""
from keras_llm._lazy import lazy_attributes

_EXPORTS = {
    "NO_DECAY_NAMES": "optimizers",
    "PAD_ID": "losses",
    "AdamWWithDecayExclusions": "optimizers",
    "MaskedSparseCategoricalCrossentropy": "losses",
    "MaskedTokenAccuracy": "metrics",
    "Perplexity": "metrics",
    "WarmupDecaySchedule": "schedules",
    "compile_language_model": "compile",
    "corpus_bleu": "bleu",
    "make_optimizer": "optimizers",
    "masked_token_nll": "losses",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_attributes(__name__, globals(), {name: f".{module}" for name, module in _EXPORTS.items()})
