"""TextClassifier: feature extraction (frozen BERT), fine-tuning an LSTM encoder, LM encoders, pooling, saving."""
import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_llm.data import classification_dataset
from keras_llm.datasets import grammar_classification
from keras_llm.layers import RecurrentStack
from keras_llm.models import BertEncoder, RNNLanguageModel, TextClassifier, TransformerLanguageModel
from keras_llm.models.text_classifier import last_real_position, masked_mean
from keras_llm.tokenizers import WordTokenizer

SEQ_LEN = 24


@pytest.fixture(scope="module")
def data():
    texts, labels = grammar_classification(256, seed=0)
    tokenizer = WordTokenizer.train(tf.data.Dataset.from_tensor_slices(texts), vocab_size=200)
    pairs = tf.data.Dataset.from_tensor_slices((texts, labels))
    dataset = classification_dataset(pairs, tokenizer, seq_len=SEQ_LEN, batch_size=32, seed=0)
    return dataset, tokenizer.vocabulary_size


def _compile(model, learning_rate=1e-2):
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    return model


@pytest.fixture(scope="module")
def frozen_bert(data):
    dataset, vocabulary_size = data
    keras.utils.set_random_seed(0)
    encoder = BertEncoder(vocabulary_size, num_layers=2, hidden_dim=32, num_heads=2, intermediate_dim=64,
                          max_sequence_length=SEQ_LEN)
    classifier = _compile(TextClassifier(encoder, num_classes=2, dropout=0.1, pooling="mean", freeze_encoder=True))
    classifier.build((None, SEQ_LEN))
    encoder_before = [w.numpy().copy() for w in encoder.weights]
    head_before = [w.numpy().copy() for w in classifier.classifier_head.weights]
    history = classifier.fit(dataset, epochs=4, verbose=0).history
    return classifier, history, encoder_before, head_before


def test_feature_extraction_trains_only_the_head(frozen_bert):
    classifier, history, encoder_before, head_before = frozen_bert
    assert [v.path.split("/", 1)[1] for v in classifier.trainable_variables] == [
        "classifier_head/kernel", "classifier_head/bias"]
    for before, after in zip(encoder_before, classifier.encoder.weights):
        np.testing.assert_array_equal(after.numpy(), before)  # bit-identical
    assert not np.allclose(classifier.classifier_head.weights[0].numpy(), head_before[0])
    assert history["loss"][-1] < history["loss"][0], history


def test_frozen_encoder_runs_in_inference_mode(data):
    dataset, vocabulary_size = data
    encoder = BertEncoder(vocabulary_size, num_layers=1, hidden_dim=16, num_heads=2, intermediate_dim=32,
                          max_sequence_length=SEQ_LEN, dropout=0.5)
    classifier = TextClassifier(encoder, num_classes=2, dropout=0.0, freeze_encoder=True)
    ids = next(iter(dataset))[0]
    np.testing.assert_array_equal(classifier(ids, training=True), classifier(ids, training=False))


def test_save_load_round_trip(frozen_bert, data, tmp_path):
    classifier = frozen_bert[0]
    ids = next(iter(data[0]))[0]
    path = os.path.join(tmp_path, "classifier.keras")
    classifier.save(path)
    restored = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(restored, TextClassifier) and isinstance(restored.encoder, BertEncoder)
    assert not restored.encoder.trainable and restored.freeze_encoder
    assert json.dumps(restored.get_config()) == json.dumps(classifier.get_config())
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(restored(ids)), keras.ops.convert_to_numpy(classifier(ids)))


def test_fine_tuning_an_lstm_encoder(data, tmp_path):
    dataset, vocabulary_size = data
    keras.utils.set_random_seed(0)
    encoder = keras.Sequential([keras.layers.Embedding(vocabulary_size, 32), RecurrentStack("lstm", units=32)])
    classifier = _compile(TextClassifier(encoder, num_classes=2, dropout=0.0, pooling="last"))
    classifier.build((None, SEQ_LEN))
    before = [w.numpy().copy() for w in encoder.weights]
    history = classifier.fit(dataset, epochs=4, verbose=0).history
    assert history["loss"][-1] < history["loss"][0] - 0.1, history
    assert history["accuracy"][-1] > 0.7, history
    assert not any(np.array_equal(w.numpy(), b) for w, b in zip(encoder.weights, before))
    ids = next(iter(dataset))[0]
    path = os.path.join(tmp_path, "lstm_classifier.keras")
    classifier.save(path)
    np.testing.assert_allclose(keras.saving.load_model(path, safe_mode=True)(ids), classifier(ids), atol=1e-6)


@pytest.mark.parametrize("kind", ["transformer", "rnn"])
def test_language_model_hidden_states_as_encoder(kind):
    if kind == "transformer":
        lm = TransformerLanguageModel(50, num_layers=1, hidden_dim=16, num_heads=2, intermediate_dim=32,
                                      max_sequence_length=16)
    else:
        lm = RNNLanguageModel(50, cell="gru", num_layers=1, hidden_dim=16)
    classifier = TextClassifier(lm, num_classes=3, pooling="last")
    ids = np.array([[5, 9, 10, 11, 6, 0, 0], [5, 12, 6, 0, 0, 0, 0]], "int32")
    logits = classifier(ids)
    assert tuple(logits.shape) == (2, 3)
    # "last" pooling on a causal encoder ignores the padding after the last real token
    np.testing.assert_allclose(classifier(ids[:1, :5]), logits[:1], atol=1e-5)
    config = classifier.get_config()
    rebuilt = TextClassifier.from_config(json.loads(json.dumps(config)))
    assert json.dumps(rebuilt.get_config()["encoder"]) == json.dumps(config["encoder"])


def test_pooling_helpers_skip_padding():
    sequence = np.arange(12, dtype="float32").reshape(2, 3, 2)
    mask = np.array([[True, True, False], [True, False, False]])
    np.testing.assert_allclose(masked_mean(sequence, mask), [[1.0, 2.0], [6.0, 7.0]])
    np.testing.assert_allclose(last_real_position(sequence, mask), [[2.0, 3.0], [6.0, 7.0]])
    with pytest.raises(ValueError, match="pooling"):
        TextClassifier(keras.layers.Embedding(10, 4), num_classes=2, pooling="max")
