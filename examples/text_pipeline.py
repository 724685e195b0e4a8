"""End-to-end text pipeline on a built-in corpus: corpus -> tokenizers -> packed causal-LM and masked-LM batches.

Run: python examples/text_pipeline.py [--output DIR] [--quick]
"""
import argparse
import os
import tempfile
import time

if __name__ == "__main__":  # our own process: hide library start-up noise; before TensorFlow is imported
    from keras_llm.console import quiet_console

    quiet_console()

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_llm import datasets  # noqa: E402
from keras_llm.data import causal_lm_dataset, masked_lm_dataset  # noqa: E402
from keras_llm.tokenizers import load_tokenizer, train_tokenizer  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", default=None, help="where to write the corpus and tokenizers")
    parser.add_argument("--quick", action="store_true", help="a smaller corpus")
    args = parser.parse_args()
    out = args.output or tempfile.mkdtemp(prefix="keras_llm_demo_")
    corpus = datasets.write_corpus(datasets.grammar_documents(300 if args.quick else 3000, seed=0), os.path.join(out, "corpus.txt"))
    print(f"corpus: {corpus} ({os.path.getsize(corpus):,} bytes)")

    sizes = {"word": 600, "wordpiece": 800, "byte": None, "sentencepiece": 600}
    for kind, size in sizes.items():
        start = time.perf_counter()
        tokenizer = train_tokenizer(kind, corpus, size)
        tokenizer.save(os.path.join(out, f"tokenizer-{kind}"))
        tokenizer = load_tokenizer(os.path.join(out, f"tokenizer-{kind}"))
        ds = causal_lm_dataset(corpus, tokenizer, seq_len=64, batch_size=16, shuffle=False)
        tokens = sum(int(np.prod(x.shape)) for x, _ in ds)
        seconds = time.perf_counter() - start
        x, _ = next(iter(ds))
        print(f"\n[{kind}] vocabulary {tokenizer.vocabulary_size}, {tokens:,} packed tokens, {seconds:.1f}s train+pack")
        print("  first block:", tokenizer.detokenize_one(x[0])[:120])

    tokenizer = load_tokenizer(os.path.join(out, "tokenizer-wordpiece"))
    inputs, labels, weights = next(iter(masked_lm_dataset(corpus, tokenizer, seq_len=32, batch_size=4, seed=0)))
    row = int(tf.argmax(tf.reduce_sum(weights, axis=1)))
    print("\n[masked LM] input  :", tokenizer.detokenize_one(inputs[row]))
    print("[masked LM] targets:", tokenizer.detokenize_one(tf.where(weights[row] > 0, labels[row], 0)))
    print(f"\noutputs in {out}")


if __name__ == "__main__":
    main()
