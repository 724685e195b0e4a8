"""Every public model saves to `.keras` and loads in a fresh process after `import keras_llm` alone
(`keras.saving.load_model`, default `safe_mode=True`), computing the same outputs on the same inputs.

The models are compiled the way training compiles them (keras_llm's loss, metric and optimizer go into the
file too) and all loaded in one child process (`helpers.run_model_saving_test`): a process start costs seconds.
"""
import inspect

import keras
import numpy as np
import pytest
from helpers import assert_model_saved_and_loaded, run_model_saving_test

import keras_llm.models
from keras_llm.models import (BertEncoder, BertMaskedLM, LSTMSeq2Seq, PromptTuningLM, RNNLanguageModel,
                              Seq2SeqTransformer, TextClassifier, TransformerLanguageModel)
from keras_llm.training import compile_language_model

VOCAB, TARGET_VOCAB, LENGTH = 60, 70, 8
GPT = dict(num_layers=1, hidden_dim=32, num_heads=2, intermediate_dim=64, max_sequence_length=16)
BERT = dict(num_layers=1, hidden_dim=32, num_heads=2, intermediate_dim=64, max_sequence_length=16, dropout=0.0)


def _models():
    """`{name: (model, inputs, masked)}`: every public model class (RNNs with each cell), tiny, with fixed inputs
    (padding in row 2); `masked` for the masked-LM compile."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    ids = rng.integers(1, VOCAB, size=(2, LENGTH)).astype("int32")
    ids[1, 5:] = 0
    pair = {"encoder_inputs": ids, "decoder_inputs": rng.integers(1, TARGET_VOCAB, size=(2, 6)).astype("int32")}
    return {
        "rnn": (RNNLanguageModel(VOCAB, cell="rnn", num_layers=1, hidden_dim=16), ids, False),
        "lstm": (RNNLanguageModel(VOCAB, cell="lstm", num_layers=2, hidden_dim=16), ids, False),
        "gru": (RNNLanguageModel(VOCAB, cell="gru", num_layers=1, hidden_dim=16, tie_embeddings=True), ids, False),
        "gpt": (TransformerLanguageModel(VOCAB, **GPT), ids, False),
        "bert_encoder": (BertEncoder(VOCAB, **BERT), ids, False),
        "bert_masked_lm": (BertMaskedLM(dict(vocabulary_size=VOCAB, **BERT)), ids, True),
        "seq2seq_transformer": (Seq2SeqTransformer(VOCAB, TARGET_VOCAB, num_encoder_layers=1, num_decoder_layers=1,
                                                   hidden_dim=32, num_heads=2, intermediate_dim=64,
                                                   max_source_length=16, max_target_length=16), pair, False),
        "lstm_seq2seq": (LSTMSeq2Seq(VOCAB, TARGET_VOCAB, num_layers=1, hidden_dim=16, attention="luong"), pair,
                         False),
        "text_classifier": (TextClassifier(BertEncoder(VOCAB, **BERT), num_classes=3, dropout=0.0), ids, False),
        "prompt_tuning": (PromptTuningLM(TransformerLanguageModel(VOCAB, **GPT), num_prompt_tokens=3), ids, False),
    }


NAMES = ["rnn", "lstm", "gru", "gpt", "bert_encoder", "bert_masked_lm", "seq2seq_transformer", "lstm_seq2seq",
         "text_classifier", "prompt_tuning"]


@pytest.fixture(scope="module")
def models():
    return _models()


@pytest.fixture(scope="module")
def results(models, tmp_path_factory):
    for model, _, masked in models.values():
        compile_language_model(model, masked=masked)
    return run_model_saving_test({name: (model, x) for name, (model, x, _) in models.items()},
                                 tmp_path_factory.mktemp("saved_models"))


@pytest.mark.parametrize("name", NAMES)
def test_loads_in_a_fresh_process_after_import_keras_llm(results, name):
    assert_model_saved_and_loaded(results[name])


def test_every_public_model_class_is_saved_and_loaded(models):
    public = {obj for _, obj in inspect.getmembers(keras_llm.models, inspect.isclass) if issubclass(obj, keras.Model)}
    assert public and public == {type(model) for model, _, _ in models.values()}
    assert sorted(models) == sorted(NAMES)
