"""A `.keras` file saved on one Keras backend loads on the other (TensorFlow <-> JAX) with the same logits, and
greedy decoding of the loaded model picks the same tokens.

Each backend runs in its own process (`KERAS_BACKEND` is read once, when Keras is imported), three in a row: a
TensorFlow process builds the models with a fixed seed, compiles and trains them one step with keras_llm's loss
and optimizer (so the file holds an optimizer state too), saves them and writes their logits and greedy ids; a JAX
process loads those files and writes what the loaded models compute, then saves models of its own the same way;
a last TensorFlow process loads the JAX files. The comparisons run here.
"""
import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

if importlib.util.find_spec("jax") is None:
    pytest.skip("jax is not installed on this stack", allow_module_level=True)

BACKENDS = ("tensorflow", "jax")
MODELS = ("transformer", "lstm", "bert")
CAUSAL = ("transformer", "lstm")
NEW_TOKENS = 8

# argv: the folder to load models from ("-": none), the folder to write what they compute, the folder to save
# new models and their outputs in ("-": none).
CHILD = textwrap.dedent(
    """
    import json, os, sys

    import keras
    import numpy as np

    import keras_llm
    from keras_llm.generation import Decoder, Sampler, generate_ids
    from keras_llm.generation.compiled import compile_function
    from keras_llm.models import BertMaskedLM, RNNLanguageModel, TransformerLanguageModel
    from keras_llm.training import compile_language_model

    load_from, loaded_out, save_to = sys.argv[1:4]
    VOCAB, NEW_TOKENS = 60, %(new_tokens)d
    ids = np.random.default_rng(0).integers(7, VOCAB, size=(2, 12)).astype("int32")
    report = {"backend": keras.backend.backend()}

    def build(kind):
        keras.utils.set_random_seed(1234)
        if kind == "transformer":
            model = TransformerLanguageModel(vocabulary_size=VOCAB, num_layers=2, hidden_dim=32, num_heads=2,
                                             intermediate_dim=64, max_sequence_length=32)
        elif kind == "lstm":
            model = RNNLanguageModel(vocabulary_size=VOCAB, cell="lstm", num_layers=2, hidden_dim=32)
        else:
            model = BertMaskedLM(dict(vocabulary_size=VOCAB, num_layers=2, hidden_dim=32, num_heads=2,
                                      intermediate_dim=64, max_sequence_length=32))
        compile_language_model(model, optimizer={"learning_rate": 1e-3})
        x, y = ids[:, :-1], ids[:, 1:]
        if kind == "bert":
            model.train_on_batch(x, y, sample_weight=np.ones(y.shape, "float32"))
        else:
            model.train_on_batch(x, y)
        return model

    def greedy(model):
        prompt = 5
        tokens = np.zeros((2, prompt + NEW_TOKENS), "int32")
        tokens[:, :prompt] = ids[:, :prompt]
        lengths = np.full((2,), prompt, "int32")
        noise = np.zeros((prompt + NEW_TOKENS, 2), "float32")
        decoder = Decoder(model)
        fn = compile_function(lambda t, n, u: generate_ids(decoder, t, n, u, Sampler("greedy"),
                                                           max_new_tokens=NEW_TOKENS, stop_at_eos=False),
                              model=model)
        out, _ = fn(tokens, lengths, noise)
        return keras.ops.convert_to_numpy(out)

    def outputs(model, kind, out):
        np.save(os.path.join(out, kind + "_logits.npy"), keras.ops.convert_to_numpy(model(ids)))
        if kind in %(causal)r:
            np.save(os.path.join(out, kind + "_greedy.npy"), greedy(model))

    for kind in %(models)r:
        if load_from != "-":
            model = keras.saving.load_model(os.path.join(load_from, kind + ".keras"))
            report[kind + "_optimizer"] = type(model.optimizer).__name__
            outputs(model, kind, loaded_out)
            if kind == "transformer":  # the loaded optimizer state trains on this backend
                report["transformer_loss"] = float(keras.ops.convert_to_numpy(
                    model.train_on_batch(ids[:, :-1], ids[:, 1:], return_dict=True)["loss"]))
        if save_to != "-":
            model = build(kind)
            model.save(os.path.join(save_to, kind + ".keras"))
            outputs(model, kind, save_to)
    if load_from != "-":
        with open(os.path.join(loaded_out, "report.json"), "w") as f:
            json.dump(report, f)
    """
) % {"new_tokens": NEW_TOKENS, "models": MODELS, "causal": CAUSAL}


def _run(backend, load_from="-", loaded_out="-", save_to="-"):
    """Runs the child on `backend`; raises with its output if it fails."""
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="",
               JAX_PLATFORMS="cpu")
    process = subprocess.run([sys.executable, "-c", CHILD, str(load_from), str(loaded_out), str(save_to)], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
    assert process.returncode == 0, f"--- {backend} (exit {process.returncode}):\n{process.stdout[-4000:]}"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """{backend: folder with its saved models and outputs, ("loaded", backend): the other backend's models
    loaded on `backend`}."""
    root = tmp_path_factory.mktemp("cross_backend")
    saved = {backend: root / f"saved_{backend}" for backend in BACKENDS}
    loaded = {backend: root / f"loaded_on_{backend}" for backend in BACKENDS}
    for folder in list(saved.values()) + list(loaded.values()):
        folder.mkdir()
    _run("tensorflow", save_to=saved["tensorflow"])
    _run("jax", load_from=saved["tensorflow"], loaded_out=loaded["jax"], save_to=saved["jax"])
    _run("tensorflow", load_from=saved["jax"], loaded_out=loaded["tensorflow"])
    return {**saved, **{("loaded", backend): folder for backend, folder in loaded.items()}}


DIRECTIONS = [("tensorflow", "jax"), ("jax", "tensorflow")]


@pytest.mark.parametrize("source,target", DIRECTIONS, ids=lambda b: b)
@pytest.mark.parametrize("kind", MODELS)
def test_saved_model_loads_on_the_other_backend_with_equal_logits(runs, kind, source, target):
    expected = np.load(runs[source] / f"{kind}_logits.npy")
    got = np.load(runs[("loaded", target)] / f"{kind}_logits.npy")
    assert got.shape == expected.shape == (2, 12, 60)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    report = json.loads((runs[("loaded", target)] / "report.json").read_text())
    assert report["backend"] == target
    assert report[f"{kind}_optimizer"] == "AdamWWithDecayExclusions"  # the compiled state came along
    assert np.isfinite(report["transformer_loss"])  # and trains on this backend


@pytest.mark.parametrize("source,target", DIRECTIONS, ids=lambda b: b)
@pytest.mark.parametrize("kind", CAUSAL)
def test_greedy_decoding_picks_the_same_tokens_on_both_backends(runs, kind, source, target):
    expected = np.load(runs[source] / f"{kind}_greedy.npy")
    got = np.load(runs[("loaded", target)] / f"{kind}_greedy.npy")
    assert got.shape == (2, 5 + NEW_TOKENS)
    np.testing.assert_array_equal(got, expected)
    assert (got[:, 5:] != 0).all()  # eight tokens were generated (no <pad>)
