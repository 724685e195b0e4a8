"""Quality floor: our LSTM language model learns a Markov source of known entropy, fast.

A small, deterministic version of `benchmarks/markov_perplexity.py`: a 1 x 64 `RNNLanguageModel(cell="lstm")`
trained for 150 steps (word tokenizer, `causal_lm_dataset`, `compile_language_model`) on 5,000 lines of a
50-state `MarkovChainSource` must reach a held-out perplexity within 1.5x of the best achievable one
(`best_perplexity`, exact) with under 30 s of training on 2 CPU cores. Measured on 2 busy cores: ratio ~1.20
(model seeds 0-2) and 4-6 s of training, so both bounds hold with a wide margin.
"""
import time

import pytest

from keras_llm.datasets import MarkovChainSource

pytestmark = pytest.mark.slow

BOUND = 1.5
TIME_BUDGET_S = 30.0


def write_lines(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def test_lstm_reaches_markov_entropy(tmp_path):
    import keras

    from keras_llm.data import causal_lm_dataset
    from keras_llm.models import RNNLanguageModel
    from keras_llm.tokenizers import WordTokenizer
    from keras_llm.training import compile_language_model, make_optimizer

    source = MarkovChainSource(num_states=50, branching=8, end_probability=0.1, seed=0)
    train_path = write_lines(tmp_path / "train.txt", source.sample_lines(5000, seed=1))
    eval_path = write_lines(tmp_path / "eval.txt", source.sample_lines(1000, seed=2))
    tokenizer = WordTokenizer.train(train_path, vocab_size=128)
    assert tokenizer.vocabulary_size == 57  # 7 special tokens + 50 words: no <unk> in the stream

    keras.utils.set_random_seed(0)
    steps = 150
    model = RNNLanguageModel(tokenizer.vocabulary_size, cell="lstm", num_layers=1, hidden_dim=64)
    compile_language_model(model, optimizer=make_optimizer(1e-2, weight_decay=0.0, warmup_steps=10, total_steps=steps))
    train = causal_lm_dataset(train_path, tokenizer, seq_len=32, batch_size=32, shuffle=True, seed=0, repeat=True)
    held_out = causal_lm_dataset(eval_path, tokenizer, seq_len=32, batch_size=32, shuffle=False)

    start = time.perf_counter()
    model.fit(train, steps_per_epoch=steps, epochs=1, verbose=0)
    seconds = time.perf_counter() - start
    perplexity = float(model.evaluate(held_out, verbose=0, return_dict=True)["perplexity"])

    ratio = perplexity / source.best_perplexity
    assert ratio < BOUND, f"held-out perplexity {perplexity:.3f} is {ratio:.3f}x the best {source.best_perplexity:.3f}"
    assert ratio > 0.97, f"held-out perplexity {perplexity:.3f} is below the source's entropy: leakage?"
    assert seconds < TIME_BUDGET_S, f"training took {seconds:.1f} s"
