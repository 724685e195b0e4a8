"""Logits processors against repetition: a CTRL-style repetition penalty and a no-repeat n-gram constraint.

Both read the token buffer of the decoding loop (`tokens [batch, length]`, positions `0 .. index` filled: the
prompt with its leading `<eos>`, then what was generated) and change the logits `[batch, vocab]` of the next
position, `index + 1`, before temperature and top-k / top-p apply. The structural special tokens (all but
`<unk>`, which shows in text; `<eos>` among them) are never penalized nor banned, so a continuation can always
end.

Pure `keras.ops` with fixed shapes: they run eagerly, in the compiled loop (XLA included) and in an exported
SavedModel, where the settings may be scalar tensors of a request. `constrain_logits` applies both and is
skipped entirely when both are off (Python values), so decoding without them is unchanged.
"""
import functools

import numpy as np
from keras import ops

from keras_llm.special_tokens import NUM_SPECIAL_TOKENS, PAD_ID, UNK_ID


@functools.lru_cache(maxsize=8)
def _text_token_row(vocabulary_size):
    """`[vocab]` float32 numpy row: 1 at the ids processors may touch, 0 at the structural special tokens."""
    row = np.ones((vocabulary_size,), dtype="float32")
    row[:NUM_SPECIAL_TOKENS] = 0.0
    row[UNK_ID] = 1.0
    row.flags.writeable = False
    return row


def token_hits(logits, tokens, where):
    """float32 `[batch, vocab]` like `logits`: 1 at each non-structural id that `tokens [batch, length]` holds at a
    position where `where [batch, length]` (bool) is true, else 0."""
    batch, length = ops.shape(tokens)[0], ops.shape(tokens)[1]
    rows = ops.zeros_like(tokens) + ops.expand_dims(ops.arange(batch, dtype="int32"), 1)
    ids = ops.where(where, tokens, PAD_ID)  # positions not asked about land on <pad>, cleared below
    indices = ops.stack([ops.reshape(rows, [-1]), ops.reshape(ids, [-1])], axis=1)
    ones = ops.ones((batch * length,), dtype="float32")
    hits = ops.scatter_update(ops.zeros_like(ops.cast(logits, "float32")), indices, ones)
    return hits * _text_token_row(int(logits.shape[-1]))


def apply_repetition_penalty(logits, tokens, index, penalty):
    """CTRL's repetition penalty: the logit of every token already in the sequence (positions `0 .. index`:
    the prompt and the continuation so far; structural special tokens excepted) is divided by `penalty` when
    positive and multiplied by it when negative, once however often the token occurred. `penalty > 1` discourages repeats;
    1 changes nothing.

    Example:
        >>> penalized = apply_repetition_penalty(ops.convert_to_tensor([[0.0] * 7 + [2.0, -2.0, 1.0]]),
        ...                                      ops.convert_to_tensor([[7, 8]]), 1, 2.0)
        >>> ops.convert_to_numpy(penalized)[0, 7:].tolist()  # tokens 7 and 8 were seen, 9 was not
        [1.0, -4.0, 1.0]
    """
    logits = ops.cast(logits, "float32")
    seen = token_hits(logits, tokens, ops.arange(ops.shape(tokens)[1])[None, :] <= index) > 0
    penalty = ops.cast(penalty, "float32")
    return ops.where(seen, ops.where(logits > 0, logits / penalty, logits * penalty), logits)


def repeated_ngram_bans(logits, tokens, index, size):
    """bool `[batch, vocab]`: the tokens that, placed at position `index + 1`, would complete an n-gram of
    `size` tokens already present in positions `0 .. index` (so with size 1, every token seen so far).

    `size` may be a scalar tensor: the suffix comparison loops `size - 1` times."""
    batch, length = ops.shape(tokens)[0], ops.shape(tokens)[1]
    tokens = ops.cast(tokens, "int32")
    size = ops.cast(size, "int32")
    padded = ops.pad(tokens, [[0, 0], [length, 0]], constant_values=-1)  # padded[:, length + q] = tokens[:, q]

    def compare(k, match):  # candidate at p: token p-1-k must equal the token at index-k (the n-gram's suffix)
        earlier = ops.slice(padded, [0, length - 1 - k], [batch, length])
        recent = ops.slice(tokens, [0, ops.maximum(index - k, 0)], [batch, 1])
        return ops.logical_and(match, ops.equal(earlier, recent))

    match = ops.fori_loop(0, size - 1, compare, ops.ones_like(tokens, dtype="bool"))
    positions = ops.arange(length, dtype="int32")[None, :]
    complete = ops.logical_and(positions >= size - 1, positions <= index)  # n-grams that lie in 0 .. index
    return token_hits(logits, tokens, ops.logical_and(match, complete)) > 0


