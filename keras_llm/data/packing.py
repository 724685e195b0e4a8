"""Shared pieces of the task builders: batched tokenization, document packing, the empty-corpus check."""
import tensorflow as tf

from keras_llm.data.sources import describe, load_texts
from keras_llm.special_tokens import EOS_ID

AUTOTUNE = tf.data.AUTOTUNE
# Strings per tokenize call: large enough to amortize the op's overhead, small enough to keep latency low.
TOKENIZE_BATCH = 256


def token_stream(source, tokenizer, separator=EOS_ID, **source_options):
    """Source -> dataset of 1-D token chunks (one per tokenized batch), `separator` after every document."""

    def tokenize_flat(texts):
        ids = tokenizer.tokenize(texts)
        ends = tf.fill([ids.nrows(), 1], tf.constant(separator, tf.int32))
        return tf.concat([ids, tf.RaggedTensor.from_tensor(ends)], axis=1).flat_values

    texts = load_texts(source, **source_options)
    return texts.batch(TOKENIZE_BATCH).map(tokenize_flat, num_parallel_calls=AUTOTUNE, deterministic=True)


def pack(chunks, block_len, stride):
    """1-D token chunks -> dataset of `[block_len]` blocks starting every `stride` tokens of the stream.

    The tail that does not fill a block is carried into the next chunk, so blocks cross document and chunk
    boundaries with no padding. `stride == block_len` tiles the stream; `block_len == stride + 1` gives the
    one-token overlap that makes (block[:-1], block[1:]) cover every token exactly once as input and target.
    """
    if block_len < stride:
        raise ValueError(f"block_len ({block_len}) must be >= stride ({stride})")

    def step(carry, chunk):
        buf = tf.concat([carry, chunk], axis=0)
        n = tf.maximum((tf.size(buf) - (block_len - stride)) // stride, 0)
        blocks = tf.gather(buf, tf.range(n)[:, None] * stride + tf.range(block_len)[None, :])
        return buf[n * stride :], blocks

    return chunks.scan(tf.zeros([0], tf.int32), step).unbatch()


def require_non_empty(dataset, source, what):
    """Raises ValueError (before training) when `dataset` yields nothing."""
    for _ in dataset.take(1):
        return
    raise ValueError(f"corpus is empty: {describe(source)} yields no {what}")


def finish(dataset, batch_size, shuffle, shuffle_buffer, seed, repeat, drop_remainder=True):
    """Shuffle (seeded, reshuffled each epoch), repeat, batch, prefetch."""
    if shuffle:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()
    return dataset.batch(batch_size, drop_remainder=drop_remainder)
