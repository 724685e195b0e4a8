"""Train an encoder-decoder on the built-in synthetic translation task, translate held-out sentences and
score them with corpus BLEU, next to two baselines on the same sentences: the source copied (0: the target
language shares only punctuation with it) and a word-for-word translation with the true lexicon in source order
(every word right, no reordering).

Run: python examples/translate_seq2seq.py [--quick] [--model transformer|lstm] [--beam-width K] [--seed N]
"""
import argparse
import time

if __name__ == "__main__":  # our own process: hide library start-up noise; before TensorFlow is imported
    from keras_llm.console import quiet_console

    quiet_console()

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_llm.data import seq2seq_dataset  # noqa: E402
from keras_llm.datasets import grammar_translation_pairs, translation_lexicon  # noqa: E402
from keras_llm.generation.seq2seq_decoding import translate_ids  # noqa: E402
from keras_llm.models import LSTMSeq2Seq, from_preset  # noqa: E402
from keras_llm.tokenizers import WordTokenizer  # noqa: E402
from keras_llm.training import compile_language_model, corpus_bleu, make_optimizer  # noqa: E402

MAX_LEN = 32


def pairs_dataset(pairs):
    return tf.data.Dataset.from_tensor_slices(([s for s, _ in pairs], [t for _, t in pairs]))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a small corpus and model: runs in seconds")
    parser.add_argument("--model", choices=("transformer", "lstm"), default="transformer")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--beam-width", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0, help="seed of the model's initial weights")
    args = parser.parse_args()
    # quick: 3000 pairs (1987 of 10 words or fewer) x 10 epochs: the small transformer's test BLEU has left its
    # plateau at 0 (epochs 1-4) and passed 50; 1500 pairs x 6 epochs ended at BLEU 0.
    num_pairs, epochs, width = (3000, 10, 64) if args.quick else (20000, 10, 256)
    epochs = args.epochs or epochs
    keras.utils.set_random_seed(args.seed)

    longest = 10 if args.quick else MAX_LEN  # quick: short sentences only (two thirds of them)
    train_pairs = [p for p in grammar_translation_pairs(num_pairs, seed=0) if len(p[0].split()) <= longest]
    test_pairs = [p for p in grammar_translation_pairs(150, seed=1) if len(p[0].split()) <= longest][:100]
    source_tokenizer = WordTokenizer.train(tf.data.Dataset.from_tensor_slices([s for s, _ in train_pairs]), 600)
    target_tokenizer = WordTokenizer.train(tf.data.Dataset.from_tensor_slices([t for _, t in train_pairs]), 600)
    train = seq2seq_dataset(pairs_dataset(train_pairs), source_tokenizer, target_tokenizer, batch_size=32,
                            max_source_len=MAX_LEN, max_target_len=MAX_LEN, seed=0)
    vocabulary = (source_tokenizer.vocabulary_size, target_tokenizer.vocabulary_size)
    if args.model == "transformer":
        model = from_preset("seq2seq-small", vocabulary_size=vocabulary, hidden_dim=width, intermediate_dim=2 * width,
                            max_source_length=MAX_LEN, max_target_length=MAX_LEN, dropout=0.0,
                            **({"num_encoder_layers": 2, "num_decoder_layers": 2} if args.quick else {}))
        learning_rate = 2e-3
    else:
        model = LSTMSeq2Seq(*vocabulary, num_layers=1 if args.quick else 2, hidden_dim=width, attention="luong")
        learning_rate = 1e-2
    compile_language_model(model, optimizer=make_optimizer(learning_rate, warmup_steps=20))
    start = time.perf_counter()
    history = model.fit(train, epochs=epochs, verbose=2, shuffle=False).history
    print(f"trained {epochs} epochs in {time.perf_counter() - start:.1f}s")

    source_ids = source_tokenizer.tokenize([s for s, _ in test_pairs])[:, :MAX_LEN].to_tensor()
    output_ids = np.asarray(translate_ids(model, source_ids, max_length=MAX_LEN, beam_width=args.beam_width))
    hypotheses = [target_tokenizer.detokenize_one(row).split() for row in output_ids]
    references = [target.split() for _, target in test_pairs]
    bleu, smoothed = corpus_bleu(references, hypotheses), corpus_bleu(references, hypotheses, smooth=True)
    print(f"final training loss {history['loss'][-1]:.4f}, perplexity {history['perplexity'][-1]:.3f}")
    for (source, target), hypothesis in list(zip(test_pairs, hypotheses))[:2]:
        print(f"  source:    {source}\n  reference: {target}\n  model:     {' '.join(hypothesis)}")
    print(f"test BLEU ({len(test_pairs)} sentences, beam width {args.beam_width}): {bleu:.2f} "
          f"(with exp smoothing: {smoothed:.2f})")
    lexicon = translation_lexicon()
    copied = corpus_bleu(references, [source.split() for source, _ in test_pairs])
    word_for_word = corpus_bleu(references, [[lexicon[w] for w in source.split()] for source, _ in test_pairs])
    print(f"baseline BLEU: source copied {copied:.2f}, word for word in source order {word_for_word:.2f}")


if __name__ == "__main__":
    main()
