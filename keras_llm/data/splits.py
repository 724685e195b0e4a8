"""A deterministic held-out split of a text source, for validation when no validation files are given."""
from keras_llm.data.sources import load_texts


def holdout_split(source, every, *, field="text", documents=False):
    """Splits a corpus into `(train, held_out)` datasets of strings: the last example of every run of `every`
    consecutive examples (the 20th, 40th, ... for `every=20`) is held out, in corpus order.

    Deterministic (no hashing, no shuffling): the same files give the same split on every run and every
    worker, so a resumed run validates on exactly the same examples. Blank examples are dropped first, as
    everywhere in `keras_llm.data`. Every example lands in exactly one of the two.

    Args:
        source: file path(s), a directory or glob, or a `tf.data.Dataset` of strings (`load_texts`).
        every: hold out one example in `every` (>= 2); `every=20` holds out 5%.
        field: JSON field / CSV column / tf.Example feature holding the text.
        documents: plain-text files hold blank-line-separated documents.

    Returns:
        `(train, held_out)`, two re-iterable `tf.data.Dataset`s of strings.

    Example:
        >>> train, valid = holdout_split(["corpus.txt"], every=20)
        >>> ds = causal_lm_dataset(train, tokenizer, seq_len=128, batch_size=32)
    """
    every = int(every)
    if every < 2:
        raise ValueError(f"holdout_split: every must be >= 2 (one example in `every` held out), got {every}")
    texts = load_texts(source, field=field, documents=documents)
    # Runs of `every` examples: a full run keeps its first every - 1 examples for training and holds out the
    # last; the final, shorter run (fewer than `every` examples) is kept whole for training.
    train = texts.batch(every).map(lambda run: run[: every - 1]).unbatch()
    held_out = texts.batch(every, drop_remainder=True).map(lambda run: run[every - 1:]).unbatch()
    return train, held_out
