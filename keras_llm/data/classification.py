"""Text-classification dataset: text + label -> padded ids + integer label."""
import tensorflow as tf

from keras_llm.data.packing import AUTOTUNE, TOKENIZE_BATCH, require_non_empty
from keras_llm.data.sources import csv_columns, expand_paths
from keras_llm.special_tokens import CLS_ID, PAD_ID, SEP_ID


def _labelled(source, text_column, label_column):
    if isinstance(source, tf.data.Dataset):
        return source
    files = expand_paths(source)
    rows = csv_columns(files, [text_column, label_column])
    texts, labels = zip(*rows) if rows else ((), ())
    return tf.data.Dataset.from_tensor_slices((tf.constant(texts, tf.string), tf.constant(labels, tf.string)))


def classification_dataset(
    source,
    tokenizer,
    *,
    seq_len,
    batch_size,
    labels=None,
    stop_words=None,
    shuffle=True,
    shuffle_buffer=10_000,
    seed=None,
    repeat=False,
    text_column="text",
    label_column="label",
):
    """Builds `(ids, label)` batches: `<cls> tokens <sep>` truncated/padded to `seq_len`, label as int32.

    Args:
        source: dataset of (text, label) pairs (labels int or string), or CSV/TSV files with a header.
        tokenizer: a `keras_llm.tokenizers.Tokenizer`.
        labels: list of label names when labels are strings (index = class id); an unknown label is an
            error naming it. Integer labels are used as they are.
        stop_words: optional `keras_llm.tokenizers.StopWordFilter` applied before tokenization.

    Example:
        >>> ds = classification_dataset(tf.data.Dataset.from_tensor_slices((texts, labels)), tok,
        ...                             seq_len=32, batch_size=16, seed=0)
    """
    pairs = _labelled(source, text_column, label_column)
    label_spec = pairs.element_spec[1]
    if label_spec.dtype == tf.string:
        if labels is None:
            raise ValueError("string labels need `labels=[...]` (the class names, index = class id)")
        table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(tf.constant(list(labels)), tf.range(len(labels), dtype=tf.int32)), -1
        )
        known = set(labels)
        for _, label in pairs.take(10_000).as_numpy_iterator():
            if label.decode() not in known:
                raise ValueError(f"unknown label {label.decode()!r} (labels: {list(labels)})")
        to_id = table.lookup
    else:
        to_id = lambda y: tf.cast(y, tf.int32)  # noqa: E731

    def encode(texts, ys):
        if stop_words is not None:
            texts = stop_words(texts)
        ids = tokenizer.tokenize(texts)[:, : seq_len - 2]
        n = ids.nrows()
        ids = tf.concat([tf.fill([n, 1], CLS_ID), ids, tf.fill([n, 1], SEP_ID)], axis=1)
        return ids.to_tensor(default_value=PAD_ID, shape=[None, seq_len]), to_id(ys)

    examples = pairs.batch(TOKENIZE_BATCH).map(encode, num_parallel_calls=AUTOTUNE, deterministic=True).unbatch()
    require_non_empty(examples, source, "labelled example")
    if shuffle:
        examples = examples.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        examples = examples.repeat()
    return examples.batch(batch_size).prefetch(AUTOTUNE)
