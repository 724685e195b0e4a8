"""One call that compiles a language model with keras_llm's loss, metric and optimizer."""
from keras_llm.tasks import task_of_model
from keras_llm.training.defaults import default_learning_rate, default_warmup_steps
from keras_llm.training.losses import PAD_ID, MaskedSparseCategoricalCrossentropy
from keras_llm.training.metrics import MaskedTokenAccuracy, Perplexity
from keras_llm.training.optimizers import make_optimizer

NO_TARGET = -1  # an id no target has: a loss or metric ignoring it counts every target


def is_masked_lm(model):
    """Whether `model` is a masked LM (`BertMaskedLM`): its task's batches carry the masked positions as sample
    weights (`keras_llm.tasks.Task.masked_targets`), so its metrics must be weighted metrics."""
    task = task_of_model(model)
    return task is not None and task.masked_targets


def compile_language_model(model, optimizer=None, loss=None, metrics=None, masked=None, total_steps=None,
                           **compile_kwargs):
    """`model.compile` with language-model defaults; every argument can be overridden.

    This lives in `training` rather than in an overridden `Model.compile` because models sit to the left of
    training in the package's import direction (models never import training).

    Masked LMs (`masked_lm_dataset` batches are `(inputs, labels, sample_weight)`, weight 1 at the masked
    positions) get `metrics=[]` and `weighted_metrics=[MaskedTokenAccuracy(), Perplexity()]` by default:
    Keras hands sample weights to `weighted_metrics` only, so plain metrics would score every position.

    Args:
        model: a `keras.Model` mapping token ids to logits (targets are token ids, 0 = padding).
        optimizer: an optimizer or a dict of `make_optimizer` arguments. Default: `make_optimizer` with the
            model family's peak learning rate (`keras_llm.training.defaults.default_learning_rate`: 1e-3 for
            recurrent models, 3e-3 to 3e-4 for Transformers by width) and, given `total_steps`, a warmup of 5%
            of the steps (at most 1,000) and a cosine decay to 0 at `total_steps`. A dict without
            `learning_rate` gets the family's rate.
        loss: default `MaskedSparseCategoricalCrossentropy()` (per-token mean, padding ignored, times the
            sample weights).
        metrics: default `[Perplexity()]`; `[]` for a masked LM.
        masked: whether `model` is a masked LM; default: whether it is a `BertMaskedLM`.
        total_steps: the run's length in optimizer steps, for the default schedule (None: constant rate).
        **compile_kwargs: other `model.compile` arguments (`weighted_metrics`, `jit_compile`, ...). A masked
            LM's default `weighted_metrics` is `[MaskedTokenAccuracy(), Perplexity()]`.

    Returns:
        The model, compiled.

    Example:
    >>> from keras_llm.models import from_preset
    >>> model = compile_language_model(from_preset("gpt-tiny", 200), optimizer={"learning_rate": 1e-3})
    >>> model.loss.name
    'masked_sparse_categorical_crossentropy'
    """
    if optimizer is None or isinstance(optimizer, dict):
        settings = {"learning_rate": default_learning_rate(model), "total_steps": total_steps,
                    "warmup_steps": default_warmup_steps(total_steps), **(optimizer or {})}
        optimizer = make_optimizer(**settings)
    # A model over another vocabulary layout (a converted GPT-2) names its padding id, or has none: then no
    # target is ignored (GPT-2's id 0 is "!", not padding).
    conventions = getattr(model, "token_conventions", None)
    ignore_id = PAD_ID if conventions is None else conventions.get("pad_id")
    ignore_id = NO_TARGET if ignore_id is None else ignore_id
    if loss is None:
        loss = MaskedSparseCategoricalCrossentropy(ignore_id=ignore_id)
    if masked is None:
        masked = is_masked_lm(model)
    if masked:
        if metrics is None:
            metrics = []
        if compile_kwargs.get("weighted_metrics") is None:
            compile_kwargs["weighted_metrics"] = [MaskedTokenAccuracy(), Perplexity(ignore_id=ignore_id)]
    elif metrics is None:
        metrics = [Perplexity(ignore_id=ignore_id)]
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics, **compile_kwargs)
    return model
