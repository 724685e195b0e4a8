"""Benchmark: time and peak memory as the corpus grows (10 MB, 100 MB, 1 GB; `--quick`: 1, 10, 100 MB).

Requirement (issue 16): time grows linearly (the largest size takes at most 11x the time of the one 10x
smaller) and peak RSS stays flat (at most 1.5x from the smallest to the largest size, and under 4 GiB).

Corpora: generated documents (`keras_llm.datasets.grammar_documents`), written once under `--cache`
(default `~/.cache/keras_llm/corpus_scaling`). Generating text is slow in Python (~0.5 MB/s), so a 10 MB
block of distinct documents is generated once and larger corpora are that block repeated, each copy with its
lines in a different seeded order (the smaller sizes are prefixes of the block). So the number of distinct
words stops growing past 10 MB: memory that grows with the vocabulary of a real corpus is not stressed here.

Stages, each in a fresh child process whose peak RSS (`ru_maxrss` from `os.wait4`, the child and every
process it waited for) and wall time are measured. This process never imports TensorFlow: on Linux a child's
`ru_maxrss` starts at its parent's RSS at the fork, so a large parent would hide the children's own figures.
- `tokenizer`: `WordPieceTokenizer.train` on the file (word counting streams; learning sees only the counts);
- `dataset`: one full pass of `causal_lm_dataset` (WordPiece, seq_len 128, batch 32) over the file, with a
  tokenizer trained on the smallest corpus;
- `pipeline`: the TFX data stage on LocalDagRunner (`tfx_components.pipeline.run_pipeline`: TextExampleGen,
  StatisticsGen, SchemaGen, ExampleValidator, TextDataValidator, VocabularyGen; Beam DirectRunner in-process).

Prints one JSON line: per size and stage, seconds, MB/s, tokens/s (dataset) and peak RSS in MiB; then the
time ratios between consecutive sizes and the RSS ratio largest/smallest per stage, and `meets_target`.
Run: `.venv-tfx/bin/python benchmarks/corpus_scaling.py [--quick] [--stages tokenizer,dataset,pipeline]`.
"""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BLOCK_MB = 10
MIB = 1024 * 1024


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def block_lines(cache, megabytes=BLOCK_MB):
    """The block of generated documents (one per line; 10 MB, less when no size needs more), written once."""
    megabytes = min(megabytes, BLOCK_MB)
    path = os.path.join(cache, f"block_{megabytes}MB.txt")
    if not os.path.exists(path):
        from keras_llm.datasets import grammar_documents

        log(f"generating the {megabytes} MB block once (slow: Python text generation) -> {path}")
        lines, size, seed = [], 0, 0
        while size < megabytes * 1e6:
            for doc in grammar_documents(500, seed=seed):
                lines.append(doc)
                size += len(doc.encode("utf-8")) + 1
            seed += 1
        with open(path + ".tmp", "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
        os.replace(path + ".tmp", path)
    with open(path, encoding="utf-8") as handle:
        return handle.read().splitlines()


def corpus(cache, megabytes, largest):
    """`cache/corpus_<N>MB/corpus.txt`: a prefix of the block (N < 10) or N / 10 reordered copies of it."""
    import random

    folder = os.path.join(cache, f"corpus_{megabytes}MB")
    path = os.path.join(folder, "corpus.txt")
    if os.path.exists(path):
        return path
    os.makedirs(folder, exist_ok=True)
    lines = block_lines(cache, largest)
    with open(path + ".tmp", "w", encoding="utf-8") as handle:
        written, copy = 0, 0
        while written < megabytes * 1e6:
            order = list(lines)
            if copy:
                random.Random(copy).shuffle(order)
            for line in order:
                if written >= megabytes * 1e6:
                    break
                handle.write(line + "\n")
                written += len(line.encode("utf-8")) + 1
            copy += 1
    os.replace(path + ".tmp", path)
    return path


def stage_child(args):
    """One stage in this (child) process; prints {"seconds", "tokens"} as one JSON line."""
    import tensorflow as tf  # noqa: F401 - before keras_llm: import order matters for TF's venv

    start = time.perf_counter()
    tokens = None
    if args.stage in ("tokenizer", "prepare"):
        from keras_llm.tokenizers import WordPieceTokenizer

        tokenizer = WordPieceTokenizer.train(args.corpus, vocab_size=8000)
        if args.stage == "prepare":
            tokenizer.save(args.tokenizer_dir)
    elif args.stage == "dataset":
        from keras_llm.data import causal_lm_dataset
        from keras_llm.tokenizers import load_tokenizer

        tokens = sum(int(tf.size(x)) for x, _ in causal_lm_dataset(args.corpus, load_tokenizer(args.tokenizer_dir),
                                                                     128, 32, shuffle=False))
    else:
        from tfx_components.pipeline import run_pipeline

        work = tempfile.mkdtemp(prefix="corpus_scaling_pipeline_")
        try:
            # The larger corpora repeat the block, so ~90% of their records are duplicates: the validator's
            # duplicate check is switched off, else it would gate VocabularyGen off and the stage would stop early.
            run_pipeline("corpus_scaling", os.path.join(work, "root"), os.path.dirname(args.corpus),
                         os.path.join(work, "metadata.sqlite"), tokenizer_kind="wordpiece", vocab_size=8000,
                         validation_thresholds={"max_duplicate_fraction": 1.0})
            vocabularies = glob.glob(os.path.join(work, "root", "VocabularyGen", "*", "*", "vocab.txt"))
            if not vocabularies:
                sys.exit(f"corpus_scaling: error: the data stage on {args.corpus} ended without a vocabulary")
        finally:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({"seconds": time.perf_counter() - start, "tokens": tokens}))


