"""Graph-side framing of encoder inputs: `<cls> tokens <sep>`, and texts that spell out the mask token.

Used by the text-level task helpers (`keras_llm.generation.tasks`) and by the exported SavedModels, so both
feed a model exactly the same ids.
"""
import tensorflow as tf

from keras_llm import special_tokens as st


def tokenize_with_masks(tokenizer, texts, mask_token=st.MASK):
    """Tokenizes texts in which `mask_token` (default `"<mask>"`) marks masked positions -> int32 ragged ids
    with `MASK_ID` at those positions.

    The text is split on the mask string before normalization and tokenization, so the mask survives every
    tokenizer (WordPiece would split `<mask>` into `<`, `mask`, `>`; the byte tokenizer into bytes).

    Example:
    >>> from keras_llm.tokenizers import WordTokenizer
    >>> tok = WordTokenizer(list(st.SPECIAL_TOKENS) + ["a", "b"])
    >>> tokenize_with_masks(tok, tf.constant(["a <mask> b <mask>", ""])).to_list()
    [[7, 4, 8, 4], []]
    """
    texts = tf.convert_to_tensor(texts, tf.string)
    segments = tf.strings.split(texts, sep=mask_token)  # [batch, (pieces)]: one more piece than masks
    ids = tokenizer.tokenize(segments.flat_values)  # [pieces, (tokens)]
    splits_dtype = ids.row_splits.dtype
    piece_lengths = tf.cast(segments.row_lengths(), splits_dtype)
    index_in_row = tf.cast(tf.ragged.range(piece_lengths).flat_values, splits_dtype)
    pieces_in_row = tf.gather(piece_lengths, segments.value_rowids())
    followed_by_mask = tf.cast(index_in_row < pieces_in_row - 1, splits_dtype)  # every piece but a row's last
    masks = tf.RaggedTensor.from_row_lengths(
        tf.fill([tf.reduce_sum(followed_by_mask)], tf.constant(st.MASK_ID, tf.int32)), followed_by_mask
    )
    pieces = tf.concat([ids, masks], axis=1)
    nested = tf.RaggedTensor.from_row_splits(pieces, tf.cast(segments.row_splits, splits_dtype))
    return nested.merge_dims(1, 2)


def frame_cls_sep(ids, max_length):
    """Ragged ids -> `<cls> ids <sep>` keeping the first `max_length - 2` ids (BERT-style inputs, as
    `keras_llm.data.classification_dataset` and `masked_lm_dataset` build them); returns
    `(tokens int32 [batch, longest], lengths int32 [batch])`, padded with `<pad>` (0).
    """
    if max_length < 3:
        raise ValueError(f"max_length must be at least 3 (<cls>, a token, <sep>), got {max_length}")
    ids = ids[:, : max_length - 2]
    n = ids.nrows()
    cls = tf.RaggedTensor.from_tensor(tf.fill([n, 1], tf.constant(st.CLS_ID, ids.dtype)), row_splits_dtype=ids.row_splits.dtype)
    sep = tf.RaggedTensor.from_tensor(tf.fill([n, 1], tf.constant(st.SEP_ID, ids.dtype)), row_splits_dtype=ids.row_splits.dtype)
    framed = tf.concat([cls, ids, sep], axis=1)
    return tf.cast(framed.to_tensor(default_value=st.PAD_ID), tf.int32), tf.cast(framed.row_lengths(), tf.int32)
