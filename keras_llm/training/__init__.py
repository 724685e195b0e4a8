"""Losses, metrics, schedules and optimizers for training language models (pure Keras 3)."""
from keras_llm.training.bleu import corpus_bleu
from keras_llm.training.compile import compile_language_model
from keras_llm.training.losses import PAD_ID, MaskedSparseCategoricalCrossentropy, masked_token_nll
from keras_llm.training.metrics import MaskedTokenAccuracy, Perplexity
from keras_llm.training.optimizers import NO_DECAY_NAMES, AdamWWithDecayExclusions, make_optimizer
from keras_llm.training.schedules import WarmupDecaySchedule

__all__ = [
    "NO_DECAY_NAMES",
    "PAD_ID",
    "AdamWWithDecayExclusions",
    "MaskedSparseCategoricalCrossentropy",
    "MaskedTokenAccuracy",
    "Perplexity",
    "WarmupDecaySchedule",
    "compile_language_model",
    "corpus_bleu",
    "make_optimizer",
    "masked_token_nll",
]
