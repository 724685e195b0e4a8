"""Runs are never lost or mixed, and bad input is one line (issue 20): `keras-llm` in a subprocess, its exit
status and message, and the run folder's contents before and after."""
import hashlib
import json
import os
import shutil
import subprocess
import sys

import pytest

from keras_llm import datasets

TINY = ["--seq-len", "16", "--batch-size", "8", "--vocab-size", "200", "--hidden-dim", "32", "--num-layers", "1",
        "--dropout", "0", "--num-heads", "2"]


def _cli(*args, env=None, timeout=300):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow", **(env or {}))
    return subprocess.run([sys.executable, "-m", "keras_llm.cli", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=timeout)


def _error(out, code=2):
    """The one stderr line of a failed command."""
    lines = out.stderr.strip().splitlines()
    assert out.returncode == code and len(lines) == 1, out.stderr[-3000:]
    return lines[0]


def _tree(folder):
    """{relative path: sha256} of every file under `folder`."""
    tree = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                tree[os.path.relpath(path, folder)] = hashlib.sha256(f.read()).hexdigest()
    return tree


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "documents.txt"
    datasets.write_corpus(datasets.grammar_documents(150, seed=2), str(path))
    return path


@pytest.fixture(scope="module")
def gpt_run(tmp_path_factory, corpus):
    """A finished 16-position GPT run (never modified: tests copy it)."""
    run = tmp_path_factory.mktemp("finished") / "run"
    out = _cli("train", "--model", "gpt", *TINY, "--train", corpus, "--steps", "2", "--output", run)
    assert out.returncode == 0, out.stderr[-3000:]
    return run


def _copy(run, tmp_path):
    shutil.copytree(run, tmp_path / "run")
    return tmp_path / "run"


# A fake `tensorflow` first on the path: a command that imports TensorFlow fails with an ImportError traceback.
NO_TF = "import sys\nraise ImportError('tensorflow imported before the arguments were checked')\n"


@pytest.mark.parametrize("argv, message", [
    (["generate", "--max-new-tokens", "-3"], "argument --max-new-tokens: must be a positive integer, got -3"),
    (["generate", "--beam-width", "0", "--sampler", "beam"], "argument --beam-width: must be a positive integer"),
    (["generate", "--top-p", "1.5"], "argument --top-p: must be in (0, 1], got 1.5"),
    (["generate", "--temperature", "0"], "argument --temperature: must be a positive number, got 0"),
    (["generate", "--no-repeat-ngram-size", "x"], "argument --no-repeat-ngram-size: must be a positive integer"),
    (["evaluate", "--seq-len", "0"], "argument --seq-len: must be a positive integer, got 0"),
    (["export", "--version", "-1", "--output", "x"], "argument --version: must be an integer >= 0, got -1"),
    (["train", "--train", "x.txt", "--output", "x", "--batch-size", "0"], "--batch-size must be a positive integer"),
    (["train", "--train", "x.txt", "--output", "x", "--dropout", "1.5"], "--dropout must be in [0, 1)"),
])
def test_numeric_flags_are_checked_before_tensorflow_is_imported(argv, message, tmp_path):
    (tmp_path / "tensorflow").mkdir()
    (tmp_path / "tensorflow" / "__init__.py").write_text(NO_TF)
    if argv[0] in ("generate", "evaluate", "export"):
        argv = [*argv, "--model-dir", "somewhere", *(["--prompt", "a"] if argv[0] == "generate" else []),
                *(["--data", "x.txt"] if argv[0] == "evaluate" else [])]
    path = os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])
    assert message in _error(_cli(*argv, env={"PYTHONPATH": path}))


@pytest.mark.slow
def test_a_finished_run_is_kept_unless_overwrite_is_given(gpt_run, corpus, tmp_path):
    run = _copy(gpt_run, tmp_path)
    before = _tree(run)
    (old_version,) = os.listdir(run / "serving")
    lstm = ["train", "--model", "lstm", *TINY[:-2], "--train", corpus, "--steps", "2", "--output", run]
    assert _error(_cli(*lstm)) == (f"keras-llm train: error: {run} already holds a trained model (model.keras): "
                                   f"pass --overwrite to replace that run, or choose another --output")
    assert _tree(run) == before

    out = _cli(*lstm, "--overwrite")
    assert out.returncode == 0, out.stderr[-3000:]
    after = _tree(run)
    assert json.loads((run / "train_config.json").read_text())["model"] == "lstm"
    (new_version,) = os.listdir(run / "serving")  # the old run's version is gone, not served beside the new one
    assert new_version != old_version and after["model.keras"] != before["model.keras"]
    old_events = {p for p in before if "tfevents" in p}
    assert old_events and not old_events & set(after)  # TensorBoard shows the new run only
    assert not any(p.startswith((".incoming", "backup")) for p in after)


