"""Pretrain a small BERT with dynamic masked-language-model batches on the built-in grammar corpus.

Run: python examples/pretrain_bert_mlm.py [--quick] [--epochs N] [--output DIR]
With --output, the trained model (`bert_mlm.keras`) and its tokenizer (`tokenizer/`) are saved there;
`examples/finetune_classifier.py --pretrained DIR` fine-tunes the encoder.
"""
import argparse
import os
import time

if __name__ == "__main__":  # our own process: hide library start-up noise; before TensorFlow is imported
    from keras_llm.console import quiet_console

    quiet_console()

import tensorflow as tf  # noqa: E402

from keras_llm.data import masked_lm_dataset, with_known_cardinality  # noqa: E402
from keras_llm.datasets import grammar_documents  # noqa: E402
from keras_llm.models import BertMaskedLM, from_preset  # noqa: E402
from keras_llm.tokenizers import WordPieceTokenizer  # noqa: E402
from keras_llm.training import MaskedTokenAccuracy, Perplexity, compile_language_model, make_optimizer  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a small corpus and model: runs in seconds")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--output", default=None, help="directory for bert_mlm.keras and the tokenizer")
    args = parser.parse_args()
    documents, epochs, preset = (300, 4, "bert-tiny") if args.quick else (5000, 10, "bert-mini")
    epochs = args.epochs or epochs
    seq_len = 32 if args.quick else 128

    train_text = tf.data.Dataset.from_tensor_slices(grammar_documents(documents, seed=0))
    valid_text = tf.data.Dataset.from_tensor_slices(grammar_documents(max(documents // 10, 30), seed=1))
    tokenizer = WordPieceTokenizer.train(train_text, vocab_size=800)
    train = with_known_cardinality(masked_lm_dataset(train_text, tokenizer, seq_len=seq_len, batch_size=16, seed=0))[0]
    # Validation masks are drawn once and kept, so every evaluation scores the same positions.
    valid = with_known_cardinality(masked_lm_dataset(valid_text, tokenizer, seq_len=seq_len, batch_size=16, shuffle=False,
                                      seed=1).cache())[0]

    overrides = dict(num_layers=2, hidden_dim=64, num_heads=2, intermediate_dim=128) if args.quick else {}
    encoder = from_preset(preset, vocabulary_size=tokenizer.vocabulary_size, max_sequence_length=seq_len,
                          use_pooler=False, **overrides)  # masked-LM training gives a pooler no gradient
    model = BertMaskedLM(encoder)
    steps = epochs * int(train.cardinality())
    compile_language_model(
        model,
        optimizer=make_optimizer(5e-3, warmup_steps=steps // 10, total_steps=steps),
        metrics=[],  # Keras gives the sample weights (the masked positions) to weighted metrics only
        weighted_metrics=[MaskedTokenAccuracy(), Perplexity()],
    )
    start = time.perf_counter()
    model.fit(train, validation_data=valid, epochs=epochs, verbose=2, shuffle=False)
    results = model.evaluate(valid, verbose=0, return_dict=True)
    print(f"trained {epochs} epochs ({steps} steps) in {time.perf_counter() - start:.1f}s")
    print(f"final validation masked-token loss {results['loss']:.4f}, perplexity {results['perplexity']:.2f}, "
          f"accuracy {results['masked_token_accuracy']:.3f}")
    if args.output:
        os.makedirs(args.output, exist_ok=True)
        model.save(os.path.join(args.output, "bert_mlm.keras"))
        tokenizer.save(os.path.join(args.output, "tokenizer"))
        print(f"saved to {args.output}")


if __name__ == "__main__":
    main()
