"""One call that compiles a language model with keras_llm's loss, metric and optimizer."""
from keras_llm.training.losses import MaskedSparseCategoricalCrossentropy
from keras_llm.training.metrics import Perplexity
from keras_llm.training.optimizers import make_optimizer


def compile_language_model(model, optimizer=None, loss=None, metrics=None, **compile_kwargs):
    """`model.compile` with language-model defaults; every argument can be overridden.

    This lives in `training` rather than in an overridden `Model.compile` because models sit to the left of
    training in the package's import direction (models never import training).

    Args:
        model: a `keras.Model` mapping token ids to logits (targets are token ids, 0 = padding).
        optimizer: an optimizer or a dict of `make_optimizer` arguments; default `make_optimizer()`.
        loss: default `MaskedSparseCategoricalCrossentropy()` (per-token mean, padding ignored).
        metrics: default `[Perplexity()]`.
        **compile_kwargs: other `model.compile` arguments (`jit_compile`, `steps_per_execution`, ...).

    Returns:
        The model, compiled.

    Example:
    >>> from keras_llm.models import from_preset
    >>> model = compile_language_model(from_preset("gpt-tiny", 200), optimizer={"learning_rate": 1e-3})
    >>> model.loss.name
    'masked_sparse_categorical_crossentropy'
    """
    if optimizer is None:
        optimizer = make_optimizer()
    elif isinstance(optimizer, dict):
        optimizer = make_optimizer(**optimizer)
    if loss is None:
        loss = MaskedSparseCategoricalCrossentropy()
    if metrics is None:
        metrics = [Perplexity()]
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics, **compile_kwargs)
    return model