@pytest.mark.slow
def test_resume_refuses_another_run_and_overwrite_starts_over(corpus, tmp_path):
    from helpers import CrashAt

    from keras_llm.training.trainer import train_language_model

    run = tmp_path / "run"
    settings = {"model": "gpt", "train": [str(corpus)], "output": str(run), "steps": 40, "checkpoint_every": 2,
                "seq_len": 16, "batch_size": 8, "vocab_size": 200, "hidden_dim": 32, "num_layers": 1, "dropout": 0.0,
                "num_heads": 2, "verbose": 0}
    with pytest.raises(KeyboardInterrupt):
        train_language_model(settings, callbacks=[CrashAt(5)])
    before = _tree(run)
    assert "backup/run.json" in before and "model.keras" not in before

    other = tmp_path / "other.txt"  # another corpus of the same size and vocabulary size
    datasets.write_corpus(datasets.grammar_documents(150, seed=3), str(other))
    common = ["train", "--model", "gpt", *TINY, "--steps", "40", "--checkpoint-every", "2", "--output", run]
    message = _error(_cli(*common, "--train", other))
    assert message == (f"keras-llm train: error: {run / 'backup'} holds an interrupted run with other settings: "
                       f"this command gives --train file other.txt with other contents than the run's "
                       f"documents.txt; rerun with the run's settings to resume it, or pass --overwrite to start over")
    wider = [a if a != "32" else "64" for a in common]
    assert "gives --hidden-dim 64 (the run has 32)" in _error(_cli(*wider, "--train", corpus))
    assert _tree(run) == before  # nothing was touched

    out = _cli(*wider, "--train", corpus, "--overwrite")
    assert out.returncode == 0 and "resuming" not in out.stdout, out.stderr[-3000:]
    saved = json.loads((run / "train_config.json").read_text())
    assert saved["hidden_dim"] == 64 and json.loads((run / "metrics.json").read_text())["steps"] == 40
    assert not (run / "backup").exists()


@pytest.mark.slow  # end to end; the TFX stack runs it (scripts/test.sh)
def test_binary_corpus_files_are_refused(tmp_path):
    elf = tmp_path / "program.txt"
    elf.write_bytes(b"\x7fELF\x02\x01\x01" + bytes(range(256)) * 40)
    out = _cli("train", "--train", elf, "--output", tmp_path / "run", "--steps", "1")
    assert _error(out) == f"keras-llm train: error: {elf}: a binary file (an ELF executable), not text"
    binaries = tmp_path / "bin"
    binaries.mkdir()
    for name in ("a.so", "b.bin", "c"):
        (binaries / name).write_bytes(b"\x00\x01" * 100)
    message = _error(_cli("train", "--train", binaries, "--output", tmp_path / "run", "--steps", "1"))
    assert message.startswith(f"keras-llm train: error: no corpus files in {binaries}: none of a.so, b.bin, c ends")
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_damaged_or_mismatched_model_folders_and_lengths(gpt_run, corpus, tmp_path):
    run = _copy(gpt_run, tmp_path)
    out = _cli("evaluate", "--model-dir", run, "--data", corpus, "--seq-len", "64")
    assert _error(out) == "keras-llm evaluate: error: --seq-len 64 is beyond the model's context of 16 positions"
    out = _cli("generate", "--model-dir", run, "--prompt", "the", "--max-new-tokens", "16")
    assert _error(out) == ("keras-llm generate: error: --max-new-tokens 16 does not fit the model's context of 16 "
                           "tokens (at most 15)")
    out = _cli("generate", "--model-dir", run, "--prompt", "the", "--sampler", "greedy")  # default 32 -> 15
    assert out.returncode == 0 and len(out.stdout.splitlines()) == 1, out.stderr[-3000:]

    config = json.loads((run / "train_config.json").read_text())
    (run / "train_config.json").write_text(json.dumps(dict(config, model="bert")))
    out = _cli("evaluate", "--model-dir", run, "--data", corpus)
    assert _error(out) == (f"keras-llm evaluate: error: {run}: train_config.json says --model bert (BertMaskedLM), "
                           f"but model.keras holds a TransformerLanguageModel")

    data = (run / "model.keras").read_bytes()
    (run / "model.keras").write_bytes(data[: len(data) // 2])
    out = _cli("generate", "--model-dir", run, "--prompt", "the")
    assert _error(out).startswith(f"keras-llm generate: error: {run / 'model.keras'} is corrupt or truncated")
