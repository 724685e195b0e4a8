"""Train an LSTM language model (Zaremba et al., 2014 style) on a Markov-chain corpus whose best possible
perplexity is known, and compare.

Run: python examples/train_lstm_lm.py [--quick] [--epochs N]
"""
import argparse
import math
import time

if __name__ == "__main__":  # our own process: hide library start-up noise; before TensorFlow is imported
    from keras_llm.console import quiet_console

    quiet_console()

import tensorflow as tf  # noqa: E402

from keras_llm.data import causal_lm_dataset, with_known_cardinality  # noqa: E402
from keras_llm.datasets import MarkovChainSource  # noqa: E402
from keras_llm.models import from_preset  # noqa: E402
from keras_llm.tokenizers import WordTokenizer  # noqa: E402
from keras_llm.training import compile_language_model, make_optimizer  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a small corpus and model: runs in seconds")
    parser.add_argument("--epochs", type=int, default=None)
    args = parser.parse_args()
    lines, hidden, epochs = (2000, 64, 6) if args.quick else (20000, 200, 8)
    epochs = args.epochs or epochs

    source = MarkovChainSource(num_states=50, branching=4, seed=0)
    train_lines = tf.data.Dataset.from_tensor_slices(source.sample_lines(lines, seed=1))
    valid_lines = tf.data.Dataset.from_tensor_slices(source.sample_lines(lines // 10, seed=2))
    tokenizer = WordTokenizer.train(train_lines, vocab_size=source.num_states + 10)
    train = with_known_cardinality(causal_lm_dataset(train_lines, tokenizer, seq_len=32, batch_size=32, seed=0))[0]
    valid = with_known_cardinality(causal_lm_dataset(valid_lines, tokenizer, seq_len=32, batch_size=32, shuffle=False))[0]

    model = from_preset("lstm-small", vocabulary_size=tokenizer.vocabulary_size, hidden_dim=hidden)
    steps = epochs * int(train.cardinality())
    compile_language_model(model, optimizer=make_optimizer(2e-2, warmup_steps=steps // 10, total_steps=steps))
    start = time.perf_counter()
    model.fit(train, validation_data=valid, epochs=epochs, verbose=2, shuffle=False)
    results = model.evaluate(valid, verbose=0, return_dict=True)
    print(f"trained {epochs} epochs in {time.perf_counter() - start:.1f}s")
    print(f"final validation loss {results['loss']:.4f}, perplexity {results['perplexity']:.3f} "
          f"(best possible: exp(entropy rate) = {source.best_perplexity:.3f}; "
          f"gap {math.log(results['perplexity']) - source.entropy_rate:.3f} nats/token)")


if __name__ == "__main__":
    main()
