"""`import keras_llm` alone registers every class the package registers and lets `keras.saving.load_model`
(default `safe_mode=True`) resume a model saved mid-training, in a fresh process; the `keras-llm` command still
parses before importing Keras. (Every model class loading in a fresh process: tests/models/test_model_saving.py.)

The model is saved here and loaded in one child process that imports nothing but `keras` and `keras_llm`; it
writes what it sees (optimizer state, one more training step) to files that this process compares.
"""
import json
import os
import pathlib
import pkgutil
import subprocess
import sys

import keras
import numpy as np
import pytest

import keras_llm
from keras_llm.models import TransformerLanguageModel
from keras_llm.training import compile_language_model, make_optimizer

REPO = pathlib.Path(__file__).resolve().parents[1]
VOCAB, LENGTH = 60, 8
GPT = dict(num_layers=1, hidden_dim=32, num_heads=2, intermediate_dim=64, max_sequence_length=16)

# Runs in a fresh interpreter: argv[1] is the folder of `mid_training.keras` and `batch.npz`.
CHILD = r"""
import json, sys
import keras, keras_llm
import numpy as np

folder = sys.argv[1]
report = {"registered": sorted(n for n in keras.saving.get_custom_objects() if n.startswith("keras_llm>")),
          "modules": sorted(m for m in sys.modules if m == "keras_llm" or m.startswith("keras_llm."))}

model = keras.saving.load_model(f"{folder}/mid_training.keras")
batch = np.load(f"{folder}/batch.npz")
optimizer = model.optimizer
report["optimizer"] = {"class": type(optimizer).__name__, "iterations": int(optimizer.iterations),
                       "learning_rate": float(optimizer.learning_rate),
                       "config": json.loads(json.dumps(optimizer.get_config())),
                       "variable_names": [v.name for v in optimizer.variables]}
np.savez(f"{folder}/child_optimizer.npz", *[keras.ops.convert_to_numpy(v) for v in optimizer.variables])
model.train_on_batch(batch["x"], batch["y"])
np.savez(f"{folder}/child_step.npz", *[keras.ops.convert_to_numpy(w) for w in model.weights])
with open(f"{folder}/report.json", "w") as f:
    json.dump(report, f)
"""


