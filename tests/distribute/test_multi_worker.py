"""MultiWorkerMirroredStrategy with two worker processes on 127.0.0.1 (loopback only, bounded timeouts).

Each worker resolves its strategy from TF_CONFIG (`--distribute auto`), checks that its input shards are
distinct from the other worker's (by data and by file), then trains the same tiny GPT through
`train_language_model` and dumps its final weights. Both workers must end with identical weights, and only
the chief writes the run directory.
"""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from helpers import free_ports

WORKER = textwrap.dedent(
    """
    import json, os, sys
    import numpy as np
    from keras_llm import distribute
    strategy = distribute.make_strategy("auto")  # first: collectives are configured at program start
    import keras
    import tensorflow as tf
    from keras_llm.training.trainer import train_language_model

    corpus, out, index = sys.argv[1], sys.argv[2], int(sys.argv[3])
    worker, num_workers, is_chief = distribute.worker_info(strategy)

    # by data: each worker gets its own half of every global batch
    batches = distribute.distribute_dataset(tf.data.Dataset.range(16).batch(4), strategy, "data")
    iterator = iter(batches)
    by_data = [strategy.experimental_local_results(next(iterator))[0].numpy().tolist() for _ in range(2)]
    # by file: each worker reads its own files
    files = [os.path.join(out, f"shard{i}.txt") for i in range(2)]
    for i, path in enumerate(files):
        with open(path, "w") as f:
            f.write("".join(f"file{i}-line{j}\\n" for j in range(4)))
    per_worker = distribute.per_worker_dataset(lambda shard, b: tf.data.TextLineDataset(shard).batch(b), files,
                                               strategy, global_batch_size=2)
    by_file = [strategy.experimental_local_results(next(iter(per_worker)))[0].numpy().tolist()]

    class DumpWeights(keras.callbacks.Callback):
        def on_train_end(self, logs=None):
            np.savez(os.path.join(out, f"weights{index}.npz"), *self.model.get_weights())

    settings = {"model": "gpt", "train": [corpus], "valid": [corpus], "output": os.path.join(out, "run"),
                "steps": 6, "steps_per_epoch": 3, "seq_len": 16, "batch_size": 8, "vocab_size": 150,
                "hidden_dim": 32, "num_layers": 1, "num_heads": 2, "dropout": 0.0, "verbose": 0,
                "sample_prompts": ["the"], "sample_tokens": 2, "serving_dir": "", "checkpoint_every": 2}
    result = train_language_model(settings, strategy=strategy, callbacks=[DumpWeights()])
    print(json.dumps({"worker": worker, "num_workers": num_workers, "is_chief": is_chief,
                      "replicas": strategy.num_replicas_in_sync, "strategy": type(strategy).__name__,
                      "by_data": by_data, "by_file": [[s.decode() for s in row] for row in by_file],
                      "loss": result.metrics["loss"], "val_loss": result.metrics.get("val_loss"),
                      "model_path": result.paths["model"]}))
    """
)


@pytest.mark.slow
def test_two_workers_on_loopback_end_with_identical_weights(tmp_path):
    from keras_llm import datasets

    corpus = tmp_path / "corpus.txt"
    datasets.write_corpus(datasets.grammar_documents(80, seed=4), str(corpus))
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    workers = []
    for index in range(2):
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow",
                   TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}))
        workers.append(subprocess.Popen([sys.executable, "-c", WORKER, str(corpus), str(tmp_path), str(index)],
                                        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outputs = []
    try:
        for process in workers:
            out, err = process.communicate(timeout=300)
            assert process.returncode == 0, err[-4000:]
            outputs.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for process in workers:
            if process.poll() is None:
                process.kill()

    chief, other = outputs
    assert chief["strategy"] == "KerasMultiWorkerMirroredStrategy" and chief["replicas"] == 2
    assert (chief["worker"], chief["is_chief"], other["worker"], other["is_chief"]) == (0, True, 1, False)
    # distinct shards: by data, the two halves of each global batch of 4; by file, each worker its own file
    assert chief["by_data"] == [[0, 1], [4, 5]] and other["by_data"] == [[2, 3], [6, 7]]
    assert chief["by_file"] == [["file0-line0"]] and other["by_file"] == [["file1-line0"]]
    # one model: the same loss (all-reduced metrics) and identical weights on both workers
    assert chief["loss"] == pytest.approx(other["loss"], rel=1e-6)
    weights = [np.load(tmp_path / f"weights{i}.npz") for i in range(2)]
    assert len(weights[0].files) == len(weights[1].files) > 0
    for name in weights[0].files:
        np.testing.assert_array_equal(weights[0][name], weights[1][name])
    # only the chief writes the run directory
    assert chief["model_path"] and os.path.isfile(chief["model_path"]) and other["model_path"] is None
    # each worker's training-state backup (the chief's and a sibling per other worker) is gone at the end
    assert not (tmp_path / "run" / "backup").exists() and not (tmp_path / "run" / "backup-worker-1").exists()
