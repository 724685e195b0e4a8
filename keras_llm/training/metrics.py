"""Token-level metrics: corpus perplexity and masked-token accuracy."""
import keras
from keras import ops

from keras_llm.training.losses import PAD_ID, masked_token_nll, shared_token_nll


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
        # In a training or evaluation step the loss has just computed the same NLL: reuse it.
        shared = shared_token_nll(y_true, y_pred, self.ignore_id, self.from_logits)
        nll, weight = shared or masked_token_nll(y_true, y_pred, ignore_id=self.ignore_id,
                                                 from_logits=self.from_logits)
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


@keras.saving.register_keras_serializable(package="keras_llm")
class MaskedTokenAccuracy(keras.metrics.Metric):
    """Top-1 accuracy over the positions that count: `sample_weight > 0` and target not padding.

    With `masked_lm_dataset` batches `(inputs, labels, sample_weight)`, the sample weight is 1 exactly at the
    masked positions, so this is BERT's masked-token accuracy; pass it to `compile(weighted_metrics=[...])`,
    since Keras gives sample weights to weighted metrics only. Without a sample weight it is the accuracy
    over all non-padding targets. Every counted position weighs the same (the weight's value beyond `> 0`
    is ignored), and correct/total counts accumulate across batches.

    Args:
        ignore_id: target id never counted (the padding id, 0).
        name: metric name.
        dtype: dtype of the accumulators (float32 by default).

    Example:
    >>> metric = MaskedTokenAccuracy()
    >>> logits = keras.ops.one_hot(keras.ops.array([[7, 8, 9]]), 10)
    >>> metric.update_state(keras.ops.array([[7, 5, 9]]), logits, sample_weight=keras.ops.array([[1, 1, 0]]))
    >>> float(metric.result())
    0.5
    """

    def __init__(self, ignore_id=PAD_ID, name="masked_token_accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.ignore_id = int(ignore_id)
        self.correct = self.add_variable(shape=(), initializer="zeros", dtype="float32", name="correct")
        self.count = self.add_variable(shape=(), initializer="zeros", dtype="float32", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(y_true, "int32")
        counted = ops.not_equal(y_true, self.ignore_id)
        if sample_weight is not None:
            sample_weight = ops.cast(sample_weight, "float32")
            while len(sample_weight.shape) < len(y_true.shape):
                sample_weight = ops.expand_dims(sample_weight, axis=-1)
            counted = ops.logical_and(counted, ops.greater(sample_weight, 0.0))
        hits = ops.logical_and(counted, ops.equal(ops.cast(ops.argmax(y_pred, axis=-1), "int32"), y_true))
        self.correct.assign_add(ops.sum(ops.cast(hits, "float32")))
        self.count.assign_add(ops.sum(ops.cast(counted, "float32")))

    def result(self):
        return ops.divide_no_nan(self.correct, self.count)

    def reset_state(self):
        self.correct.assign(0.0)
        self.count.assign(0.0)

    def get_config(self):
        config = super().get_config()
        config["ignore_id"] = self.ignore_id
        return config
