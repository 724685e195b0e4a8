"""Benchmark: WikiText-2 word-level test perplexity of our models trained by `keras-llm train` with its defaults,
against an interpolated Kneser-Ney trigram LM fitted on exactly the same tokens.

Goal: `ratio_to_kn = model perplexity / KN trigram perplexity < 1.0` for every model (aim <= 0.85), each model
trained within 15 minutes on 2 CPU cores. `meets_target` is true when every ratio is below 1.0.

Method:
- Models (`--models`, default all): `lstm-small` = `--model lstm --preset lstm-small`, `gpt-tiny` =
  `--model gpt --preset gpt-tiny`, `gru` = `--model gru`. Each is trained by a `keras-llm train` subprocess
  on `valid.txt` (the file WikiText-2 ships that is small enough for a CPU budget) with `--tokenizer word`
  and no other training flag: the CLI's defaults choose the vocabulary (8000 words, the rest `<unk>`), the
  shapes and the training length. Then `keras-llm evaluate` scores `test.txt`; `train_seconds` and `steps`
  come from the run's `metrics.json`.
- Baseline: `benchmarks/kneser_ney.py`'s `KneserNeyTrigram` (interpolated Kneser-Ney, discounts from the
  count-of-counts), fitted on the training stream the model saw: the non-blank lines of the training file
  through the run's saved tokenizer with `<eos>` after each, built by `keras_llm.data.packing.token_stream`,
  the function `causal_lm_dataset` packs. It scores the test stream built the same way, on the same targets
  as `keras-llm evaluate`: every token after the first, up to the last whole block of `seq_len + 1` tokens.
  Each target is conditioned on the two tokens before it in the stream. The special ids the streams never
  hold (`<pad>`, `<bos>`, `<mask>`, `<cls>`, `<sep>`) get no KN probability; `<unk>` and `<eos>` are scored
  like words. The KN figure is computed once per distinct (vocabulary, seq_len) of the runs.
- `--quick`: the first 2000 lines of each file and `--epochs 1`, a sanity run of ~1-2 minutes.

Run from the repository root (the full run trains each model for up to 15 minutes: not on a shared machine):
    .venv-tfx/bin/python benchmarks/wikitext2_quality.py [--quick] [--models lstm-small,gpt-tiny,gru]
Prints one JSON line on stdout (progress on stderr).
"""
import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import time

from _common import REPO, emit, environment, log, run_keras_llm
from kneser_ney import KneserNeyTrigram

MODELS = {
    "lstm-small": ["--model", "lstm", "--preset", "lstm-small"],
    "gpt-tiny": ["--model", "gpt", "--preset", "gpt-tiny"],
    "gru": ["--model", "gru"],
}
GOAL = "ratio < 1.0 (aim <= 0.85), each model trained within 15 minutes on 2 cores"
QUICK_LINES = 2000
DEFAULT_DATA_DIR = os.path.join(os.path.dirname(REPO), "shared", "data", "wikitext-2")


def fail(message):
    """Exits with one line on stderr."""
    sys.exit(f"wikitext2_quality: error: {message}")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help=f"first {QUICK_LINES} lines of each file, --epochs 1")
    p.add_argument("--models", default=",".join(MODELS), help=f"comma-separated, of {', '.join(MODELS)}")
    p.add_argument("--data-dir", default=DEFAULT_DATA_DIR, help="holds valid.txt (training) and test.txt")
    p.add_argument("--runs-dir", default=None,
                   help="keep the run directories here (default: a temporary directory, removed at the end)")
    args = p.parse_args()
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in args.models if m not in MODELS]
    if unknown or not args.models:
        fail(f"--models: unknown model(s) {unknown or args.models} (known: {', '.join(MODELS)})")
    args.train_file, args.test_file = (os.path.join(args.data_dir, f) for f in ("valid.txt", "test.txt"))
    for path in (args.train_file, args.test_file):
        if not os.path.isfile(path):
            fail(f"{path} not found (WikiText-2 raw files expected in --data-dir {args.data_dir})")
    return args


