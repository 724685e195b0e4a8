"""Per-sequence log-likelihood under a causal language model."""
from keras import ops


def score_ids(model, ids, lengths):
    """Log-likelihood of each row's tokens after its first.

    Args:
        model: a causal LM mapping ids `[batch, T]` to logits `[batch, T, vocab]`.
        ids: int32 `[batch, T]`, row b's sequence in `[:lengths[b]]` (padding after is ignored).
        lengths: int32 `[batch]`.

    Returns:
        `(log_likelihood [batch] float32, num_tokens [batch] int32)`: the sum of log p(token_t | tokens_<t)
        over t = 1 .. length-1, and how many tokens that sums over.
    """
    logits = ops.cast(model(ids, training=False), "float32")[:, :-1, :]
    targets = ids[:, 1:]
    logprobs = ops.log_softmax(logits, axis=-1)
    picked = ops.squeeze(ops.take_along_axis(logprobs, ops.expand_dims(ops.cast(targets, "int32"), -1), axis=-1), -1)
    positions = ops.arange(ops.shape(targets)[1], dtype="int32")[None, :]
    valid = positions < ops.expand_dims(ops.cast(lengths, "int32") - 1, 1)
    log_likelihood = ops.sum(ops.where(valid, picked, 0.0), axis=-1)
    return log_likelihood, ops.sum(ops.cast(valid, "int32"), axis=-1)
