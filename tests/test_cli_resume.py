"""`keras-llm train` killed with SIGKILL at several points, then rerun with the same command, ends where an
uninterrupted run ends: the same weights, step count and early-stopping outcome, a serving SavedModel, and
no backup folder left.

The killed run is the command itself, started through this file (`python tests/test_cli_resume.py POINT
MARKER train ...`): `_main` makes it stop at POINT -- a Keras callback added to `train_language_model`'s
`callbacks`, or a wrapped Keras/keras_llm function -- write MARKER and wait there to be killed, so the kill
lands exactly at POINT. The rerun is the plain `python -m keras_llm.cli train ...`.

Points (`kind:value`):
    step:N            after the N-th optimizer step (and after BackupAndRestore's save, when N is a
                      multiple of --checkpoint-every)
    epoch_begin:K     at the start of 0-based epoch K, after epoch K-1's end-of-epoch checkpoint
    epoch_end_save:K  at the end of epoch K after BestCheckpoint recorded it, before BackupAndRestore saves it
                      (`epoch_end_save:stop`: the epoch the reference run stopped early after)
    export            model.keras written to OUTPUT/.incoming/, the SavedModel to serving/.incoming-<version>/
                      but not its warmup requests
"""
import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from test_cli_train import _cli, _weights

MODEL = ["--seq-len", "16", "--batch-size", "8", "--vocab-size", "200", "--hidden-dim", "16", "--num-layers", "1",
         "--dropout", "0.1", "--sample-prompt", "the", "--deterministic", "--verbose", "2"]
CHECKPOINT_EVERY = 5
CONFIGS = {
    # Fixed length, no validation: checkpoints every 5 steps, three reporting epochs of 20 steps.
    "steps": ["--model", "lstm", *MODEL, "--steps", "60", "--steps-per-epoch", "20",
              "--checkpoint-every", str(CHECKPOINT_EVERY)],
    # Early stopping (checkpoints at epoch ends only), validating on a held-out fifth of a small corpus: the high
    # rate makes the validation loss rise after a few epochs, so it stops early and keeps an earlier epoch.
    "early_stopping": ["--model", "gpt", "--num-heads", "2", *MODEL, "--epochs", "8", "--valid-split", "0.2",
                       "--patience", "1", "--learning-rate", "0.03"],
}
_ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow")


def _pause(marker, **facts):
    """Child side: writes `facts` to `marker` (atomically) and waits to be killed."""
    with open(f"{marker}.tmp", "w", encoding="utf-8") as f:
        json.dump(facts, f)
    os.replace(f"{marker}.tmp", marker)
    threading.Event().wait()


def _main(point, marker, argv):
    """Child side: runs `keras-llm train` (`argv`) and pauses it at `point` (see the module docstring)."""
    import keras

    from keras_llm import cli
    from keras_llm.export import saved_model
    from keras_llm.training import trainer
    from keras_llm.training.callbacks import global_step

    kind, _, value = point.partition(":")
    value = int(value or 0)

    class KillPoint(keras.callbacks.Callback):  # runs after keras_llm's callbacks, BackupAndRestore included
        def on_train_batch_end(self, batch, logs=None):
            if kind == "step" and global_step(self.model) == value:
                _pause(marker, step=value)

        def on_epoch_begin(self, epoch, logs=None):
            if kind == "epoch_begin" and epoch == value:
                _pause(marker, step=global_step(self.model), epoch=epoch)

    train = trainer.train_language_model
    trainer.train_language_model = lambda config, **kwargs: train(config, callbacks=[KillPoint()], **kwargs)
    if kind == "epoch_end_save":
        save = keras.callbacks.BackupAndRestore.on_epoch_end

        def on_epoch_end(backup, epoch, logs=None):
            if epoch == value:
                _pause(marker, step=global_step(backup.model), epoch=epoch)
            return save(backup, epoch, logs)

        keras.callbacks.BackupAndRestore.on_epoch_end = on_epoch_end
    if kind == "export":
        saved_model.write_warmup_requests = lambda path, requests: _pause(marker, serving=path)
    return cli.main(argv)


def _command(name, corpus, output):
    return ["train", *CONFIGS[name], "--train", str(corpus), "--output", str(output)]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from keras_llm import datasets

    path = tmp_path_factory.mktemp("corpus") / "documents.txt"
    datasets.write_corpus(datasets.grammar_documents(40, seed=2), str(path))
    return path


class _References:
    """Uninterrupted runs of CONFIGS, one per configuration: `start(name)` starts one in the background (it
    runs while the first kill point of that configuration is reached), `result(name)` waits for it and
    returns `(run directory, metrics)`."""

    def __init__(self, corpus, tmp_path_factory):
        self.corpus, self.tmp_path_factory, self.runs = corpus, tmp_path_factory, {}

    def start(self, name):
        if name not in self.runs:
            output = self.tmp_path_factory.mktemp(f"reference-{name}")
            log = open(output.parent / f"{output.name}.log", "w+", encoding="utf-8")  # noqa: SIM115
            process = subprocess.Popen([sys.executable, "-m", "keras_llm.cli", *_command(name, self.corpus, output)],
                                       env=_ENV, stdout=log, stderr=subprocess.STDOUT)
            self.runs[name] = [output, process, log, None]

    def result(self, name):
        self.start(name)
        output, process, log, metrics = self.runs[name]
        if metrics is None:
            process.wait(timeout=900)
            log.seek(0)
            assert process.returncode == 0, log.read()[-3000:]
            metrics = self.runs[name][3] = json.loads((output / "metrics.json").read_text())
            if name == "early_stopping":  # else the config no longer tests a kill around an early stop
                assert metrics["stopped_early"] and metrics["best_epoch"] < metrics["epochs_run"]
        return output, metrics

    def close(self):
        for _, process, log, _ in self.runs.values():
            if process.poll() is None:
                process.kill()
                process.wait()
            log.close()


