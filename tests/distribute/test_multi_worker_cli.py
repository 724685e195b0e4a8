"""`keras-llm train` as a two-worker cluster on 127.0.0.1: examples/multi_worker_train.py starts two real
command-line processes (worker 0 the chief), each with its own TF_CONFIG, on two training files.

Each worker runs the command through a small wrapper that adds one callback, a dump of its final weights, to
what `keras-llm train` runs; the rest is the command as a user runs it. Both workers must exit 0 with identical
weights, equal to the chief's saved model.keras; each worker reads its own file; only the chief writes the run
folder, and nothing of the other worker is left in it.
"""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "multi_worker_train.py"
TINY = ["--seq-len", "16", "--batch-size", "8", "--vocab-size", "200", "--hidden-dim", "32", "--num-layers", "1",
        "--num-heads", "2", "--dropout", "0", "--sample-prompt", "the", "--steps-per-epoch", "2",
        "--checkpoint-every", "2"]

# keras-llm, plus a dump of the final weights to $DUMP_DIR/weights-<task index>.npz when training ends
WRAPPER = textwrap.dedent(
    """
    import json, os, sys
    import numpy as np
    from keras_llm import cli
    from keras_llm.training import trainer

    index = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
    train_language_model = trainer.train_language_model

    def with_weight_dump(config, callbacks=(), **kwargs):
        import keras

        class DumpWeights(keras.callbacks.Callback):
            def on_train_end(self, logs=None):
                np.savez(os.path.join(os.environ["DUMP_DIR"], f"weights-{index}.npz"), *self.model.get_weights())

        return train_language_model(config, callbacks=[*callbacks, DumpWeights()], **kwargs)

    trainer.train_language_model = with_weight_dump
    sys.exit(cli.main(sys.argv[1:]))
    """
)


@pytest.mark.slow
def test_two_keras_llm_train_workers_one_model_chief_only_outputs(tmp_path):
    import keras

    import keras_llm.models  # noqa: F401 - registers the classes model.keras names

    wrapper = tmp_path / "keras_llm_with_weight_dump.py"
    wrapper.write_text(WRAPPER)
    out_dir = tmp_path / "mw"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow", DUMP_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, str(EXAMPLE), "--output", str(out_dir), "--documents", "160",
                          "--steps", "4", "--timeout", "400", "--keras-llm", f"{sys.executable} {wrapper}",
                          "--", *TINY], capture_output=True, text=True, env=env, timeout=480)
    logs = {i: (out_dir / "logs" / f"worker-{i}.log") for i in range(2)}
    detail = out.stdout[-2000:] + out.stderr[-2000:] + "".join(
        f"\n--- worker {i}\n{p.read_text()[-3000:]}" for i, p in logs.items() if p.exists())
    assert out.returncode == 0, detail
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert summary["exit_codes"] == [0, 0], detail
    assert summary["metrics"]["steps"] == 4

    # each worker read its own training file (2 files, 2 workers: --shard-by auto splits by file)
    chief_log = logs[0].read_text()
    assert "2 workers, 2 replicas; training input split by file" in chief_log, chief_log[-3000:]

    # only the chief wrote the run folder, and neither worker left its resume checkpoint behind
    run = out_dir / "run"
    assert sorted(os.listdir(run)) == ["metrics.json", "model.keras", "serving", "tensorboard", "tokenizer",
                                       "train_config.json"]
    versions = os.listdir(run / "serving")
    assert len(versions) == 1 and (run / "serving" / versions[0] / "saved_model.pb").exists()
    assert json.loads((run / "metrics.json").read_text()) == summary["metrics"]
    worker_output = json.loads(logs[1].read_text().strip().splitlines()[-1])  # the other worker's metrics line
    assert "serving" not in worker_output  # it exported nothing
    assert worker_output["loss"] == pytest.approx(summary["metrics"]["loss"], rel=1e-6)

    # one model: both workers end with identical weights, and the chief saved exactly them
    dumps = [np.load(tmp_path / f"weights-{i}.npz") for i in range(2)]
    chief_dump, worker_dump = ([d[f"arr_{k}"] for k in range(len(d.files))] for d in dumps)
    saved = keras.saving.load_model(run / "model.keras", compile=False).get_weights()
    assert len(chief_dump) == len(worker_dump) == len(saved) > 0
    for chief_weight, worker_weight, saved_weight in zip(chief_dump, worker_dump, saved):
        np.testing.assert_array_equal(chief_weight, worker_weight)
        np.testing.assert_array_equal(saved_weight, worker_weight)