run_cli = run_keras_llm  # keras-llm subprocesses, shared with markov_perplexity.py


def head(path, lines, directory):
    """A copy of the first `lines` lines of `path` in `directory`."""
    out = os.path.join(directory, os.path.basename(path))
    with open(path, encoding="utf-8") as src, open(out, "w", encoding="utf-8") as dst:
        for _, line in zip(range(lines), src):
            dst.write(line)
    return out


def token_ids(source, tokenizer):
    """The packed causal-LM stream of a text file (or dataset of strings): ids of each non-blank line, `<eos>`
    after each."""
    import numpy as np

    from keras_llm.data.packing import token_stream

    chunks = [chunk for chunk in token_stream(source, tokenizer, tokenizer.eos_id).as_numpy_iterator()]
    return np.concatenate(chunks).astype(np.int64)


def training_part(config):
    """What the run trained on: its training files, less the held-out validation split when the trainer made
    one (`keras_llm.training.trainer.data_sources`, from the run's train_config.json)."""
    from keras_llm.training.train_config import TrainConfig
    from keras_llm.training.trainer import data_sources

    return data_sources(TrainConfig.from_dict(config))[0]


def kn_baseline(tokenizer, seq_len, train_source, test_file):
    """The KN trigram's test perplexity on the targets `keras-llm evaluate` scores, and the stream sizes. It is
    fitted on exactly the examples the neural model trained on (`training_part`)."""
    from keras_llm.tokenizers import special_tokens as st

    train, test = token_ids(train_source, tokenizer), token_ids(test_file, tokenizer)
    present = set(train.tolist()) | set(test.tolist())
    excluded = [i for i in (st.PAD_ID, st.BOS_ID, st.MASK_ID, st.CLS_ID, st.SEP_ID) if i not in present]
    started = time.perf_counter()
    lm = KneserNeyTrigram(tokenizer.vocabulary_size, excluded_ids=excluded).fit(train)
    targets = (len(test) - 1) // seq_len * seq_len  # whole blocks of seq_len + 1 tokens, one token overlapping
    log_probs = lm.log_probs(test[: targets + 1])[1:]
    result = {"perplexity": math.exp(-float(log_probs.mean())), "train_tokens": int(len(train)),
              "test_tokens": int(len(test)), "scored_tokens": int(targets),
              "discounts": [round(d, 4) for d in lm.discounts], "excluded_ids": excluded,
              "seconds": round(time.perf_counter() - started, 2), "train_blocks": (len(train) - 1) // seq_len}
    log(f"KN trigram: test perplexity {result['perplexity']:.2f} on {targets} tokens "
        f"(trained on {len(train)}, discounts {result['discounts']}, {result['seconds']} s)")
    return result


def model_dropout(run_dir):
    """The trained model's dropout rate, read from model.keras (train_config.json has only a --dropout flag,
    None when the preset or the family default chose it)."""
    import zipfile

    with zipfile.ZipFile(os.path.join(run_dir, "model.keras")) as archive:
        return json.loads(archive.read("config.json"))["config"].get("dropout")


def train_and_evaluate(name, args, train_file, test_file, runs_dir):
    run_dir = os.path.join(runs_dir, name)
    if os.path.exists(run_dir) and os.listdir(run_dir):
        fail(f"{run_dir} exists and is not empty (keras-llm train would resume it); remove it or pick --runs-dir")
    log(f"{name}: training ({' '.join(MODELS[name])}{' --epochs 1' if args.quick else ''}) ...")
    started = time.perf_counter()
    run_cli(name, ["train", *MODELS[name], "--tokenizer", "word", "--train", train_file, "--output", run_dir]
            + (["--epochs", "1"] if args.quick else []), forward=True)
    wall = time.perf_counter() - started
    evaluated = json.loads(run_cli(name, ["evaluate", "--model-dir", run_dir, "--data", test_file])[-1])
    with open(os.path.join(run_dir, "metrics.json"), encoding="utf-8") as f:
        metrics = json.load(f)
    with open(os.path.join(run_dir, "train_config.json"), encoding="utf-8") as f:
        config = json.load(f)
    log(f"{name}: test perplexity {evaluated['perplexity']:.2f}, {metrics['steps']} steps in "
        f"{metrics['train_seconds']:.0f} s ({wall:.0f} s for the train command, "
        f"{time.perf_counter() - started - wall:.0f} s for evaluate)")
    return run_dir, evaluated, metrics, config, wall


def main():
    args = parse_args()
    from keras_llm.tokenizers import load_tokenizer

    with tempfile.TemporaryDirectory() as scratch:
        runs_dir = args.runs_dir or os.path.join(scratch, "runs")
        train_file, test_file = args.train_file, args.test_file
        if args.quick:
            train_file, test_file = head(train_file, QUICK_LINES, scratch), head(test_file, QUICK_LINES, scratch)
        models, baselines = {}, {}
        for name in args.models:
            run_dir, evaluated, metrics, config, wall = train_and_evaluate(name, args, train_file, test_file, runs_dir)
            tokenizer = load_tokenizer(os.path.join(run_dir, "tokenizer"))
            key = (tuple(tokenizer.get_vocabulary()), config["seq_len"], config.get("valid_split"))
            if key not in baselines:
                baselines[key] = kn_baseline(tokenizer, config["seq_len"], training_part(config), test_file)
            kn = baselines[key]
            if kn["scored_tokens"] != evaluated["num_tokens"]:
                log(f"warning: {name}: evaluate scored {evaluated['num_tokens']} tokens, the KN trigram "
                    f"{kn['scored_tokens']}")
            steps_per_epoch = kn["train_blocks"] // config["batch_size"]
            models[name] = {
                "perplexity": round(evaluated["perplexity"], 3),
                "ratio_to_kn": round(evaluated["perplexity"] / kn["perplexity"], 4),
                "kn_trigram_perplexity": round(kn["perplexity"], 3),
                "train_seconds": round(metrics["train_seconds"], 1), "wall_seconds": round(wall, 1),
                "steps": metrics["steps"],
                "epochs": metrics.get("epochs_run") or round(metrics["steps"] / max(steps_per_epoch, 1), 2),
                "best_epoch": metrics.get("best_epoch"), "stopped_early": metrics.get("stopped_early"),
                "learning_rate": config.get("learning_rate"), "dropout": model_dropout(run_dir),
                "test_loss": round(evaluated["loss"], 4), "test_tokens_scored": evaluated["num_tokens"],
                "num_parameters": metrics.get("num_parameters"), "vocabulary_size": tokenizer.vocabulary_size,
                "seq_len": config["seq_len"], "batch_size": config["batch_size"],
                "flags": MODELS[name] + ["--tokenizer", "word"] + (["--epochs", "1"] if args.quick else []),
            }
        if args.runs_dir is None:
            shutil.rmtree(runs_dir, ignore_errors=True)
    first = next(iter(baselines.values()))
    result = {"benchmark": "wikitext2_quality", "metric": "test perplexity / KN trigram test perplexity",
              "kn_trigram_perplexity": round(first["perplexity"], 3),
              "same_vocabulary": len({key[0] for key in baselines}) == 1,
              "vocabulary_size": len(next(iter(baselines))[0]),
              "train_tokens": first["train_tokens"], "test_tokens": first["test_tokens"],
              "test_tokens_scored": first["scored_tokens"], "kn_discounts": first["discounts"],
              "kn_excluded_ids": first["excluded_ids"], "models": models,
              "ratio": max(m["ratio_to_kn"] for m in models.values())}
    result["meets_target"] = all(m["ratio_to_kn"] < 1.0 for m in models.values())
    result.update(goal=GOAL, train_file=os.path.basename(args.train_file), test_file=os.path.basename(args.test_file),
                  quick=args.quick, lines_per_file=QUICK_LINES if args.quick else None, env=environment())
    emit(result)


if __name__ == "__main__":
    main()
