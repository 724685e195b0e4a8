"""Framing of encoder inputs: mask tokens spelled in text, and <cls> ... <sep>."""
import pytest
import tensorflow as tf

from keras_llm.tokenizers import ByteTokenizer, WordPieceTokenizer, WordTokenizer
from keras_llm.tokenizers import special_tokens as st
from keras_llm.tokenizers.framing import frame_cls_sep, tokenize_with_masks

CORPUS = ["the cat sat on the mat", "a dog sat", "the cats sat"]


@pytest.mark.parametrize("kind", ["word", "wordpiece", "byte"])
def test_masks_survive_every_tokenizer(kind):
    corpus = tf.data.Dataset.from_tensor_slices(CORPUS)
    tok = {"word": lambda: WordTokenizer.train(corpus, vocab_size=30),
           "wordpiece": lambda: WordPieceTokenizer.train(corpus, vocab_size=60),
           "byte": ByteTokenizer}[kind]()
    texts = ["the <mask> sat", "<mask><mask> mat <mask>", "", "no masks", "<mask>"]
    ids = tokenize_with_masks(tok, texts).to_list()
    assert [row.count(st.MASK_ID) for row in ids] == [1, 3, 0, 0, 1]
    # Removing the masks gives the tokenization of the text pieces between them.
    for text, row in zip(texts, ids):
        pieces = text.split(st.MASK)
        expected = []
        for index, piece in enumerate(pieces):
            expected += tok(piece).numpy().tolist() if piece else []
            if index < len(pieces) - 1:
                expected.append(st.MASK_ID)
        assert row == expected


def test_frame_cls_sep_truncates_and_pads():
    ids = tf.ragged.constant([[10, 11, 12, 13, 14], [], [20]], dtype=tf.int32)
    tokens, lengths = frame_cls_sep(ids, max_length=5)
    assert tokens.numpy().tolist() == [[5, 10, 11, 12, 6], [5, 6, 0, 0, 0], [5, 20, 6, 0, 0]]
    assert lengths.numpy().tolist() == [5, 2, 3]
    with pytest.raises(ValueError, match="at least 3"):
        frame_cls_sep(ids, max_length=2)