def run_stage(stage, path, tokenizer_dir):
    command = [sys.executable, os.path.abspath(__file__), "--stage", stage, "--corpus", path,
               "--tokenizer-dir", tokenizer_dir]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    if status:
        sys.exit(f"corpus_scaling: error: the {stage} stage on {path} exited with status {status}")
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_rss_mib"] = round(usage.ru_maxrss / 1024, 1)  # ru_maxrss is in KiB on Linux
    return result


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="1, 10 and 100 MB instead of 10, 100 and 1000")
    p.add_argument("--sizes", help="comma-separated sizes in MB (overrides --quick)")
    p.add_argument("--stages", default="tokenizer,dataset,pipeline")
    p.add_argument("--cache", default=os.path.join(os.path.expanduser("~"), ".cache", "keras_llm", "corpus_scaling"))
    p.add_argument("--stage", help=argparse.SUPPRESS)
    p.add_argument("--corpus", help=argparse.SUPPRESS)
    p.add_argument("--tokenizer-dir", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.stage:
        return stage_child(args)
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else ([1, 10, 100] if args.quick else [10, 100, 1000])
    stages = args.stages.split(",")
    os.makedirs(args.cache, exist_ok=True)
    paths = {size: corpus(args.cache, size, max(sizes)) for size in sizes}
    tokenizer_dir = os.path.join(args.cache, f"wordpiece_{min(sizes)}MB")
    if "dataset" in stages and not os.path.exists(os.path.join(tokenizer_dir, "tokenizer.json")):
        run_stage("prepare", paths[min(sizes)], tokenizer_dir)  # in a child too: this process stays small
    results = {}
    for size in sizes:
        megabytes = os.path.getsize(paths[size]) / 1e6
        for stage in stages:
            r = run_stage(stage, paths[size], tokenizer_dir)
            entry = {"seconds": round(r["seconds"], 2), "mb_per_sec": round(megabytes / r["seconds"], 2),
                     "peak_rss_mib": r["peak_rss_mib"]}
            if r["tokens"]:
                entry["tokens_per_sec"] = round(r["tokens"] / r["seconds"])
            results.setdefault(stage, {})[f"{size}MB"] = entry
            log(f"{size} MB {stage}: {entry}")
    summary = {}
    ok = True
    for stage, by_size in results.items():
        times = [by_size[f"{s}MB"]["seconds"] for s in sizes]
        rss = [by_size[f"{s}MB"]["peak_rss_mib"] for s in sizes]
        growth = [round(b / a, 2) for a, b in zip(times, times[1:])]
        rss_ratio = round(rss[-1] / rss[0], 2)
        steps = [b / a for a, b in zip(sizes, sizes[1:])]
        linear = all(g <= 1.1 * step for g, step in zip(growth, steps))
        flat = rss_ratio <= 1.5 and rss[-1] < 4096
        summary[stage] = {"time_growth": growth, "rss_ratio": rss_ratio, "linear": linear, "flat_memory": flat}
        ok = ok and linear and flat
    print(json.dumps({"benchmark": "corpus_scaling", "sizes_mb": sizes, "results": results, "summary": summary,
                      "meets_target": ok, "target": "time growth <= 1.1 x size growth; peak RSS <= 1.5x and < 4 GiB",
                      "corpus": f"{BLOCK_MB} MB generated block, larger sizes reordered copies"}))


if __name__ == "__main__":
    main()
