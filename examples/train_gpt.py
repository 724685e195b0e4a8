"""Train a small GPT (decoder-only transformer) on the built-in grammar corpus, then continue a prompt.

Run: python examples/train_gpt.py [--quick] [--epochs N]
"""
import argparse
import time

if __name__ == "__main__":  # our own process: hide library start-up noise; before TensorFlow is imported
    from keras_llm.console import quiet_console

    quiet_console()

import tensorflow as tf  # noqa: E402

from keras_llm.data import causal_lm_dataset, with_known_cardinality  # noqa: E402
from keras_llm.datasets import grammar_documents  # noqa: E402
from keras_llm.generation import TextGenerator  # noqa: E402
from keras_llm.models import from_preset  # noqa: E402
from keras_llm.tokenizers import WordTokenizer  # noqa: E402
from keras_llm.training import compile_language_model, make_optimizer  # noqa: E402
from keras_llm.training.output_bias import initialize_output_bias  # noqa: E402


def unigram_perplexity(texts, tokenizer):
    """Perplexity of the corpus' own token frequencies (<eos> after each document included): the bar a model
    must clear to use any context."""
    ids = tokenizer.tokenize(texts.batch(1_000_000).get_single_element()).flat_values
    counts = tf.math.bincount(tf.concat([ids, tf.fill([int(texts.cardinality())], tokenizer.eos_id)], 0))
    probabilities = tf.cast(tf.boolean_mask(counts, counts > 0), tf.float64)
    probabilities /= tf.reduce_sum(probabilities)
    return float(tf.exp(-tf.reduce_sum(probabilities * tf.math.log(probabilities))))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a small corpus and model: runs in seconds")
    parser.add_argument("--epochs", type=int, default=None)
    args = parser.parse_args()
    documents, epochs = (300, 4) if args.quick else (5000, 10)
    epochs = args.epochs or epochs
    overrides = dict(num_layers=2, hidden_dim=64, intermediate_dim=128) if args.quick else {}

    train_text = tf.data.Dataset.from_tensor_slices(grammar_documents(documents, seed=0))
    valid_text = tf.data.Dataset.from_tensor_slices(grammar_documents(max(documents // 10, 30), seed=1))
    tokenizer = WordTokenizer.train(train_text, vocab_size=600)  # the grammar has about 570 words
    seq_len = 32 if args.quick else 128
    train = with_known_cardinality(causal_lm_dataset(train_text, tokenizer, seq_len=seq_len, batch_size=16, seed=0))[0]
    valid = with_known_cardinality(causal_lm_dataset(valid_text, tokenizer, seq_len=seq_len, batch_size=16, shuffle=False))[0]

    model = from_preset("gpt-tiny", vocabulary_size=tokenizer.vocabulary_size, max_sequence_length=seq_len,
                        **overrides)
    # Start from the unigram model (the output bias at the log token frequencies), as `keras-llm train` does.
    initialize_output_bias(model, train, tokenizer.vocabulary_size)
    steps = epochs * int(train.cardinality())
    compile_language_model(model, optimizer=make_optimizer(3e-3, warmup_steps=steps // 10, total_steps=steps))
    start = time.perf_counter()
    model.fit(train, validation_data=valid, epochs=epochs, verbose=2, shuffle=False)
    results = model.evaluate(valid, verbose=0, return_dict=True)
    print(f"trained {epochs} epochs ({steps} steps) in {time.perf_counter() - start:.1f}s")
    print(f"final validation loss {results['loss']:.4f}, perplexity {results['perplexity']:.3f} "
          f"(a unigram model: {unigram_perplexity(train_text, tokenizer):.1f})")
    prompt = "the small dog"
    print(f"greedy continuation of {prompt!r}: {TextGenerator(model, tokenizer).generate([prompt], 12)[0]!r}")


if __name__ == "__main__":
    main()
