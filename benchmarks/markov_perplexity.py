"""Benchmark: held-out perplexity of our LSTM and GPT language models on a Markov source of known entropy.

Requirement: trained on a CPU budget of minutes, each model's held-out perplexity is within 1.10x of the best
achievable perplexity, `MarkovChainSource.best_perplexity = exp(entropy_rate)` (the peer: the theoretical
optimum). `ratio = our perplexity / best_perplexity`; the top-level `ratio` is the worse of the models.

Method:
- Source: `MarkovChainSource(--states, --branching, --end-probability, seed=0)`; its exact entropy rate counts
  every token, words and line ends (= `<eos>`) alike, which is exactly the stream `causal_lm_dataset` builds.
- Data: `--train-lines` lines (sampling seed 1) and `--eval-lines` held-out lines (seed 2) written to text files;
  a `WordTokenizer` trained on the training file (all words fit in the vocabulary, so no `<unk>`); training
  batches from `causal_lm_dataset(shuffle=True, repeat=True)`, evaluation from `causal_lm_dataset(shuffle=False)`.
- Training: `compile_language_model` with `make_optimizer` (AdamW, linear warmup + cosine decay to 0 over the
  run, global-norm clipping 1.0) for a fixed number of steps; the chosen sizes, learning rates and steps are in
  the JSON. Wall time of `fit` is reported per model.
- Evaluation: `model.evaluate` -> the `Perplexity` metric over every held-out target token. Also reported:
  `oracle_perplexity`, the true chain's perplexity on exactly the same held-out targets (each target's
  predecessor is always in the model's context), which shows how much of the gap is sampling noise.

Run from the repository root:
    KERAS_BACKEND=tensorflow .venv-tfx/bin/python benchmarks/markov_perplexity.py [--quick] [--models lstm,gpt]
Prints one JSON line on stdout (logs on stderr).
"""
import argparse
import warnings
import os
import tempfile
import time

import _common
from _common import emit, environment, log, set_threads

TARGET = 1.10
warnings.filterwarnings("ignore", message="Your input ran out of data")  # evaluate() on a finite dataset

