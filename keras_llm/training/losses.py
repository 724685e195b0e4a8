"""Token-level cross-entropy that ignores padding."""
import threading

import keras
from keras import ops

from keras_llm.backend.ops import token_nll
from keras_llm.special_tokens import PAD_ID


def masked_token_nll(y_true, y_pred, ignore_id=PAD_ID, from_logits=True, for_gradient=False):
    """Per-token negative log-likelihood and a 0/1 weight that is 0 where `y_true == ignore_id`.

    Args:
        y_true: int targets `[batch, T]`.
        y_pred: logits (or probabilities) `[batch, T, vocabulary_size]`.
        ignore_id: target id that contributes nothing (padding).
        from_logits: whether `y_pred` holds logits.
        for_gradient: the result will be differentiated (a loss): see `logits_token_nll`.

    Returns:
        `(nll, weight)`, both float32 `[batch, T]`; `nll` is 0 at ignored positions.

    Example:
    >>> nll, weight = masked_token_nll(keras.ops.array([[5, 0]]), keras.ops.zeros((1, 2, 8)))
    >>> keras.ops.convert_to_numpy(weight).tolist()
    [[1.0, 0.0]]
    """
    y_true = ops.cast(y_true, "int32")
    valid = ops.not_equal(y_true, ignore_id)
    safe_targets = ops.where(valid, y_true, 0)  # ignore_id may be outside the vocabulary (e.g. -100)
    y_pred = ops.cast(y_pred, "float32")
    if from_logits:
        nll = logits_token_nll(safe_targets, y_pred, for_gradient=for_gradient)
    else:
        nll = ops.sparse_categorical_crossentropy(safe_targets, y_pred, from_logits=False)
    weight = ops.cast(valid, "float32")
    return nll * weight, weight


def logits_token_nll(targets, logits, for_gradient=False):
    """`-log softmax(logits)[target]` per position, as `log(sum(exp(logits - max))) + (max - logits[target])`
    (`keras_llm.backend.ops.token_nll`).

    Cheaper than `ops.sparse_categorical_crossentropy(..., from_logits=True)`: TensorFlow's fused op also
    computes the softmax gradient in its forward pass, which a metric throws away, and its backward pass is no
    faster. With `for_gradient` (a loss) the form cheaper to differentiate is taken (on TensorFlow a written-out
    gradient). Same values every way, -inf logits included.

    Args:
        targets: int targets `[...]`, every one a valid id.
        logits: float32 logits `[..., vocabulary_size]`.
        for_gradient: the result will be differentiated (a loss).

    Returns:
        float32 `[...]`.

    Example:
    >>> nll = logits_token_nll(keras.ops.array([[1]]), keras.ops.log(keras.ops.array([[[0.25, 0.75]]])))
    >>> round(float(nll[0, 0]), 4) == round(float(-keras.ops.log(0.75)), 4)
    True
    """
    return token_nll(targets, logits, for_gradient=for_gradient)


@keras.saving.register_keras_serializable(package="keras_llm")
class MaskedSparseCategoricalCrossentropy(keras.losses.Loss):
    """Mean cross-entropy over the non-padding target tokens of a batch.

    The default reduction divides the summed token losses by the number of non-padding tokens (times any
    `sample_weight`), so a batch's loss is the per-token mean and `exp(loss)` is its perplexity.

    Args:
        ignore_id: target id to ignore (the padding id, 0).
        from_logits: whether predictions are logits (our models output logits).
        reduction: a Keras reduction; the default `"mean_with_sample_weight"` gives the per-token mean.
        name: loss name.
        dtype: dtype of the loss computation (float32 by default, also under mixed precision).

    Example:
    >>> loss = MaskedSparseCategoricalCrossentropy()
    >>> float(loss(keras.ops.array([[3, 0]]), keras.ops.zeros((1, 2, 8)))) == float(keras.ops.log(8.0))
    True
    """

    def __init__(
        self,
        ignore_id=PAD_ID,
        from_logits=True,
        reduction="mean_with_sample_weight",
        name="masked_sparse_categorical_crossentropy",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.ignore_id = int(ignore_id)
        self.from_logits = bool(from_logits)

    def __call__(self, y_true, y_pred, sample_weight=None):
        self._inputs = (y_true, y_pred)  # what Keras also hands the metrics: the key `shared_token_nll` matches
        weight = ops.cast(ops.not_equal(ops.cast(y_true, "int32"), self.ignore_id), "float32")
        if sample_weight is not None:
            sample_weight = ops.cast(sample_weight, "float32")
            while len(sample_weight.shape) < len(weight.shape):
                sample_weight = ops.expand_dims(sample_weight, axis=-1)
            weight = weight * sample_weight
        return super().__call__(y_true, y_pred, sample_weight=weight)

    def call(self, y_true, y_pred):
        nll, weight = masked_token_nll(y_true, y_pred, ignore_id=self.ignore_id, from_logits=self.from_logits,
                                       for_gradient=True)
        inputs, self._inputs = getattr(self, "_inputs", None), None
        if inputs is not None:
            _share_token_nll(inputs, (self.ignore_id, self.from_logits), nll, weight)
        return nll

    def get_config(self):
        config = super().get_config()
        config.update({"ignore_id": self.ignore_id, "from_logits": self.from_logits})
        return config


# The last token NLL a `MaskedSparseCategoricalCrossentropy` computed in this thread (a tf.distribute replica
# runs in its own thread), for `Perplexity` to reuse in the same step instead of a second log-softmax over
# the logits.
_LAST_NLL = threading.local()


def _share_token_nll(inputs, settings, nll, weight):
    _LAST_NLL.entry = (inputs, settings, nll, weight)


def shared_token_nll(y_true, y_pred, ignore_id, from_logits):
    """`(nll, weight)` as `masked_token_nll` gives them, when the loss has just computed them for these very
    tensors (the same objects: Keras passes the loss and the metrics the same `y_true` / `y_pred` in a step)
    with the same settings; else None. Taken once: a second call gets None."""
    entry = getattr(_LAST_NLL, "entry", None)
    if entry is None:
        return None
    (true, pred), settings, nll, weight = entry
    if true is not y_true or pred is not y_pred or settings != (ignore_id, from_logits):
        return None
    _LAST_NLL.entry = None
    return ops.stop_gradient(nll), weight
