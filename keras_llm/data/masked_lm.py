"""Masked language-model dataset with dynamic masking (BERT's 15% / 80-10-10 recipe), fresh every epoch."""
import tensorflow as tf

from keras_llm.data.packing import AUTOTUNE, finish, pack, require_non_empty, token_stream
from keras_llm.special_tokens import CLS_ID, MASK_ID, NUM_SPECIAL_TOKENS, SEP_ID


def mask_tokens(ids, seed, vocabulary_size, mask_rate=0.15, mask_token_rate=0.8, random_token_rate=0.1):
    """Chooses positions to predict and corrupts them, with stateless (seeded) randomness.

    Each non-special token is chosen with probability `mask_rate`; a chosen token is replaced by `<mask>`
    with probability `mask_token_rate`, by a random non-special token with probability `random_token_rate`,
    and left unchanged otherwise. Special tokens (pad, cls, sep, eos, ...) are never chosen.

    Args:
        ids: int32 tensor of token ids.
        seed: int tensor of shape [2] (a stateless-random seed).

    Returns:
        `(inputs, labels, sample_weight)`: corrupted ids, the original ids, and float32 1.0 at chosen
        positions (0.0 elsewhere), all shaped like `ids`.
    """
    select_seed, kind_seed, random_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 3))
    shape = tf.shape(ids)
    eligible = ids >= NUM_SPECIAL_TOKENS
    chosen = eligible & (tf.random.stateless_uniform(shape, select_seed) < mask_rate)
    kind = tf.random.stateless_uniform(shape, kind_seed)
    to_mask = chosen & (kind < mask_token_rate)
    to_random = chosen & (kind >= mask_token_rate) & (kind < mask_token_rate + random_token_rate)
    random_ids = tf.random.stateless_uniform(
        shape, random_seed, minval=NUM_SPECIAL_TOKENS, maxval=vocabulary_size, dtype=tf.int32
    )
    inputs = tf.where(to_mask, tf.constant(MASK_ID, ids.dtype), tf.where(to_random, random_ids, ids))
    return inputs, ids, tf.cast(chosen, tf.float32)


def masked_lm_dataset(
    source,
    tokenizer,
    seq_len,
    batch_size,
    *,
    mask_rate=0.15,
    mask_token_rate=0.8,
    random_token_rate=0.1,
    shuffle=True,
    shuffle_buffer=10_000,
    seed=None,
    repeat=False,
    documents=False,
    field="text",
):
    """Packs a corpus into `<cls> tokens... <sep>` blocks of `seq_len` and masks them dynamically.

    Documents are packed like the causal-LM builder (with `<sep>` between documents, no padding). Masking is
    drawn per batch from a seeded random stream that is re-drawn every epoch, so each epoch sees new masks
    while a given `seed` reproduces the whole run.

    Returns:
        A dataset of `(inputs, labels, sample_weight)` int32/int32/float32 `[batch_size, seq_len]`, which
        `model.fit` takes as (x, y, sample_weight).

    Example:
        >>> ds = masked_lm_dataset("corpus.txt", tokenizer, seq_len=64, batch_size=32, seed=0)
    """
    if seq_len < 3:
        raise ValueError(f"seq_len must be at least 3 (<cls>, a token, <sep>), got {seq_len}")
    body = pack(token_stream(source, tokenizer, SEP_ID, field=field, documents=documents), seq_len - 2, seq_len - 2)
    require_non_empty(body, source, f"block of seq_len - 2 = {seq_len - 2} tokens")
    cls = tf.constant([CLS_ID], tf.int32)
    sep = tf.constant([SEP_ID], tf.int32)
    blocks = body.map(lambda b: tf.concat([cls, b, sep], axis=0), num_parallel_calls=AUTOTUNE)
    batches = finish(blocks, batch_size, shuffle, shuffle_buffer, seed, repeat)
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
    vocabulary_size = tokenizer.vocabulary_size

    def corrupt(batch, pair):
        return mask_tokens(batch, pair, vocabulary_size, mask_rate, mask_token_rate, random_token_rate)

    return tf.data.Dataset.zip((batches, seeds)).map(corrupt, num_parallel_calls=AUTOTUNE).prefetch(AUTOTUNE)
