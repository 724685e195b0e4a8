"""Data-parallel training with `tf.distribute`: MirroredStrategy on one machine, MultiWorkerMirroredStrategy
across processes.

    # one machine: all GPUs, or (no GPU) the CPU split into 2 logical devices
    python examples/distributed_training.py mirrored --cpus 2 --output /tmp/lm-mirrored

    # two worker processes on this machine, as a cluster on 127.0.0.1 would run on two hosts
    python examples/distributed_training.py multi_worker --workers 2 --output /tmp/lm-multi-worker

Both train the same small GPT on a built-in synthetic corpus (or `--train FILES`) with
`keras_llm.training.trainer.train_language_model`. `--batch-size` is the global batch: each of the N
replicas computes the gradient of batch_size / N examples, and the gradients are summed (all-reduce), so
the result matches single-device training on the same global batch.

On real hosts, start the same command on every host with its own TF_CONFIG (the `multi_worker` mode here
writes exactly these), e.g. for host 0 of two:

    TF_CONFIG='{"cluster": {"worker": ["host0:12345", "host1:12345"]}, "task": {"type": "worker", "index": 0}}' \\
        keras-llm train --model gpt --train data/*.txt --steps 1000 --output gs://bucket/run

Worker 0 is the chief: it writes the run directory; the others keep their own resume checkpoints only.
"""
import argparse
import json
import os
import socket
import subprocess
import sys

if __name__ == "__main__":  # our own process: hide library start-up noise; before TensorFlow is imported
    from keras_llm.console import quiet_console

    quiet_console()


def _settings(args):
    from keras_llm import datasets

    train = args.train
    if not train:
        os.makedirs(args.output, exist_ok=True)
        path = os.path.join(args.output, "corpus.txt")
        if not os.path.exists(path):
            datasets.write_corpus(datasets.grammar_documents(400 if args.quick else 4000, seed=0), path)
        train = [path]
    return {"model": "gpt", "train": train, "output": os.path.join(args.output, "run"), "steps": args.steps,
            "steps_per_epoch": max(args.steps // 2, 1), "seq_len": 32, "batch_size": args.batch_size,
            "vocab_size": 500, "hidden_dim": 64, "num_layers": 2, "num_heads": 2, "verbose": 2,
            "serving_dir": "" if args.quick else None}


def run_mirrored(args):
    from keras_llm import distribute

    if not distribute.num_gpus() and args.cpus > 1:
        distribute.split_cpu(args.cpus)  # before any TensorFlow op
    strategy = distribute.make_strategy("mirrored")
    print(f"MirroredStrategy over {strategy.num_replicas_in_sync} replicas", flush=True)
    from keras_llm.export import export_saved_model
    from keras_llm.training.trainer import train_language_model

    result = train_language_model(_settings(args), strategy=strategy, exporter=export_saved_model)
    print(json.dumps(result.metrics))


def run_worker(args):
    from keras_llm import distribute

    strategy = distribute.make_strategy("auto")  # TF_CONFIG names the cluster -> multi-worker
    _, num_workers, is_chief = distribute.worker_info(strategy)
    from keras_llm.export import export_saved_model
    from keras_llm.training.trainer import train_language_model

    settings = _settings(args)
    if not is_chief:
        settings["verbose"] = 0
    result = train_language_model(settings, strategy=strategy, exporter=export_saved_model)
    if is_chief:
        print(f"{num_workers} workers, {strategy.num_replicas_in_sync} replicas", flush=True)
        print(json.dumps(result.metrics))


def launch_workers(args):
    """Starts `--workers` copies of this script as a cluster on 127.0.0.1 and waits for them."""
    sockets = [socket.socket() for _ in range(args.workers)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    cluster = {"worker": [f"127.0.0.1:{s.getsockname()[1]}" for s in sockets]}
    for s in sockets:
        s.close()
    if not args.train:
        _settings(args)  # write the corpus once, before the workers read it
    processes = []
    for index in range(args.workers):
        env = dict(os.environ, TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}))
        command = [sys.executable, __file__, "worker", "--output", args.output, "--steps", str(args.steps),
                   "--batch-size", str(args.batch_size)] + (["--quick"] if args.quick else [])
        if args.train:
            command += ["--train", *args.train]
        processes.append(subprocess.Popen(command, env=env))
    codes = [p.wait(timeout=args.timeout) for p in processes]
    if any(codes):
        sys.exit(f"worker exit codes: {codes}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=("mirrored", "multi_worker", "worker"),
                        help="worker: one process of a cluster (TF_CONFIG must be set)")
    parser.add_argument("--output", required=True)
    parser.add_argument("--train", nargs="+", help="text files (default: a built-in synthetic corpus)")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=16, help="global batch size")
    parser.add_argument("--cpus", type=int, default=2, help="mirrored without GPUs: logical CPU devices")
    parser.add_argument("--workers", type=int, default=2, help="multi_worker: local worker processes")
    parser.add_argument("--timeout", type=int, default=1800, help="multi_worker: seconds to wait for the workers")
    parser.add_argument("--quick", action="store_true", help="small corpus, no SavedModel export")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    {"mirrored": run_mirrored, "multi_worker": launch_workers, "worker": run_worker}[args.mode](args)


if __name__ == "__main__":
    main()
