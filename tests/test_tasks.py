"""The task registry (`keras_llm.tasks`): every name it holds resolves, it agrees with the model kinds, the
command's choices and the serving modules, and it imports nothing heavy."""
import json
import subprocess
import sys

import keras
import pytest

import keras_llm.models
from keras_llm import cli, tasks
from keras_llm.models import (BertEncoder, BertMaskedLM, LSTMSeq2Seq, RNNLanguageModel,
                              Seq2SeqTransformer, TextClassifier, TransformerLanguageModel)
from keras_llm.training.model_registry import MODEL_KINDS

TINY_ENCODER = dict(vocabulary_size=20, num_layers=1, hidden_dim=8, num_heads=2, intermediate_dim=16,
                    max_sequence_length=8)


@pytest.mark.parametrize("name", sorted(tasks.TASKS))
def test_every_name_a_task_holds_resolves(name):
    task = tasks.TASKS[name]
    assert task.name == name
    for attribute in ("dataset", "helper", "sampler", "serving_module"):
        path = getattr(task, attribute)
        assert (task.resolve(attribute) is None) == (path is None)
        if path is not None:
            assert path.split(":")[1] == task.resolve(attribute).__name__
    for class_name in task.model_classes:
        assert hasattr(keras_llm.models, class_name)


def test_model_kinds_agree_with_the_model_registry_and_the_command():
    assert tasks.model_kinds() == tuple(MODEL_KINDS) == cli.MODELS
    for kind, entry in MODEL_KINDS.items():
        task = tasks.task_of_kind(kind)
        assert entry.task == task.name and entry.class_name in task.model_classes
    assert tasks.model_kinds(in_pipeline=True) == ("rnn", "lstm", "gru", "gpt", "bert")
    with pytest.raises(KeyError, match="unknown model kind 'transformer'"):
        tasks.task_of_kind("transformer")


class _DuckCausal(keras.Model):  # outside keras_llm: served by its decoding methods
    def call_with_cache(self, *args):
        raise NotImplementedError


class _DuckSeq2Seq(_DuckCausal):
    def encode(self, *args):
        raise NotImplementedError


def test_task_of_model_by_class_then_by_decoding_methods():
    encoder = BertEncoder(**TINY_ENCODER)
    expected = {
        "causal": [TransformerLanguageModel(20, 1, 8, 2, 16, max_sequence_length=8),
                   RNNLanguageModel(20, cell="gru", num_layers=1, hidden_dim=8), _DuckCausal()],
        "masked": [BertMaskedLM(encoder)],
        "encoder": [encoder],
        "classification": [TextClassifier(encoder, 3)],
        "seq2seq": [LSTMSeq2Seq(20, 20, num_layers=1, hidden_dim=8), _DuckSeq2Seq(),
                    Seq2SeqTransformer(20, 20, num_encoder_layers=1, num_decoder_layers=1, hidden_dim=8, num_heads=2,
                                       intermediate_dim=16)],
    }
    for name, models in expected.items():
        for model in models:
            assert tasks.task_of_model(model) is tasks.TASKS[name], type(model).__name__
    assert tasks.task_of_model(keras.layers.Dense(2)) is None


def test_the_registry_imports_neither_keras_nor_tensorflow():
    code = ("import sys, json; import keras_llm.tasks as t; t.model_kinds(); "
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('keras', 'tensorflow'))))")
    # argv[0] `keras-llm` marks the command, whose `import keras_llm` registers nothing (imports no Keras).
    done = subprocess.run([sys.executable, "-c", f"import sys; sys.argv = ['keras-llm']; {code}"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
