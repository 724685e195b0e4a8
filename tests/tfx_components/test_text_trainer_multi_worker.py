"""TextTrainer's run_fn under MultiWorkerMirroredStrategy: the strategy from custom_config + $TF_CONFIG, and in
two real worker processes on 127.0.0.1 (each calling run_fn with the same fn_args, as an orchestrator that runs
the Trainer once per worker does) one model, written by the chief only."""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from helpers import free_ports

pytest.importorskip("tfx")
pytestmark = pytest.mark.tfx

CLUSTER = {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}


def fn_args(custom_config, root):
    from tfx.components.trainer.fn_args_utils import FnArgs

    return FnArgs(train_files=[str(root / "train*")], eval_files=[str(root / "eval*")], train_steps=4, eval_steps=1,
                  serving_model_dir=str(root / "model" / "Format-Serving"), model_run_dir=str(root / "model_run"),
                  custom_config=dict(custom_config, vocabulary_uri="vocab", run_key="k", backup_root=str(root / "b")))


@pytest.mark.parametrize("distribute_kind", ["multi_worker", "auto"])
def test_run_fn_resolves_multi_worker_from_custom_config_and_tf_config(tmp_path, monkeypatch, distribute_kind):
    from keras_llm import distribute
    from tfx_components.text_trainer import run_fn as run_fn_module

    config = run_fn_module.train_config_from_fn_args(fn_args({"distribute": distribute_kind}, tmp_path))
    assert config.distribute == distribute_kind and config.shard_by == "auto"
    environ = {"TF_CONFIG": json.dumps({"cluster": CLUSTER, "task": {"type": "worker", "index": 1}})}
    assert distribute.resolve_strategy_kind(config.distribute, config.tpu, environ) == "multi_worker"
    if distribute_kind == "multi_worker":
        with pytest.raises(ValueError, match="needs TF_CONFIG"):
            distribute.resolve_strategy_kind(config.distribute, config.tpu, environ={})

    # run_fn asks keras_llm.distribute for exactly that strategy, and a non-chief writes nothing of its own
    asked, default_strategy = [], distribute.make_strategy("none", environ={})

    def fake_make_strategy(kind, tpu=None):  # resolves as make_strategy does, under that TF_CONFIG
        asked.append(distribute.resolve_strategy_kind(kind, tpu, environ))
        return default_strategy

    def fake_train(config, strategy, exporter):
        from keras_llm.training.trainer import TrainResult

        return TrainResult(None, None, config, {"loss": 1.0, "val_loss": 1.5}, {}, {})

    monkeypatch.setattr(run_fn_module.distribute, "make_strategy", fake_make_strategy)
    monkeypatch.setattr(run_fn_module.distribute, "worker_info", lambda strategy: (1, 2, False))
    monkeypatch.setattr(run_fn_module, "train_language_model", fake_train)
    result = run_fn_module.run_fn(fn_args({"distribute": distribute_kind}, tmp_path))
    assert asked == ["multi_worker"] and result.metrics["loss"] == 1.0
    assert not (tmp_path / "model_run").exists()  # the chief writes metrics.json (and the logs) there


WORKER = textwrap.dedent(
    """
    import json, os, sys
    import numpy as np
    from tfx.components.trainer.fn_args_utils import FnArgs
    from tfx_components.text_trainer.run_fn import run_fn

    corpus, vocabulary, root, index = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    custom_config = {"model": "gpt", "distribute": "multi_worker", "seq_len": 16, "batch_size": 8,
                     "model_options": {"hidden_dim": 32, "num_layers": 1, "num_heads": 2, "dropout": 0.0},
                     "steps_per_epoch": 2, "checkpoint_every": 2, "sample_prompts": ["the"], "max_new_tokens": 2,
                     "verbose": 0, "vocabulary_uri": vocabulary, "backup_root": os.path.join(root, "backup"),
                     "run_key": "k"}
    args = FnArgs(train_files=[corpus], eval_files=[corpus], train_steps=4, eval_steps=1,
                  serving_model_dir=os.path.join(root, "model", "Format-Serving"),
                  model_run_dir=os.path.join(root, "model_run"), custom_config=custom_config)
    result = run_fn(args)
    np.savez(os.path.join(root, f"weights-{index}.npz"), *result.model.get_weights())
    print(json.dumps({k: result.metrics.get(k) for k in ("strategy", "num_replicas", "steps", "loss")}))
    """
)


@pytest.mark.slow
def test_two_worker_run_fn_trains_one_model_and_only_the_chief_writes(tmp_path, clean_documents):
    import keras

    import keras_llm.models  # noqa: F401 - registers the classes model.keras names
    from keras_llm import datasets
    from tfx_helpers import write_vocabulary_to

    corpus = tmp_path / "corpus.txt"
    datasets.write_corpus(clean_documents[:160], str(corpus))
    vocabulary = write_vocabulary_to(tmp_path / "vocabulary", clean_documents[:160], size=150)
    root = tmp_path / "TextTrainer"
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    workers = []
    for index in range(2):
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow",
                   TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}))
        workers.append(subprocess.Popen([sys.executable, "-c", WORKER, str(corpus), vocabulary.uri, str(root),
                                         str(index)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True))
    outputs = []
    try:
        for process in workers:
            out, err = process.communicate(timeout=400)
            assert process.returncode == 0, err[-4000:]
            outputs.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for process in workers:
            if process.poll() is None:
                process.kill()

    for output in outputs:
        assert output["strategy"] == "KerasMultiWorkerMirroredStrategy" and output["num_replicas"] == 2
        assert output["steps"] == 4
    # the chief wrote the Model artifact (SavedModel + Keras run) and model_run; nothing else is left
    assert (root / "model" / "Format-Serving" / "saved_model.pb").exists()
    assert sorted(os.listdir(root / "model")) == ["Format-Serving", "keras_llm"]
    metrics = json.loads((root / "model_run" / "metrics.json").read_text())
    assert metrics["strategy"] == "KerasMultiWorkerMirroredStrategy" and metrics["num_replicas"] == 2
    assert not os.listdir(root / "backup")  # both workers' resume checkpoints (k, k-worker-1) removed
    # one model: identical weights on both workers, and the chief's model.keras holds them
    dumps = [np.load(root / f"weights-{i}.npz") for i in range(2)]
    chief, worker = ([d[f"arr_{k}"] for k in range(len(d.files))] for d in dumps)
    saved = keras.saving.load_model(root / "model" / "keras_llm" / "model.keras", compile=False).get_weights()
    assert len(chief) == len(worker) == len(saved) > 0
    for a, b, c in zip(chief, worker, saved):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(c, b)