def ban_repeated_ngrams(logits, tokens, index, size):
    """`logits` with -inf at `repeated_ngram_bans(logits, tokens, index, size)`."""
    logits = ops.cast(logits, "float32")
    return ops.where(repeated_ngram_bans(logits, tokens, index, size), float("-inf"), logits)


def _python(value):
    return value.item() if isinstance(value, np.generic) else value


def _is_off(value, off):
    return value is None or (isinstance(value, (int, float)) and value == off)


def check_settings(repetition_penalty=None, no_repeat_ngram_size=None):
    """Raises ValueError for a Python-valued penalty <= 0 or n-gram size < 0 (tensors are not checked)."""
    if isinstance(repetition_penalty, (int, float)) and not repetition_penalty > 0:
        raise ValueError(f"repetition_penalty must be > 0 (1 is off), got {repetition_penalty}")
    if isinstance(no_repeat_ngram_size, float) or (
            isinstance(no_repeat_ngram_size, int) and no_repeat_ngram_size < 0):
        raise ValueError(f"no_repeat_ngram_size must be an int >= 0 (0 is off), got {no_repeat_ngram_size}")


def constrain_logits(logits, tokens, index, repetition_penalty=None, no_repeat_ngram_size=None):
    """Applies the repetition penalty, then the no-repeat n-gram ban, to the next position's logits.

    Args:
        logits: float `[batch, vocab]`, for position `index + 1`.
        tokens: int `[batch, length]`, positions `0 .. index` filled.
        index: the current position (int or scalar tensor).
        repetition_penalty: None or 1: off; else > 0 (`apply_repetition_penalty`). A scalar tensor <= 0 is
            taken as off.
        no_repeat_ngram_size: None or 0: off; else n >= 1 (`repeated_ngram_bans`). A scalar tensor <= 0: off.

    Example:
        >>> logits = ops.convert_to_tensor([[0.0] * 7 + [2.0, 2.0, 2.0]])
        >>> tokens = ops.convert_to_tensor([[7, 8, 7, 0]])  # "7 8 7" so far: 8 next would repeat "7 8"
        >>> constrained = constrain_logits(logits, tokens, 2, repetition_penalty=2.0, no_repeat_ngram_size=2)
        >>> ops.convert_to_numpy(constrained)[0, 7:].tolist()  # 7 penalized, 8 banned, 9 untouched
        [1.0, -inf, 2.0]
    """
    repetition_penalty, no_repeat_ngram_size = _python(repetition_penalty), _python(no_repeat_ngram_size)
    check_settings(repetition_penalty, no_repeat_ngram_size)
    logits = ops.cast(logits, "float32")
    penalty, size = repetition_penalty, no_repeat_ngram_size
    if not _is_off(penalty, 1):
        if isinstance(penalty, (int, float)):
            logits = apply_repetition_penalty(logits, tokens, index, penalty)
        else:
            on = ops.logical_and(penalty > 0, ops.not_equal(penalty, 1))
            logits = ops.cond(on, lambda x=logits: apply_repetition_penalty(x, tokens, index, penalty),
                              lambda x=logits: x)
    if not _is_off(size, 0):
        if isinstance(size, int):
            logits = ban_repeated_ngrams(logits, tokens, index, size)
        else:
            logits = ops.cond(size > 0, lambda x=logits: ban_repeated_ngrams(x, tokens, index, size),
                              lambda x=logits: x)
    return logits
