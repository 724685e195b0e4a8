"""Causal language-model dataset: documents packed into fixed-length blocks, targets shifted by one."""

from keras_llm.data.packing import AUTOTUNE, finish, pack, require_non_empty, token_stream


def causal_lm_dataset(
    source,
    tokenizer,
    seq_len,
    batch_size,
    *,
    shuffle=True,
    shuffle_buffer=10_000,
    seed=None,
    repeat=False,
    documents=False,
    field="text",
):
    """Tokenizes a corpus and packs it into `(inputs, targets)` batches of int32 `[batch_size, seq_len]`.

    Documents are joined into one token stream with `<eos>` after each (no padding anywhere); blocks of
    `seq_len + 1` tokens start every `seq_len` tokens, and `inputs = block[:-1]`, `targets = block[1:]`, so
    every token of the stream but the first is a target exactly once. The final partial block is dropped.

    Args:
        source: a `tf.data.Dataset` of strings, or file path(s) in any format `load_texts` reads.
        tokenizer: a `keras_llm.tokenizers.Tokenizer`.
        seq_len: tokens per example.
        batch_size: examples per batch (global batch size under a distribution strategy).
        shuffle: shuffle blocks (seeded by `seed`, reshuffled each epoch).
        shuffle_buffer: blocks held by the shuffle buffer.
        seed: makes shuffling deterministic.
        repeat: repeat forever (use with `steps_per_epoch`).
        documents: for plain-text files, blank-line-separated documents instead of lines.
        field: JSON field / CSV column / tf.Example feature holding the text.

    Example:
        >>> ds = causal_lm_dataset(["corpus.txt"], tokenizer, seq_len=128, batch_size=32, seed=0)
        >>> model.fit(ds, epochs=1)
    """
    if seq_len < 1 or batch_size < 1:
        raise ValueError(f"seq_len and batch_size must be positive, got {seq_len} and {batch_size}")
    blocks = pack(token_stream(source, tokenizer, tokenizer.eos_id, field=field, documents=documents), seq_len + 1, seq_len)
    require_non_empty(blocks, source, f"block of seq_len + 1 = {seq_len + 1} tokens")
    dataset = finish(blocks, batch_size, shuffle, shuffle_buffer, seed, repeat)
    return dataset.map(lambda b: (b[:, :-1], b[:, 1:]), num_parallel_calls=AUTOTUNE).prefetch(AUTOTUNE)
