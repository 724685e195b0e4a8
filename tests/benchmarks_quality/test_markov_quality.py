"""Quality floor: our LSTM language model learns a Markov source of known entropy.

A small, deterministic version of `benchmarks/markov_perplexity.py`: a 1 x 64 `RNNLanguageModel(cell="lstm")`
trained for 500 steps (word tokenizer, `causal_lm_dataset`, `compile_language_model`) on 5,000 lines of a
50-state `MarkovChainSource` must reach a held-out perplexity within 1.10x of the best achievable one
(`best_perplexity` = 7.40, exact): the benchmark's claim, held here at a test-sized corpus and budget.

Measured (ratio for model seeds 0 / 1 / 2, TF 2.16 on 2 busy cores): 150 steps 1.202 / 1.194 / 1.202 (the old
step count, which is why the old bound was 1.5x), 300 steps 1.084 / 1.083 / 1.084, 500 steps 1.057 / 1.058 / 1.058
in 5-6 s of training. The seeds spread by 0.001, so 1.10 leaves 0.04 for another machine's numerics; a unigram
model scores 5.94x, and a model 200 steps short of training (300 steps) still passes, one at 150 fails. No time
bound: timing does not go in tests (see `benchmarks/`).
"""
import pytest

from keras_llm.datasets import MarkovChainSource

pytestmark = pytest.mark.slow

BOUND = 1.10
STEPS = 500


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
    steps = STEPS
    model = RNNLanguageModel(tokenizer.vocabulary_size, cell="lstm", num_layers=1, hidden_dim=64)
    compile_language_model(model, optimizer=make_optimizer(1e-2, weight_decay=0.0, warmup_steps=10, total_steps=steps))
    train = causal_lm_dataset(train_path, tokenizer, seq_len=32, batch_size=32, shuffle=True, seed=0, repeat=True)
    held_out = causal_lm_dataset(eval_path, tokenizer, seq_len=32, batch_size=32, shuffle=False)

    model.fit(train, steps_per_epoch=steps, epochs=1, verbose=0)
    perplexity = float(model.evaluate(held_out, verbose=0, return_dict=True)["perplexity"])

    ratio = perplexity / source.best_perplexity
    assert ratio < BOUND, f"held-out perplexity {perplexity:.3f} is {ratio:.3f}x the best {source.best_perplexity:.3f}"
    assert ratio > 0.97, f"held-out perplexity {perplexity:.3f} is below the source's entropy: leakage?"
