"""Export a trained language model as a SavedModel and query it the way a server would: TensorFlow only.

Trains a small GPT on a generated corpus, exports it in TF Serving's layout (BASE/VERSION/), then loads it in a
separate process in which Keras and keras_llm cannot be imported, and calls its signatures.

Run: python examples/serve_savedmodel.py [--output DIR] [--quick]
Then, e.g.: saved_model_cli show --dir DIR/lm/1 --all   (saved_model_cli run needs the tensorflow-text ops:
import tensorflow_text first, as TF Serving links them).
"""
import argparse
import os
import tempfile

if __name__ == "__main__":  # our own process: hide library start-up noise; before TensorFlow is imported
    from keras_llm.console import quiet_console

    quiet_console()

import keras  # noqa: E402

from keras_llm import datasets  # noqa: E402
from keras_llm.data import causal_lm_dataset  # noqa: E402
from keras_llm.export import export_saved_model, run_tf_only  # noqa: E402
from keras_llm.models import from_preset  # noqa: E402
from keras_llm.tokenizers import WordTokenizer  # noqa: E402
from keras_llm.training import compile_language_model  # noqa: E402

QUERY = """
model = tf.saved_model.load({path!r})
prompts = tf.constant(["the small dog", "my teacher", ""])
generated = model.signatures["generate"](prompts=prompts)["text"]
options = model.signatures["generate_with_options"](prompts=prompts, max_new_tokens=tf.constant(6),
                                                    temperature=tf.constant(0.8), top_p=tf.constant(0.9),
                                                    repetition_penalty=tf.constant(1.2),
                                                    no_repeat_ngram_size=tf.constant(3), seed=tf.constant(0))["text"]
scores = model.signatures["score"](texts=tf.constant(["the small dog sees a red ball .", "ball red a sees dog"]))
print(json.dumps({{"signatures": sorted(model.signatures),
                  "greedy": [t.decode() for t in generated.numpy()],
                  "sampled": [t.decode() for t in options.numpy()],
                  "perplexity": scores["perplexity"].numpy().tolist()}}))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", default=None)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    out = args.output or tempfile.mkdtemp(prefix="keras_llm_serve_")
    keras.utils.set_random_seed(0)
    corpus = datasets.write_corpus(datasets.grammar_documents(300 if args.quick else 2000), os.path.join(out, "corpus.txt"))
    tokenizer = WordTokenizer.train(corpus, vocab_size=1000)
    model = compile_language_model(from_preset("gpt-tiny", tokenizer.vocabulary_size),
                                   optimizer={"learning_rate": 3e-3})
    data = causal_lm_dataset(corpus, tokenizer, seq_len=64, batch_size=16, seed=0, repeat=True)
    model.fit(data, steps_per_epoch=60 if args.quick else 600, epochs=1, verbose=2, shuffle=False)

    path = export_saved_model(model, tokenizer, os.path.join(out, "lm"), version=1, max_new_tokens=16)
    print(f"exported to {path}")
    result = run_tf_only(QUERY.format(path=path))
    print("signatures:", ", ".join(result["signatures"]))
    for kind in ("greedy", "sampled"):
        print(f"{kind}:", result[kind])
    print("perplexity (grammatical vs scrambled):", [round(p, 2) for p in result["perplexity"]])


if __name__ == "__main__":
    main()
