"""Models, layers, generation and the special tokens need no TensorFlow (DESIGN.md: only tokenizers, data, export,
distribute and tfx_components import it): a child process on the JAX backend, where any `tensorflow*` import
fails, imports them, builds tiny models and decodes greedily with each decoder."""
import importlib.util
import json
import os
import pathlib
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys


class NoTensorFlow:
    '''Makes tensorflow (and its add-ons) unimportable, as on a machine without them.'''

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "tensorflow_text", "tf_keras"):
            raise ModuleNotFoundError(f"No module named {name!r} (made unimportable by this test)")
        return None


sys.meta_path.insert(0, NoTensorFlow())

import keras
import numpy as np

import keras_llm
import keras_llm.generation
import keras_llm.layers
import keras_llm.models
import keras_llm.special_tokens as st
from keras_llm.generation import Decoder, Sampler, generate_ids, translate_ids
from keras_llm.models import LSTMSeq2Seq, RNNLanguageModel, TransformerLanguageModel

report = {"backend": keras.config.backend()}
keras.utils.set_random_seed(0)
tokens = np.zeros((2, 10), "int32")
tokens[:, 0] = st.EOS_ID
tokens[0, 1:3] = [7, 8]
lengths = np.array([3, 1], "int32")
noise = np.zeros((10, 2), "float32")
gpt = TransformerLanguageModel(vocabulary_size=30, num_layers=1, hidden_dim=16, num_heads=2, intermediate_dim=32,
                               max_sequence_length=16)
rnn = RNNLanguageModel(vocabulary_size=30, cell="lstm", num_layers=1, hidden_dim=16)
for name, model in (("gpt", gpt), ("rnn", rnn)):
    logits = model(tokens, training=False)
    out, end = generate_ids(Decoder(model), tokens, lengths, noise, Sampler("greedy"), max_new_tokens=4)
    report[name] = {"logits": list(logits.shape), "ids": np.asarray(out).tolist(), "end": np.asarray(end).tolist()}
seq2seq = LSTMSeq2Seq(30, 20, num_layers=1, hidden_dim=8)
report["seq2seq"] = np.asarray(translate_ids(seq2seq, np.ones((2, 5), "int32"), max_length=6)).tolist()
report["tensorflow_modules"] = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "tensorflow_text"))
print(json.dumps(report))
"""


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="needs JAX (the latest stack has it)")
def test_models_layers_generation_and_special_tokens_import_and_decode_without_tensorflow():
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu", PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-c", CHILD], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["backend"] == "jax" and report["tensorflow_modules"] == []
    for name in ("gpt", "rnn"):
        ids, end = report[name]["ids"], report[name]["end"]
        assert report[name]["logits"] == [2, 10, 30]
        assert ids[0][:3] == [3, 7, 8] and ids[1][0] == 3  # prompts kept (teacher-forced)
        assert end[0] <= 3 + 4 and end[1] <= 1 + 4  # at most max_new_tokens generated per row
        generated = [t for row, stop, start in zip(ids, end, (3, 1)) for t in row[start:stop]]
        assert generated and not set(generated) & {0, 2, 4, 5, 6}  # structural tokens never generated
    assert len(report["seq2seq"]) == 2 and len(report["seq2seq"][0]) == 6


def test_special_tokens_have_one_home():
    import keras_llm.special_tokens as home
    from keras_llm.tokenizers import special_tokens as reexport
    from keras_llm.training import losses

    assert (home.PAD_ID, home.UNK_ID, home.BOS_ID, home.EOS_ID, home.MASK_ID, home.CLS_ID, home.SEP_ID) == tuple(range(7))
    assert home.SPECIAL_TOKENS == ("<pad>", "<unk>", "<bos>", "<eos>", "<mask>", "<cls>", "<sep>")
    for name in home.__all__:
        assert getattr(reexport, name) is getattr(home, name)
    assert losses.PAD_ID is home.PAD_ID
