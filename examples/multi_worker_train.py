"""Multi-worker training from the command line: `keras-llm train` processes on 127.0.0.1 as one cluster.

Run: python examples/multi_worker_train.py --output /tmp/lm-mw [--workers 2] [--steps 200] [-- TRAIN FLAGS]

This does on one machine what you do on real hosts (flags after `--` go to every `keras-llm train`):

1. Data: a generated corpus (`keras_llm.datasets`) written as `--files` training files plus a validation file
   in OUTPUT/data/. With at least as many training files as workers, `--shard-by auto` (the default) gives
   each worker its own files (worker i reads files[i::workers]); with fewer it splits by data (each worker
   keeps its share of every global batch). Either way no example is trained on twice per step.
2. One TF_CONFIG per process, the same cluster and its own task index; worker 0 is the chief:
       TF_CONFIG='{"cluster": {"worker": ["127.0.0.1:P0", "127.0.0.1:P1"]}, "task": {"type": "worker", "index": 0}}'
   `--distribute auto` (the default) sees the cluster and builds MultiWorkerMirroredStrategy.
3. The same `keras-llm train ... --output OUTPUT/run` on every worker. `--batch-size` is the global batch. Only
   the chief writes the run folder (model.keras, tokenizer/, serving/, metrics.json, tensorboard/); another
   worker keeps only its resume checkpoint (OUTPUT/run/backup-worker-<i>/), removed when training ends.
4. Wait for all of them. If one fails, stop the others: a worker waits for its peers in every all-reduce,
   so it would wait forever.

Each worker's output goes to OUTPUT/logs/worker-<i>.log; the last line printed is a JSON summary with the
chief's metrics.
"""
import argparse
import json
import os
import shlex
import socket
import subprocess
import sys
import time

TRAIN_DEFAULTS = ["--model", "gpt", "--seq-len", "32", "--batch-size", "16", "--vocab-size", "500",
                  "--hidden-dim", "64", "--num-layers", "2", "--num-heads", "2"]


def free_ports(count):
    """`count` ports free on 127.0.0.1 now (the OS picks them; a worker binds its port moments later)."""
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def write_data(folder, files, documents, seed=0):
    """`files` training files and one validation file of generated documents -> (train paths, valid path)."""
    from keras_llm import datasets

    os.makedirs(folder, exist_ok=True)
    texts = datasets.grammar_documents(documents, seed=seed)
    held_out = max(1, len(texts) // 10)
    train = [os.path.join(folder, f"train-{i:02d}-of-{files:02d}.txt") for i in range(files)]
    for i, path in enumerate(train):
        datasets.write_corpus(texts[held_out + i::files], path)
    valid = os.path.join(folder, "valid.txt")
    datasets.write_corpus(texts[:held_out], valid)
    return train, valid


def tf_config(cluster, index):
    return json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})


def wait_all(processes, timeout):
    """Exit codes of `processes`; when one fails (or `timeout` passes) the others are killed (code -9)."""
    deadline = time.monotonic() + timeout
    while any(p.poll() is None for p in processes):
        failed = any(p.returncode not in (None, 0) for p in processes)
        if failed or time.monotonic() > deadline:
            for p in processes:
                if p.poll() is None:
                    p.kill()
            break
        time.sleep(0.5)
    for p in processes:
        p.wait()
    return [p.returncode for p in processes]


def last_json_line(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in reversed(f.read().splitlines()):
            if line.startswith("{"):
                try:
                    return json.loads(line)
                except ValueError:
                    continue
    return None


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", required=True, help="OUTPUT/data, OUTPUT/run (the run folder), OUTPUT/logs")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--files", type=int, default=2, help="training files to write (default 2: one per worker)")
    parser.add_argument("--documents", type=int, default=2000, help="generated documents (default 2000)")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=1800, help="seconds to wait for the workers")
    parser.add_argument("--keras-llm", default=None, metavar="COMMAND",
                        help="how each worker runs keras-llm (default: this Python's -m keras_llm.cli; e.g. "
                             "'keras-llm', or a wrapper script that prepares the worker first)")
    args = parser.parse_args(argv)

    train, valid = write_data(os.path.join(args.output, "data"), args.files, args.documents)
    run, logs = os.path.join(args.output, "run"), os.path.join(args.output, "logs")
    os.makedirs(logs, exist_ok=True)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(args.workers)]}
    keras_llm = shlex.split(args.keras_llm) if args.keras_llm else [sys.executable, "-m", "keras_llm.cli"]
    command = [*keras_llm, "train", *TRAIN_DEFAULTS, "--train", *train, "--valid", valid,
               "--steps", str(args.steps), "--output", run, *extra]
    print(f"cluster: {cluster['worker']}\nevery worker runs: {shlex.join(command)}", flush=True)
    processes = []
    for index in range(args.workers):
        env = dict(os.environ, TF_CONFIG=tf_config(cluster, index), KERAS_BACKEND="tensorflow")
        with open(os.path.join(logs, f"worker-{index}.log"), "w") as log:
            processes.append(subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT))
    codes = wait_all(processes, args.timeout)
    for index, code in enumerate(codes):
        print(f"worker {index}{' (chief)' if index == 0 else ''}: exit {code}, log "
              f"{os.path.join(logs, f'worker-{index}.log')}", flush=True)
    summary = {"workers": args.workers, "exit_codes": codes, "run": run,
               "metrics": last_json_line(os.path.join(logs, "worker-0.log"))}
    print(json.dumps(summary))
    if any(codes):
        failed = next(i for i, code in enumerate(codes) if code)
        with open(os.path.join(logs, f"worker-{failed}.log"), encoding="utf-8", errors="replace") as f:
            tail = f.read()[-3000:]
        sys.exit(f"worker {failed} failed (exit {codes[failed]}); the end of its log:\n{tail}")


if __name__ == "__main__":
    main()
