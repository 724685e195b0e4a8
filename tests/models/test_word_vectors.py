"""load_word_vectors / set_token_embeddings: word2vec and GloVe text files into embedding tables."""
import gzip
import logging

import numpy as np
import pytest

from keras_llm.models import (
    BertEncoder,
    LSTMSeq2Seq,
    RNNLanguageModel,
    TransformerLanguageModel,
    load_word_vectors,
    set_token_embeddings,
)

VOCABULARY = ["<pad>", "<unk>", "<bos>", "<eos>", "<mask>", "<cls>", "<sep>", "the", "dog", "Paris", "zebra"]
VECTORS = {"the": [0.1, 0.2, 0.3, 0.4], "dog": [1.0, -1.0, 0.5, 2.0], "paris": [3.0, 3.0, 3.0, 3.0],
           "cat": [9.0, 9.0, 9.0, 9.0]}


def _write(path, header=False, opener=open):
    with opener(path, "wt", encoding="utf-8") as f:
        if header:
            f.write(f"{len(VECTORS)} 4\n")
        for word, vector in VECTORS.items():
            f.write(word + " " + " ".join(str(v) for v in vector) + "\n")
    return str(path)


@pytest.mark.parametrize("header", [False, True], ids=["glove", "word2vec"])
def test_found_and_missing_words(tmp_path, header, caplog):
    path = _write(tmp_path / "vectors.txt", header=header)
    with caplog.at_level(logging.INFO, logger="keras_llm.models.word_vectors"):
        matrix, found = load_word_vectors(path, VOCABULARY, embedding_dim=4, seed=3)
    assert matrix.shape == (len(VOCABULARY), 4) and matrix.dtype == np.float32
    assert found == 3  # the, dog, Paris (through its lowercase form); zebra and the specials are missing
    np.testing.assert_array_equal(matrix[7], np.float32(VECTORS["the"]))
    np.testing.assert_array_equal(matrix[8], np.float32(VECTORS["dog"]))
    np.testing.assert_array_equal(matrix[9], np.float32(VECTORS["paris"]))
    assert "3 of 11 vocabulary tokens found, 8 random" in caplog.text
    missing = matrix[[0, 1, 2, 3, 4, 5, 6, 10]]
    assert np.all(np.isfinite(missing)) and np.std(missing) > 0
    assert not any(np.array_equal(row, v) for row in missing for v in VECTORS.values())
    # the random rows are reproducible from the seed
    np.testing.assert_array_equal(load_word_vectors(path, VOCABULARY, 4, seed=3)[0], matrix)


def test_options_and_errors(tmp_path):
    path = _write(tmp_path / "vectors.txt.gz", opener=gzip.open)
    matrix, found = load_word_vectors(path, {"dog": 1, "Paris": 0}, embedding_dim=4, lowercase_fallback=False,
                                      scale=0.0)
    assert found == 1
    np.testing.assert_array_equal(matrix, [[0, 0, 0, 0], VECTORS["dog"]])
    with pytest.raises(ValueError, match=r"vectors.txt.gz:2: 4 values for 'dog', expected 3"):
        load_word_vectors(path, ["dog", "zebra"], embedding_dim=3)  # only wanted words are checked


def test_set_token_embeddings_on_models(tmp_path):
    matrix, _ = load_word_vectors(_write(tmp_path / "v.txt"), VOCABULARY, embedding_dim=4)
    for model in (
        TransformerLanguageModel(len(VOCABULARY), 1, 4, 2, 8, max_sequence_length=len(VOCABULARY)),
        RNNLanguageModel(len(VOCABULARY), num_layers=1, hidden_dim=6, embedding_dim=4),
        BertEncoder(len(VOCABULARY), 1, 4, 2, 8, max_sequence_length=len(VOCABULARY), num_segments=2),
    ):
        model.build((None, 3))
        table = set_token_embeddings(model, matrix)
        assert "position" not in table.path
        np.testing.assert_array_equal(table.numpy(), matrix)
    seq2seq = LSTMSeq2Seq(len(VOCABULARY), len(VOCABULARY), num_layers=1, hidden_dim=4)
    seq2seq.build()
    with pytest.raises(ValueError, match="found 2 token-embedding tables"):
        set_token_embeddings(seq2seq, matrix)
    set_token_embeddings(seq2seq, matrix, layer=seq2seq.target_embedding)
    np.testing.assert_array_equal(seq2seq.target_embedding.embeddings.numpy(), matrix)
    with pytest.raises(ValueError, match="shape"):
        set_token_embeddings(seq2seq, matrix[:, :3], layer=seq2seq.source_embedding)
