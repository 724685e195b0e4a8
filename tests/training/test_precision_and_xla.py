"""`--mixed-precision float16|bfloat16` and `--jit-compile on|off` train the same model to the same loss as
float32 without XLA; float16 scales the loss (Keras' LossScaleOptimizer)."""
import io
import json
import zipfile

import h5py
import numpy as np
import pytest

from keras_llm import datasets
from keras_llm.cli import build_parser, main, resolve_train_config
from keras_llm.training.trainer import train_language_model

TINY = {"model": "gpt", "seq_len": 16, "batch_size": 8, "vocab_size": 200, "hidden_dim": 32, "num_layers": 1,
        "num_heads": 2, "dropout": 0.0, "steps": 12, "steps_per_epoch": 12, "serving_dir": "", "verbose": 0}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "documents.txt"
    datasets.write_corpus(datasets.grammar_documents(150, seed=2), str(path))
    return str(path)


@pytest.fixture(scope="module")
def float32_loss(corpus, tmp_path_factory):
    result = train_language_model(dict(TINY, train=[corpus], output=str(tmp_path_factory.mktemp("f32")),
                                       jit_compile="off"))
    assert not result.model.jit_compile and result.model.dtype_policy.name == "float32"
    return result.metrics["loss"]


def test_flags_reach_the_config():
    args = ["train", "--train", "a.txt", "--output", "o"]
    assert resolve_train_config(build_parser().parse_args(args)).mixed_precision is False
    config = resolve_train_config(build_parser().parse_args(args + ["--mixed-precision", "--jit-compile", "on"]))
    assert (config.mixed_precision, config.jit_compile) == ("auto", "on")
    config = resolve_train_config(build_parser().parse_args(args + ["--mixed-precision", "float16"]))
    assert config.mixed_precision == "float16"
    with pytest.raises(ValueError, match="--mixed-precision must be auto, float16 or bfloat16, got 'fp8'"):
        from keras_llm.training.train_config import TrainConfig

        TrainConfig(train=["a"], output="o", mixed_precision="fp8").validate()


def test_xla_trains_to_the_same_loss(corpus, tmp_path, float32_loss):
    result = train_language_model(dict(TINY, train=[corpus], output=str(tmp_path), jit_compile="on"))
    assert result.model.jit_compile is True
    np.testing.assert_allclose(result.metrics["loss"], float32_loss, rtol=2e-3)


def test_a_deterministic_run_does_not_turn_off_xla_for_the_next(corpus, tmp_path):
    # TF's op determinism is process-wide, and with it on Keras silently drops jit_compile=True: a
    # --deterministic run restores the setting it found, so an XLA run after it in the same process compiles.
    from tensorflow.python.framework import config as tf_config

    assert not tf_config.is_op_determinism_enabled()
    train_language_model(dict(TINY, steps=2, train=[corpus], output=str(tmp_path / "det"), deterministic=True))
    assert not tf_config.is_op_determinism_enabled()
    result = train_language_model(dict(TINY, steps=2, train=[corpus], output=str(tmp_path / "xla"),
                                       jit_compile="on"))
    assert result.model.jit_compile is True
    tf_config.enable_op_determinism()  # a setting the caller made before the run is kept
    try:
        train_language_model(dict(TINY, steps=2, train=[corpus], output=str(tmp_path / "kept")))
        assert tf_config.is_op_determinism_enabled()
    finally:
        tf_config.disable_op_determinism()


def test_xla_with_determinism_is_refused(corpus, tmp_path):
    with pytest.raises(ValueError, match="^--jit-compile on cannot be combined with --deterministic"):
        train_language_model(dict(TINY, train=[corpus], output=str(tmp_path), deterministic=True,
                                  jit_compile="on"))
    assert not (tmp_path / "backup").exists()


@pytest.mark.parametrize("precision", ["bfloat16", "float16"])
def test_mixed_precision_through_the_cli(precision, corpus, tmp_path, float32_loss, capsys):
    run = tmp_path / "run"
    argv = ["train", "--train", corpus, "--output", str(run), "--mixed-precision", precision, "--jit-compile", "off"]
    for key, value in TINY.items():
        if key not in ("model", "verbose"):
            argv += [f"--{key.replace('_', '-')}", str(value)]
    assert main(argv + ["--verbose", "0"]) == 0, capsys.readouterr().err
    metrics = json.loads((run / "metrics.json").read_text())
    # 16-bit activations: the loss moves by their rounding only (measured: bfloat16 ~0.3%, float16 ~0.01%).
    np.testing.assert_allclose(metrics["loss"], float32_loss, rtol=0.02)
    with zipfile.ZipFile(run / "model.keras") as archive:
        saved = archive.read("config.json").decode()
        with h5py.File(io.BytesIO(archive.read("model.weights.h5"))) as weights:
            scaled = "inner_optimizer" in weights["optimizer"]  # LossScaleOptimizer wraps the AdamW
    assert f'"mixed_{precision}"' in saved  # the layers computed in 16 bits
    assert scaled == (precision == "float16")  # float16 scales the loss, bfloat16 needs not
    assert json.loads((run / "train_config.json").read_text())["mixed_precision"] == precision
