"""Training defaults per model family and run length: what `keras-llm train` and `compile_language_model`
use when the learning rate, the warmup or the training length is not given.

The figures come from runs on WikiText-2 (train on its validation split, measure on its test split: see
`benchmarks/wikitext2_quality.py`) and on the Markov source (`benchmarks/markov_perplexity.py`), with the
CLI's defaults only. On WikiText-2, lstm-small at 1e-3 was ahead of 3e-3 and far ahead of 1e-2 after each of its
first passes (3e-3 and 1e-2 sat on a unigram-like plateau); the small Transformer trains fastest at 3e-3, and a
wider Transformer needs a smaller step:

| model | peak learning rate |
|---|---|
| recurrent (rnn / lstm / gru) | 1e-3 |
| Transformer, width <= 128 | 3e-3 |
| Transformer, width <= 256 | 1e-3 |
| Transformer, width <= 512 | 6e-4 |
| Transformer, wider | 3e-4 |

Warmup: 5% of the steps, at most 1,000; the rate then decays along a cosine to 0 at the last step.
Automatic length (neither `--epochs` nor `--steps`): enough passes over the data for `AUTO_TARGET_STEPS`
optimizer steps, between `AUTO_MIN_EPOCHS` and `AUTO_MAX_EPOCHS` passes, validated after each pass, stopped
early after `AUTO_PATIENCE` passes without a better validation loss; the best pass's weights are kept.
"""
import math

RECURRENT_LEARNING_RATE = 1e-3
TRANSFORMER_LEARNING_RATES = ((128, 3e-3), (256, 1e-3), (512, 6e-4))
WIDE_TRANSFORMER_LEARNING_RATE = 3e-4
WARMUP_FRACTION = 0.05
MAX_WARMUP_STEPS = 1000

AUTO_TARGET_STEPS = 2000
AUTO_MIN_EPOCHS = 3
AUTO_MAX_EPOCHS = 30
AUTO_PATIENCE = 3
AUTO_VALID_SPLIT = 0.05
MAX_STEPS_PER_EPOCH = 1000


def default_learning_rate(model=None, *, recurrent=None, width=None):
    """The peak learning rate for a model (an instance), or for a family given as `recurrent=` and `width=`.

    Example:
    >>> default_learning_rate(recurrent=True), default_learning_rate(recurrent=False, width=768)
    (0.001, 0.0003)
    """
    if model is not None:
        recurrent = hasattr(model, "call_with_state") or hasattr(model, "cell")
        width = getattr(model, "hidden_dim", None)
    if recurrent:
        return RECURRENT_LEARNING_RATE
    for limit, rate in TRANSFORMER_LEARNING_RATES:
        if width is None or width <= limit:
            return rate
    return WIDE_TRANSFORMER_LEARNING_RATE


def default_warmup_steps(total_steps):
    """Linear warmup length for a run of `total_steps` steps: 5% of them, at most 1,000; 0 without a length.

    Example:
    >>> default_warmup_steps(2000), default_warmup_steps(100000), default_warmup_steps(None)
    (100, 1000, 0)
    """
    if not total_steps:
        return 0
    return min(int(total_steps * WARMUP_FRACTION), MAX_WARMUP_STEPS)


def auto_epochs(batches_per_pass):
    """`(steps_per_epoch, epochs)` of an automatic-length run over data of `batches_per_pass` batches: an
    epoch is one pass (at most `MAX_STEPS_PER_EPOCH` steps: a larger corpus is validated more often than once
    a pass), and there are enough epochs for about `AUTO_TARGET_STEPS` steps, within
    [`AUTO_MIN_EPOCHS`, `AUTO_MAX_EPOCHS`].

    Example:
    >>> auto_epochs(100), auto_epochs(5000)
    ((100, 20), (1000, 3))
    """
    per_epoch = max(1, min(int(batches_per_pass), MAX_STEPS_PER_EPOCH))
    epochs = math.ceil(AUTO_TARGET_STEPS / per_epoch)
    return per_epoch, max(AUTO_MIN_EPOCHS, min(AUTO_MAX_EPOCHS, epochs))