@pytest.fixture(scope="module")
def reference(corpus, tmp_path_factory):
    references = _References(corpus, tmp_path_factory)
    yield references
    references.close()


def _run_until_killed(argv, marker, log):
    """Starts `keras-llm train` paused at a kill point, SIGKILLs it there; returns the marker's facts."""
    with open(log, "w", encoding="utf-8") as output:
        victim = subprocess.Popen([sys.executable, __file__, *argv], env=_ENV, stdout=output,
                                  stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 600  # a guard against a hang only: the run pauses, then waits
            while not os.path.exists(marker) and victim.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            victim.send_signal(signal.SIGKILL)
            victim.wait(timeout=60)
    if not os.path.exists(marker):
        pytest.fail(f"ended (status {victim.returncode}) before its kill point:\n{log.read_text()[-3000:]}")
    assert victim.returncode == -signal.SIGKILL
    with open(marker, encoding="utf-8") as f:
        return json.load(f)


def _versions(serving):
    """The numeric (servable) version folders."""
    names = os.listdir(serving) if os.path.isdir(serving) else []
    return sorted((n for n in names if n.isdigit()), key=int)


KILL_POINTS = [
    # during epoch 1, two steps after the checkpoint of step 5 (a kill in a later epoch resumes the same way: the
    # checkpoint records the step, and the rerun's epoch and step within it come from that)
    ("steps", "step:7"),
    ("steps", "export"),  # the last checkpoint holds step 60: only the outputs are left
    # (a kill between epochs, right after an epoch's checkpoint, resumes like step:7 does: from the checkpoint's
    # step, which is where that epoch ends; `epoch_begin:K` stays available as a point)
    # the early stop, recorded by BestCheckpoint but not checkpointed: the rerun trains that epoch again
    ("early_stopping", "epoch_end_save:stop"),
    # after the early stop: the rerun loads the best epoch's weights and exports
    ("early_stopping", "export"),
]


def _resume_step(point, reference_run, total_steps):
    """The step a rerun killed at `point` resumes from (None: it has nothing left to train)."""
    kind, _, value = point.partition(":")
    if kind == "export":
        return None
    if kind == "step":
        return int(value) - int(value) % CHECKPOINT_EVERY
    epochs = json.loads((reference_run / "train_config.json").read_text())["epochs"]
    return int(value) * (total_steps // epochs)  # the checkpoint at the end of epoch `value` - 1


@pytest.mark.slow
@pytest.mark.parametrize("name, point", KILL_POINTS, ids=["-".join(p) for p in KILL_POINTS])
def test_kill_9_at_a_point_then_rerun_ends_as_an_uninterrupted_run(name, point, corpus, reference, tmp_path):
    reference.start(name)  # runs while this kill point is reached
    if point.endswith(":stop"):
        point = point.replace("stop", str(reference.result(name)[1]["epochs_run"] - 1))
    run, backup, marker = tmp_path / "run", tmp_path / "run" / "backup", tmp_path / "marker.json"
    facts = _run_until_killed([point, str(marker), *_command(name, corpus, run)], marker, tmp_path / "killed.log")
    assert not (run / "model.keras").exists()  # outputs are renamed into place only when all are written
    assert (run / ".incoming" / "model.keras").exists() == (point == "export")
    assert (backup / "training_metadata.json").exists()  # what the rerun resumes from
    if point == "export":
        assert not (run / "metrics.json").exists()
        assert os.path.isdir(facts["serving"]) and not os.path.exists(os.path.join(facts["serving"], "assets.extra"))
        assert os.path.basename(facts["serving"]).startswith(".incoming-")  # TF Serving loads numeric folders only
        assert _versions(run / "serving") == []  # no partial version to serve
    if point.startswith("epoch_end_save:"):  # BestCheckpoint has the epoch (and the stop) the checkpoint lacks
        epoch = int(point.split(":")[1])
        best = json.loads((backup / "best" / "best.json").read_text())
        assert best["stopped_epoch"] == epoch and str(epoch) in best["values"]
        assert json.loads((backup / "training_metadata.json").read_text())["epoch"] == epoch

    reference_run, expected = reference.result(name)
    out = _cli(*_command(name, corpus, run), timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    step = _resume_step(point, reference_run, expected["total_steps"])
    if step is None:
        assert "resuming from step" not in out.stdout
    else:
        assert f"resuming from step {step} of {expected['total_steps']}" in out.stdout, out.stdout[-3000:]
    metrics = json.loads((run / "metrics.json").read_text())
    for key in ("steps", "total_steps", "best_epoch", "stopped_early", "epochs_run"):
        assert metrics.get(key) == expected.get(key), key
    if "val_loss" in expected:
        np.testing.assert_allclose(metrics["val_loss"], expected["val_loss"], rtol=1e-6)
    for a, b in zip(_weights(reference_run / "model.keras"), _weights(run / "model.keras"), strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-6)
    assert not backup.exists()
    (version,) = _versions(run / "serving")  # one version, nothing staged left behind
    latest = run / "serving" / version
    assert str(latest) == metrics["serving"] and (latest / "saved_model.pb").exists()
    assert sorted(os.listdir(run / "serving")) == [version] and not (run / ".incoming").exists()
    assert (latest / "assets.extra" / "tf_serving_warmup_requests").exists()


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1], sys.argv[2], sys.argv[3:]))