# Chosen (tuned on 2 CPU cores, see the JSON): small models, large learning rates, a few hundred steps.
CONFIGS = {
    "lstm": {"model": dict(num_layers=1, hidden_dim=128), "lr": 1e-2, "steps": 400, "seq_len": 64, "batch": 32},
    "gpt": {"model": dict(num_layers=2, hidden_dim=64, num_heads=2, intermediate_dim=256),
            "lr": 3e-3, "steps": 400, "seq_len": 64, "batch": 32},
}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer lines and steps: a sanity run (looser result)")
    p.add_argument("--models", default="lstm,gpt")
    p.add_argument("--states", type=int, default=50)
    p.add_argument("--branching", type=int, default=8)
    p.add_argument("--end-probability", type=float, default=0.1)
    p.add_argument("--train-lines", type=int, default=30000)
    p.add_argument("--eval-lines", type=int, default=10000)
    p.add_argument("--steps", type=int, default=None, help="override the training steps of every model")
    p.add_argument("--threads", type=int, default=None, help="TF intra/inter-op threads (default: all cores)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    if args.quick:
        args.train_lines, args.eval_lines, args.steps = 5000, 2000, args.steps or 100
    return args


def id_to_state(tokenizer, source):
    """Array mapping token ids to Markov states (END for <eos>, -1 for other special tokens)."""
    import numpy as np

    index = {word: i for i, word in enumerate(source.vocabulary)}
    table = np.full(tokenizer.vocabulary_size, -1, dtype=np.int64)
    for token_id, token in enumerate(tokenizer.get_vocabulary()):
        table[token_id] = index.get(token, -1)
    table[tokenizer.eos_id] = source.end_index
    return table


def oracle_perplexity(dataset, table, source):
    """The true chain's perplexity on the dataset's (input[t] -> target[t]) pairs."""
    import numpy as np

    log_p, count = 0.0, 0
    for x, y in dataset.as_numpy_iterator():
        prev, nxt = table[x], table[y]
        assert (prev >= 0).all() and (nxt >= 0).all(), "unexpected special token in the stream"
        log_p += np.log(source.transition_matrix[prev, nxt]).sum()
        count += y.size
    return float(np.exp(-log_p / count)), count


def train_and_evaluate(kind, config, train_path, eval_path, tokenizer, seed):
    import keras

    from keras_llm.data import causal_lm_dataset
    from keras_llm.models import RNNLanguageModel, TransformerLanguageModel
    from keras_llm.training import compile_language_model, make_optimizer

    keras.utils.set_random_seed(seed)
    seq_len, batch, steps = config["seq_len"], config["batch"], config["steps"]
    if kind == "lstm":
        model = RNNLanguageModel(tokenizer.vocabulary_size, cell="lstm", **config["model"])
    else:
        model = TransformerLanguageModel(tokenizer.vocabulary_size, max_sequence_length=seq_len, **config["model"])
    optimizer = make_optimizer(config["lr"], weight_decay=0.0, warmup_steps=max(steps // 20, 1), total_steps=steps)
    compile_language_model(model, optimizer=optimizer)
    train = causal_lm_dataset(train_path, tokenizer, seq_len, batch, shuffle=True, seed=seed, repeat=True)
    held_out = causal_lm_dataset(eval_path, tokenizer, seq_len, batch, shuffle=False)
    start = time.perf_counter()
    history = model.fit(train, steps_per_epoch=steps, epochs=1, verbose=0)
    seconds = time.perf_counter() - start
    perplexity = float(model.evaluate(held_out, verbose=0, return_dict=True)["perplexity"])
    log(f"{kind}: train perplexity {history.history['perplexity'][-1]:.3f}, held-out {perplexity:.4f}, {seconds:.1f} s")
    return perplexity, seconds, model.count_params(), held_out


def main():
    args = parse_args()
    import tensorflow as tf

    set_threads(args.threads)
    from keras_llm.datasets import MarkovChainSource
    from keras_llm.tokenizers import WordTokenizer

    source = MarkovChainSource(args.states, args.branching, args.end_probability, seed=0)
    best = source.best_perplexity
    log(f"Markov source: {args.states} states, entropy rate {source.entropy_rate:.4f} nats, best perplexity {best:.4f}")
    result = {"benchmark": "markov_perplexity", "metric": "held-out perplexity / best achievable perplexity",
              "best_perplexity": round(best, 4), "entropy_rate_nats": round(source.entropy_rate, 5)}
    with tempfile.TemporaryDirectory() as directory:
        paths = {}
        for split, lines, seed in (("train", args.train_lines, 1), ("eval", args.eval_lines, 2)):
            paths[split] = os.path.join(directory, f"{split}.txt")
            with open(paths[split], "w") as f:
                f.write("\n".join(source.sample_lines(lines, seed=seed)) + "\n")
        tokenizer = WordTokenizer.train(paths["train"], vocab_size=args.states + 64)
        table = id_to_state(tokenizer, source)
        models = {}
        for kind in args.models.split(","):
            config = dict(CONFIGS[kind], steps=args.steps or CONFIGS[kind]["steps"])
            perplexity, seconds, params, held_out = train_and_evaluate(
                kind, config, paths["train"], paths["eval"], tokenizer, args.seed)
            oracle, count = oracle_perplexity(held_out, table, source)
            models[kind] = {"perplexity": round(perplexity, 4), "ratio": round(perplexity / best, 4),
                            "oracle_perplexity": round(oracle, 4), "ratio_vs_oracle": round(perplexity / oracle, 4),
                            "train_seconds": round(seconds, 1), "params": params,
                            "tokens_seen": config["steps"] * config["batch"] * config["seq_len"],
                            "eval_tokens": count, "config": config}
    result.update(ratio=max(m["ratio"] for m in models.values()), target=TARGET)
    result["meets_target"] = result["ratio"] <= TARGET
    result.update(models=models, source={"states": args.states, "branching": args.branching,
                                         "end_probability": args.end_probability, "seed": 0},
                  train_lines=args.train_lines, eval_lines=args.eval_lines, quick=args.quick, env=environment())
    emit(result)


if __name__ == "__main__":
    main()
