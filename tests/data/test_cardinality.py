"""with_known_cardinality: Keras logs exact mean losses on a packed (unknown-length) causal LM dataset."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_llm.data import causal_lm_dataset, count_batches, with_known_cardinality
from keras_llm.datasets import grammar_documents, write_corpus
from keras_llm.tokenizers import WordTokenizer
from keras_llm.training import compile_language_model


def test_fit_and_evaluate_losses_equal_the_manual_mean(tmp_path):
    path = str(tmp_path / "docs.txt")
    write_corpus(grammar_documents(40, seed=1), path)
    tokenizer = WordTokenizer.train(path, vocab_size=120)
    dataset = causal_lm_dataset(path, tokenizer, seq_len=12, batch_size=4, shuffle=False)
    assert int(dataset.cardinality()) == tf.data.UNKNOWN_CARDINALITY  # packing: the length is not known
    counted, batches = with_known_cardinality(dataset)
    assert batches == count_batches(dataset) >= 2 and int(counted.cardinality()) == batches

    keras.utils.set_random_seed(0)
    inputs = keras.Input((12,), dtype="int32")
    hidden = keras.layers.Embedding(tokenizer.vocabulary_size, 8)(inputs)
    model = compile_language_model(keras.Model(inputs, keras.layers.Dense(tokenizer.vocabulary_size)(hidden)),
                                   optimizer=keras.optimizers.SGD(0.0))  # fixed weights: every pass is equal
    losses = [float(model.compute_loss(y=y, y_pred=model(x))) for x, y in dataset]
    manual = np.mean(losses)  # every batch holds the same number of (unpadded) tokens
    np.testing.assert_allclose(model.evaluate(counted, verbose=0, return_dict=True)["loss"], manual, rtol=1e-5)
    np.testing.assert_allclose(model.fit(counted, epochs=1, verbose=0).history["loss"][0], manual, rtol=1e-5)
    # The bug this works around (Keras 3.12-3.15 on TF): fit on the uncounted dataset averages in an empty
    # step and logs N/(N+1) of the mean; a Keras release that fixes it logs the mean.
    uncounted = model.fit(dataset, epochs=1, verbose=0).history["loss"][0]
    assert min(abs(uncounted / manual - r) for r in (batches / (batches + 1), 1.0)) < 1e-5, (uncounted, manual)


def test_known_and_infinite_cardinalities():
    known = tf.data.Dataset.range(6).batch(4)
    assert with_known_cardinality(known) == (known, 2)
    with pytest.raises(ValueError, match="infinite"):
        with_known_cardinality(known.repeat())