def _run_child(code, *args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=300)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Saves a model mid-training, runs the child once; returns what both sides saw."""
    folder = tmp_path_factory.mktemp("saved")
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    model = TransformerLanguageModel(VOCAB, **GPT)
    compile_language_model(model, optimizer=make_optimizer(1e-3, warmup_steps=2, total_steps=10))
    tokens = rng.integers(1, VOCAB, size=(12, LENGTH + 1)).astype("int32")
    model.fit(tokens[:, :-1], tokens[:, 1:], batch_size=4, epochs=1, verbose=0)  # 3 steps: past the warmup
    model.save(folder / "mid_training.keras")
    optimizer = model.optimizer
    parent_optimizer = {"iterations": int(optimizer.iterations), "learning_rate": float(optimizer.learning_rate),
                        "config": json.loads(json.dumps(optimizer.get_config())),
                        "variable_names": [v.name for v in optimizer.variables],
                        "variables": [keras.ops.convert_to_numpy(v) for v in optimizer.variables]}
    batch = {"x": tokens[:4, :-1], "y": tokens[:4, 1:]}
    np.savez(folder / "batch.npz", **batch)
    model.train_on_batch(batch["x"], batch["y"])
    parent_step = [keras.ops.convert_to_numpy(w) for w in model.weights]

    out = _run_child(CHILD, folder)
    assert out.returncode == 0, out.stderr[-3000:]
    with open(folder / "report.json") as f:
        report = json.load(f)
    child_optimizer = np.load(folder / "child_optimizer.npz")
    child_step = np.load(folder / "child_step.npz")
    return {
        "folder": folder, "report": report,
        "parent_optimizer": parent_optimizer, "parent_step": parent_step,
        "child_optimizer_variables": [child_optimizer[f"arr_{i}"] for i in range(len(child_optimizer.files))],
        "child_step": [child_step[f"arr_{i}"] for i in range(len(child_step.files))],
    }


def test_fresh_process_resumes_a_model_saved_mid_training(saved):
    parent, child = saved["parent_optimizer"], saved["report"]["optimizer"]
    assert child["class"] == "AdamWWithDecayExclusions"
    assert child["iterations"] == parent["iterations"] == 3
    schedule = child["config"]["learning_rate"]
    assert schedule["class_name"] == "WarmupDecaySchedule"
    assert schedule["config"] == {"peak_learning_rate": 1e-3, "warmup_steps": 2, "total_steps": 10,
                                  "decay": "cosine", "final_learning_rate": 0.0}
    assert child["config"] == parent["config"]
    assert child["learning_rate"] == pytest.approx(parent["learning_rate"]) and 0 < child["learning_rate"] < 1e-3
    assert child["variable_names"] == parent["variable_names"]
    moments = [v for v in parent["variables"] if v.ndim > 0]
    assert len(moments) > 2 and any(np.abs(v).max() > 0 for v in moments)  # real Adam moments, not zeros
    assert len(saved["child_optimizer_variables"]) == len(parent["variables"])
    for got, want in zip(saved["child_optimizer_variables"], parent["variables"]):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    # One more step on the same batch, from the restored weights and optimizer state, lands on the same weights.
    assert len(saved["child_step"]) == len(saved["parent_step"])
    for got, want in zip(saved["child_step"], saved["parent_step"]):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_import_keras_llm_registers_every_class_the_package_registers(saved):
    for module in pkgutil.walk_packages(keras_llm.__path__, "keras_llm."):
        __import__(module.name)
    everything = {n for n in keras.saving.get_custom_objects() if n.startswith("keras_llm>")}
    # `Sampler` (keras_llm.generation) is registered for `serialize_keras_object`, but no model file names it.
    assert set(saved["report"]["registered"]) == everything - {"keras_llm>Sampler"}
    assert {"keras_llm>WarmupDecaySchedule", "keras_llm>Perplexity", "keras_llm>RNNLanguageModel",
            "keras_llm>MaskedSparseCategoricalCrossentropy"} <= everything


def test_import_keras_llm_loads_no_tensorflow_only_module(saved):
    """What `import keras_llm` loads is pure Keras (so it would work on JAX): no TensorFlow-only package of
    keras_llm, and no loaded module imports `tensorflow` at its top level."""
    modules = saved["report"]["modules"]
    tf_only = ("keras_llm.tokenizers", "keras_llm.data", "keras_llm.export", "keras_llm.generation",
               "keras_llm.distribute", "keras_llm.training.trainer", "keras_llm.training.callbacks.tensorboard")
    assert "keras_llm.models.bert_masked_lm" in modules and "keras_llm.training.schedules" in modules
    assert not [m for m in modules if m.startswith(tf_only)]
    for name in modules:
        source = pathlib.Path(sys.modules[name].__file__).read_text(encoding="utf-8").splitlines()
        assert not [line for line in source if line.startswith(("import tensorflow", "from tensorflow"))], name


def test_without_import_keras_llm_loading_fails(saved):
    out = _run_child("import sys, keras; keras.saving.load_model(sys.argv[1])", saved["folder"] / "mid_training.keras")
    assert out.returncode != 0
    assert "Could not locate class 'TransformerLanguageModel'" in out.stderr


def _imported_modules(*command):
    out = subprocess.run([sys.executable, "-X", "importtime", *command], capture_output=True, text=True, cwd=REPO,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert keras_llm.__version__ in out.stdout
    return {line.rsplit("|", 1)[-1].strip() for line in out.stderr.splitlines() if line.startswith("import time:")}


def test_keras_llm_command_parses_before_importing_keras(tmp_path):
    # The console script's form (`from keras_llm.cli import main`, under the name keras-llm) and `python -m`.
    script = tmp_path / "keras-llm"
    script.write_text("import sys\nfrom keras_llm.cli import main\nsys.exit(main())\n")
    for command in ([str(script), "--version"], ["-m", "keras_llm.cli", "--version"]):
        modules = _imported_modules(*command)
        assert "keras_llm" in modules  # under -m, keras_llm.cli itself runs as __main__
        assert not {"keras", "tensorflow", "keras_llm._registration"} & modules, command


@pytest.mark.parametrize("argv, orig_argv, command", [
    (["/venv/bin/keras-llm", "train"], ["/venv/bin/python", "/venv/bin/keras-llm", "train"], True),
    (["/venv/Scripts/keras-llm.exe"], ["python.exe"], True),
    (["-m", "--help"], ["python", "-X", "importtime", "-m", "keras_llm.cli", "--help"], True),
    (["-m"], ["python", "-m", "keras_llm.cli_tools"], False),
    (["-m", "keras_llm.cli"], ["python", "-m", "pytest", "keras_llm.cli"], False),
    (["/venv/bin/pytest", "tests"], ["/venv/bin/python", "/venv/bin/pytest", "tests"], False),
    (["/home/me/keras-llm-notes.py"], ["python", "/home/me/keras-llm-notes.py"], False),
    ([], [], False),
])
def test_only_the_keras_llm_command_skips_the_registration(monkeypatch, argv, orig_argv, command):
    monkeypatch.setattr(sys, "argv", argv)
    monkeypatch.setattr(sys, "orig_argv", orig_argv)
    assert keras_llm._is_keras_llm_command() is command
