"""Graph helpers for bounded serving requests: capped prompt sizes and chunked batches."""
import tensorflow as tf

from keras_llm.special_tokens import EOS_ID

BYTES_PER_TOKEN = 64  # input bytes kept per allowed token: generous, a token is rarely longer


def chunked(fn, inputs, chunk_size, output_signature):
    """Applies `fn` to consecutive slices of at most `chunk_size` rows of `inputs` (a tensor or a tuple of
    tensors with the same first dimension) and concatenates the results, so that a large batch never
    holds more than one chunk's activations in memory.

    `output_signature` maps output names to dtypes; `fn` returns a dict with those keys, each `[rows, ...]`.
    """
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    total = tf.shape(inputs[0])[0]
    num_chunks = (total + chunk_size - 1) // chunk_size
    arrays = {k: tf.TensorArray(dtype, size=num_chunks, infer_shape=False) for k, dtype in output_signature.items()}

    def body(i, arrays):
        start = i * chunk_size
        size = tf.minimum(chunk_size, total - start)
        outputs = fn(*(x[start : start + size] for x in inputs))
        return i + 1, {k: arrays[k].write(i, outputs[k]) for k in arrays}

    _, arrays = tf.while_loop(lambda i, _: i < num_chunks, body, (tf.constant(0), arrays))
    return {k: tf.cond(num_chunks > 0, a.concat, lambda d=output_signature[k]: tf.zeros([0], d)) for k, a in arrays.items()}


def truncate_text(texts, max_bytes, keep="end"):
    """Keeps the last (`keep="end"`, for prompts) or first (`keep="start"`, for encoder inputs) `max_bytes`
    bytes of each string (a cut UTF-8 character is cleaned by normalization), which bounds tokenization work
    for huge inputs."""
    if keep == "start":
        return tf.strings.substr(texts, 0, max_bytes)
    length = tf.strings.length(texts)
    start = tf.maximum(length - max_bytes, 0)
    return tf.strings.substr(texts, start, length - start)


def prompt_batch(tokenizer, prompts, max_prompt_tokens, extra_length, start_id=EOS_ID):
    """Tokenizes prompts, prefixes `start_id` (document start: `<eos>`, or the model's own end-of-text id), keeps the last `max_prompt_tokens` tokens, and
    returns `(tokens [batch, longest + extra_length] int32, lengths [batch] int32)`."""
    ids = tokenizer.tokenize(prompts)
    starts = tf.fill([ids.nrows(), 1], tf.constant(start_id, tf.int32))
    ids = tf.concat([tf.RaggedTensor.from_tensor(starts), ids], axis=1)
    lengths = tf.minimum(ids.row_lengths(), max_prompt_tokens)
    ids = tf.ragged.boolean_mask(ids, tf.ragged.range(ids.row_lengths()) >= tf.expand_dims(ids.row_lengths() - lengths, 1))
    tokens = ids.to_tensor()
    tokens = tf.pad(tokens, [[0, 0], [0, extra_length]])
    return tokens, tf.cast(lengths, tf.int32)


def length_buckets(longest, step=32):
    """Buffer lengths a bucketed request is padded to: multiples of `step`, and `longest` itself.

    Example:
    >>> length_buckets(70)
    [32, 64, 70]
    """
    return sorted({*range(step, longest, step), longest})


def batch_buckets(max_batch_size):
    """Batch sizes a bucketed request chunk is padded to: powers of two, and `max_batch_size` itself.

    Example:
    >>> batch_buckets(24)
    [1, 2, 4, 8, 16, 24]
    """
    sizes, size = {max_batch_size}, 1
    while size < max_batch_size:
        sizes.add(size)
        size *= 2
    return sorted(sizes)


def _bucket(value, buckets):
    """The smallest bucket >= value (the largest bucket if none is)."""
    buckets = tf.constant(buckets, tf.int32)
    index = tf.minimum(tf.reduce_sum(tf.cast(buckets < value, tf.int32)), tf.size(buckets) - 1)
    return buckets[index]


def pad_to_buckets(tokens, lengths, length_sizes, batch_sizes):
    """Pads `tokens [batch, length]` with `<pad>` columns up to the next length bucket, and adds copies of the
    first row (with its length) up to the next batch bucket; callers drop the extra rows from the results.
    Copies rather than short filler rows: the decoding loop prefills up to the shortest prompt in the batch."""
    rows, length = tf.shape(tokens)[0], tf.shape(tokens)[1]
    extra_rows = _bucket(rows, batch_sizes) - rows
    tokens = tf.pad(tokens, [[0, 0], [0, _bucket(length, length_sizes) - length]])
    copies = tf.zeros([extra_rows], tf.int32)
    return (tf.concat([tokens, tf.gather(tokens, copies)], 0),
            tf.concat([lengths, tf.gather(lengths, copies)], 0))


def trim_padding(tokens, lengths):
    """Drops the padding columns that no row of this chunk uses."""
    return tokens[:, : tf.reduce_max(tf.concat([lengths, [1]], 0))]
