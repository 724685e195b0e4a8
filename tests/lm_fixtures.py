"""Tiny trained language models shared by the generation and export tests."""
import functools

import numpy as np
import tensorflow as tf

from keras_llm.models import RNNLanguageModel, TransformerLanguageModel
from keras_llm.tokenizers import WordTokenizer

PATTERN = "red green blue"  # a document the models learn to continue: red -> green -> blue -> <eos>
# The shortest is 19 tokens with its <eos>: two whole prefill chunks (2 x PREFILL_CHUNK) run before stepping.
LONG_PROMPTS = ["one two three four five six seven eight nine ten the dog sees a cat red green",
                "the dog sees a cat one two three four five six seven eight nine ten red green blue a cat",
                "red green blue " * 7]


@functools.lru_cache(maxsize=None)
def word_tokenizer():
    words = ["red green blue", "one two three four five six seven eight nine ten", "the dog sees a cat"]
    return WordTokenizer.train(tf.data.Dataset.from_tensor_slices(words), vocab_size=40)


def make_model(kind, vocabulary_size, seed=0):
    import keras

    keras.utils.set_random_seed(seed)
    if kind == "transformer":
        return TransformerLanguageModel(vocabulary_size=vocabulary_size, num_layers=2, hidden_dim=32, num_heads=2,
                                        intermediate_dim=64, max_sequence_length=48)
    return RNNLanguageModel(vocabulary_size=vocabulary_size, cell=kind, num_layers=2, hidden_dim=32)


@functools.lru_cache(maxsize=None)
def trained_model(kind):
    """A model trained for a few seconds on '<eos> red green blue <eos> red green blue ...'."""
    import keras

    tok = word_tokenizer()
    doc = [3] + tok(PATTERN).numpy().tolist()
    stream = np.array(doc * 200, dtype="int32")
    x = np.stack([stream[i : i + 16] for i in range(0, 600, 4)])
    y = np.stack([stream[i + 1 : i + 17] for i in range(0, 600, 4)])
    model = make_model(kind, tok.vocabulary_size)
    model.compile(optimizer=keras.optimizers.Adam(0.01),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, epochs=8, batch_size=16, verbose=0)
    return model
