"""Pretrained word vectors (word2vec / GloVe text format) as the initial token-embedding table.

Reading is plain Python + numpy (no TensorFlow), so it works on any Keras backend.
"""
import gzip
import logging

import numpy as np

logger = logging.getLogger(__name__)


def _vocabulary_list(vocabulary):
    """A list of tokens (index = id) from a list, a `{token: id}` dict, or an object with `get_vocabulary()`."""
    if hasattr(vocabulary, "get_vocabulary"):
        vocabulary = vocabulary.get_vocabulary()
    if isinstance(vocabulary, dict):
        tokens = [None] * (max(vocabulary.values()) + 1 if vocabulary else 0)
        for token, index in vocabulary.items():
            tokens[index] = token
        return tokens
    return list(vocabulary)


def _open_text(path):
    if str(path).endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


def load_word_vectors(path, vocabulary, embedding_dim, lowercase_fallback=True, scale=None, seed=0):
    """Builds a `[len(vocabulary), embedding_dim]` embedding matrix from a word-vector text file.

    The file has one `word v_1 ... v_embedding_dim` line per word (GloVe), optionally after a
    `count dim` header line (word2vec's text format); `.gz` files are read compressed. The first line for a
    word wins. A token found in the file gets its vector; with `lowercase_fallback`, a token not found as is
    gets the vector of its lowercase form when that is in the file. Every other token (special tokens
    included) gets a random normal vector whose standard deviation matches the found vectors' (or `scale`).

    Args:
        path: the vectors file (text, or gzipped text ending in `.gz`).
        vocabulary: the tokens (a list, index = id), a `{token: id}` dict, or a tokenizer with
            `get_vocabulary()`.
        embedding_dim: the vectors' width; a line with another number of values is an error naming it.
        lowercase_fallback: look a token up in lowercase when its own form is missing.
        scale: standard deviation of the random rows; default: that of the found vectors (0.1 if none).
        seed: seed of the random rows.

    Returns:
        `(matrix, num_found)`: a float32 numpy matrix and the number of vocabulary tokens given a vector.
        The count is also logged (INFO) with the number missing.

    Example:
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "vectors.txt")
    >>> _ = open(path, "w").write("2 3\\ncat 1 2 3\\ndog 4 5 6\\n")
    >>> matrix, found = load_word_vectors(path, ["<pad>", "dog", "bird"], embedding_dim=3)
    >>> found, matrix[1].tolist()
    (1, [4.0, 5.0, 6.0])
    """
    tokens = _vocabulary_list(vocabulary)
    wanted = {}
    for index, token in enumerate(tokens):
        if token is not None:
            wanted.setdefault(token, []).append(index)
    fallback = {}
    if lowercase_fallback:
        for token, indices in wanted.items():
            if token.lower() != token:
                fallback.setdefault(token.lower(), []).extend(indices)

    vectors = {}  # row index -> vector; exact matches replace lowercase-fallback ones
    exact_rows = set()
    with _open_text(path) as lines:
        for number, line in enumerate(lines, 1):
            fields = line.rstrip("\r\n").rstrip().split(" ")
            if number == 1 and len(fields) == 2 and all(f.isdigit() for f in fields):
                if int(fields[1]) != embedding_dim:
                    raise ValueError(f"{path}: header says {fields[1]} dimensions, expected {embedding_dim}")
                continue
            if len(fields) < 2:
                continue  # blank line
            word, values = fields[0], fields[1:]
            if word not in wanted and word not in fallback:
                continue
            if len(values) != embedding_dim:
                raise ValueError(f"{path}:{number}: {len(values)} values for {word!r}, expected {embedding_dim}")
            vector = np.asarray(values, dtype="float32")
            for index in wanted.get(word, ()):
                if index not in exact_rows:
                    vectors[index] = vector
                    exact_rows.add(index)
            for index in fallback.get(word, ()):
                vectors.setdefault(index, vector)

    found = np.array(sorted(vectors), dtype="int64")
    if scale is None:
        scale = float(np.std(np.stack([vectors[i] for i in found]))) if len(found) else 0.1
    matrix = np.random.default_rng(seed).normal(0.0, scale, size=(len(tokens), embedding_dim)).astype("float32")
    for index, vector in vectors.items():
        matrix[index] = vector
    num_found = len(found)
    logger.info("word vectors from %s: %d of %d vocabulary tokens found, %d random", path, num_found,
                len(tokens), len(tokens) - num_found)
    return matrix, num_found


def _token_tables(model):
    """Every embedding table under `model` that is not a position or segment table."""
    return [
        variable for variable in model.weights
        if variable.path.split("/")[-1] == "embeddings"
        and "position" not in variable.path and "segment" not in variable.path
    ]


def set_token_embeddings(model, matrix, layer=None):
    """Copies `matrix` `[vocabulary_size, dim]` into a model's token-embedding table.

    Args:
        model: a built keras_llm model (`TransformerLanguageModel`, `RNNLanguageModel`, `BertEncoder`,
            `BertMaskedLM`, `TextClassifier`, ...) or a `keras.layers.Embedding`.
        matrix: the new table, e.g. from `load_word_vectors`; its shape must equal the table's.
        layer: the `keras.layers.Embedding` (or its table variable) to set, needed when the model has
            several token tables of that shape (`Seq2SeqTransformer`, `LSTMSeq2Seq`: source and target;
            e.g. `layer=model.source_embedding`).

    Returns:
        The table variable that was set.

    Example:
    >>> import keras
    >>> layer = keras.layers.Embedding(3, 2)
    >>> layer.build((None,))
    >>> set_token_embeddings(layer, [[0.0, 0.0], [1.0, 2.0], [3.0, 4.0]]).numpy()[2].tolist()
    [3.0, 4.0]
    """
    matrix = np.asarray(matrix, dtype="float32")
    if layer is None:
        if not model.built:
            raise ValueError("build the model first (call it on a batch or call `model.build()`)")
        tables = _token_tables(model)
        candidates = [table for table in tables if tuple(table.shape) == matrix.shape]
        if len(candidates) != 1:
            raise ValueError(
                f"found {len(candidates)} token-embedding tables of shape {matrix.shape} among "
                f"{[table.path for table in tables]}; pass `layer=`"
            )
        table = candidates[0]
    else:
        table = getattr(layer, "embeddings", layer)
        if hasattr(layer, "token_embeddings"):  # TokenAndPositionEmbedding
            table = layer.token_embeddings
    if tuple(table.shape) != matrix.shape:
        raise ValueError(f"matrix shape {matrix.shape} != embedding table shape {tuple(table.shape)}")
    table.assign(matrix)
    return table
