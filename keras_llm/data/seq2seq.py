"""Sequence-to-sequence (translation) dataset: source/target pairs, teacher forcing, length bucketing."""
import tensorflow as tf

from keras_llm.data.packing import AUTOTUNE, TOKENIZE_BATCH, require_non_empty
from keras_llm.data.sources import csv_columns, expand_paths, non_empty_files
from keras_llm.special_tokens import BOS_ID, EOS_ID, PAD_ID


def read_pairs(paths, delimiter="\t"):
    """`source<TAB>target` lines (no header) -> dataset of (source, target) strings. A line without exactly
    one delimiter is an error naming the file and line; blank lines are skipped."""
    sources, targets = [], []
    for path in non_empty_files(paths):
        with open(path, encoding="utf-8", errors="replace") as f:
            for number, line in enumerate(f, 1):
                line = line.rstrip("\r\n")
                if not line.strip():
                    continue
                fields = line.split(delimiter)
                if len(fields) != 2:
                    raise ValueError(f"{path}:{number}: expected 'source{delimiter!r}target', got {len(fields)} field(s)")
                sources.append(fields[0])
                targets.append(fields[1])
    return tf.data.Dataset.from_tensor_slices((tf.constant(sources, tf.string), tf.constant(targets, tf.string)))


def _pairs(source, source_column, target_column):
    if isinstance(source, tf.data.Dataset):
        return source
    files = expand_paths(source)
    if all(f.endswith(".csv") for f in files) or (source_column, target_column) != ("source", "target"):
        rows = csv_columns(files, [source_column, target_column])
        return tf.data.Dataset.from_tensor_slices(tuple(tf.constant(c, tf.string) for c in zip(*rows)))
    return read_pairs(files)


def seq2seq_dataset(
    source,
    source_tokenizer,
    target_tokenizer=None,
    *,
    batch_size,
    max_source_len=64,
    max_target_len=64,
    bucket_boundaries=None,
    shuffle=True,
    shuffle_buffer=10_000,
    seed=None,
    repeat=False,
    source_column="source",
    target_column="target",
):
    """Builds teacher-forcing batches for an encoder-decoder.

    Each pair becomes `encoder_inputs = source ids` (truncated to `max_source_len`), `decoder_inputs =
    <bos> + target ids` and `targets = target ids + <eos>` (both truncated to `max_target_len`). Batches group
    pairs of similar length (`bucket_by_sequence_length`) and are padded with `<pad>` (id 0), which the
    losses ignore. Truncation is a documented cleaning step, not an error.

    Args:
        source: dataset of (source, target) string pairs, `source<TAB>target` text/TSV files, or CSV files
            with `source_column` / `target_column`.
        source_tokenizer / target_tokenizer: tokenizers (the target one defaults to the source one).
        bucket_boundaries: length boundaries; default: powers of two up to the max length.

    Returns:
        A dataset of `({"encoder_inputs", "decoder_inputs"}, targets)`, int32 `[batch, (padded length)]`.
    """
    target_tokenizer = target_tokenizer or source_tokenizer
    pairs = _pairs(source, source_column, target_column)
    pairs = pairs.filter(lambda s, t: (tf.strings.length(tf.strings.strip(s)) > 0) & (tf.strings.length(tf.strings.strip(t)) > 0))
    bos = tf.constant([BOS_ID], tf.int32)
    eos = tf.constant([EOS_ID], tf.int32)

    def tokenize(src, tgt):
        return source_tokenizer.tokenize(src), target_tokenizer.tokenize(tgt)

    def shape(src, tgt):
        src = src[:max_source_len]
        tgt = tgt[: max_target_len - 1]
        return {"encoder_inputs": src, "decoder_inputs": tf.concat([bos, tgt], 0)}, tf.concat([tgt, eos], 0)

    examples = (
        pairs.batch(TOKENIZE_BATCH)
        .map(tokenize, num_parallel_calls=AUTOTUNE, deterministic=True)
        .unbatch()
        .map(shape, num_parallel_calls=AUTOTUNE, deterministic=True)
    )
    require_non_empty(examples, source, "source/target pair")
    if shuffle:
        examples = examples.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        examples = examples.repeat()
    longest = max(max_source_len, max_target_len)
    if bucket_boundaries is None:
        bucket_boundaries = [b for b in (8, 16, 32, 64, 128, 256, 512) if b < longest]
    batches = examples.bucket_by_sequence_length(
        lambda x, y: tf.maximum(tf.shape(x["encoder_inputs"])[0], tf.shape(y)[0]),
        bucket_boundaries=bucket_boundaries,
        bucket_batch_sizes=[batch_size] * (len(bucket_boundaries) + 1),
        padding_values=({"encoder_inputs": PAD_ID, "decoder_inputs": PAD_ID}, PAD_ID),
        drop_remainder=False,
    )
    return batches.prefetch(AUTOTUNE)
