"""Perplexity accumulated over tokens."""
import keras
from keras import ops

from keras_llm.training.losses import PAD_ID, masked_token_nll


@keras.saving.register_keras_serializable(package="keras_llm")
class Perplexity(keras.metrics.Metric):
    """`exp(total NLL / number of non-padding tokens)` over everything seen since the last reset.

    It sums token NLLs and counts tokens rather than averaging per-batch values, so it is the exact corpus
    perplexity even when batches hold different numbers of padding tokens. On a single batch (or batches with
    equal token counts) it equals `exp` of `MaskedSparseCategoricalCrossentropy`'s loss.

    Args:
        ignore_id: target id to ignore (the padding id, 0).
        from_logits: whether predictions are logits.
        name: metric name.
        dtype: dtype of the accumulators (float32 by default).

    Example:
    >>> metric = Perplexity()
    >>> metric.update_state(keras.ops.array([[3, 0]]), keras.ops.zeros((1, 2, 8)))
    >>> round(float(metric.result()), 4)
    8.0
    """

    def __init__(self, ignore_id=PAD_ID, from_logits=True, name="perplexity", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.ignore_id = int(ignore_id)
        self.from_logits = bool(from_logits)
        self.total_nll = self.add_variable(shape=(), initializer="zeros", dtype="float32", name="total_nll")
        self.token_count = self.add_variable(shape=(), initializer="zeros", dtype="float32", name="token_count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        nll, weight = masked_token_nll(y_true, y_pred, ignore_id=self.ignore_id, from_logits=self.from_logits)
        if sample_weight is not None:
            sample_weight = ops.cast(sample_weight, "float32")
            while len(sample_weight.shape) < len(weight.shape):
                sample_weight = ops.expand_dims(sample_weight, axis=-1)
            weight = weight * sample_weight
            nll = nll * sample_weight
        self.total_nll.assign_add(ops.sum(nll))
        self.token_count.assign_add(ops.sum(weight))

    def result(self):
        return ops.exp(ops.divide_no_nan(self.total_nll, self.token_count))

    def reset_state(self):
        self.total_nll.assign(0.0)
        self.token_count.assign(0.0)

    def get_config(self):
        config = super().get_config()
        config.update({"ignore_id": self.ignore_id, "from_logits": self.from_logits})
        return config
