"""Sentiment classification on the built-in grammar corpus with a BERT or LSTM encoder: fine-tuning or,
with --freeze, feature extraction (only the classification head trains).

Run: python examples/finetune_classifier.py [--quick] [--encoder bert|lstm] [--freeze] [--pooling cls|mean|last]
     python examples/finetune_classifier.py --pretrained DIR   # the encoder of examples/pretrain_bert_mlm.py
     python examples/finetune_classifier.py --pretrained DIR --from-scratch   # its architecture, fresh weights
     [--examples N] [--seed N]: the size of the labelled training set, the seed of the initial weights
"""
import argparse
import os
import time

if __name__ == "__main__":  # our own process: hide library start-up noise; before TensorFlow is imported
    from keras_llm.console import quiet_console

    quiet_console()

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_llm import register_serializables  # noqa: E402
from keras_llm.data import classification_dataset, with_known_cardinality  # noqa: E402
from keras_llm.datasets import grammar_classification  # noqa: E402
from keras_llm.layers import RecurrentStack  # noqa: E402
from keras_llm.models import TextClassifier, from_preset  # noqa: E402
from keras_llm.tokenizers import WordTokenizer, load_tokenizer  # noqa: E402
from keras_llm.training import make_optimizer  # noqa: E402

SEQ_LEN = 32


def build_encoder(kind, vocabulary_size, quick):
    if kind == "bert":
        overrides = dict(num_layers=2, hidden_dim=64, num_heads=2, intermediate_dim=128) if quick else {}
        return from_preset("bert-tiny", vocabulary_size=vocabulary_size, max_sequence_length=SEQ_LEN, **overrides)
    width = 64 if quick else 128
    return keras.Sequential([keras.layers.Embedding(vocabulary_size, width), RecurrentStack("lstm", width)],
                            name="lstm_encoder")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a small dataset and model: runs in seconds")
    parser.add_argument("--encoder", choices=("bert", "lstm"), default="lstm")
    parser.add_argument("--pooling", choices=("cls", "mean", "last"), default=None,
                        help="default: last for the LSTM, cls for BERT")
    parser.add_argument("--freeze", action="store_true", help="feature extraction: train the head only")
    parser.add_argument("--pretrained", default=None, help="directory written by pretrain_bert_mlm.py --output")
    parser.add_argument("--from-scratch", action="store_true",
                        help="with --pretrained: the same tokenizer and encoder architecture, freshly initialized")
    parser.add_argument("--examples", type=int, default=None, help="labelled training examples")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial weights (head, fresh encoder)")
    args = parser.parse_args()
    if args.from_scratch and not args.pretrained:
        parser.error("--from-scratch needs --pretrained DIR (its tokenizer and encoder architecture)")
    examples, epochs = (1000, 4) if args.quick else (10000, 6)
    examples, epochs = args.examples or examples, args.epochs or epochs
    keras.utils.set_random_seed(args.seed)

    train_texts, train_labels = grammar_classification(examples, seed=0)
    test_texts, test_labels = grammar_classification(500, seed=1)
    if args.pretrained:
        tokenizer = load_tokenizer(os.path.join(args.pretrained, "tokenizer"))
        register_serializables()  # the file names keras_llm's masked-LM loss, which nothing here imports
        encoder = keras.saving.load_model(os.path.join(args.pretrained, "bert_mlm.keras")).encoder
        if args.from_scratch:
            encoder = type(encoder).from_config(encoder.get_config())  # same architecture, fresh weights
        args.encoder = "bert"
    else:
        tokenizer = WordTokenizer.train(tf.data.Dataset.from_tensor_slices(train_texts), vocab_size=600)
        encoder = build_encoder(args.encoder, tokenizer.vocabulary_size, args.quick)
    pooling = args.pooling or ("last" if args.encoder == "lstm" else "cls")

    def dataset(texts, labels, shuffle):
        pairs = tf.data.Dataset.from_tensor_slices((texts, labels))
        return with_known_cardinality(classification_dataset(pairs, tokenizer, seq_len=SEQ_LEN, batch_size=32, shuffle=shuffle,
                                              seed=0))[0]

    train, test = dataset(train_texts, train_labels, True), dataset(test_texts, test_labels, False)
    model = TextClassifier(encoder, num_classes=2, dropout=0.1, pooling=pooling, freeze_encoder=args.freeze)
    steps = epochs * int(train.cardinality())
    learning_rate = 1e-2 if args.freeze else (1e-3 if args.encoder == "bert" else 3e-3)  # post-LN BERT: gentler
    model.compile(optimizer=make_optimizer(learning_rate, warmup_steps=steps // 10,
                                           total_steps=steps),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(train, validation_data=test, epochs=epochs, verbose=2, shuffle=False)
    results = model.evaluate(test, verbose=0, return_dict=True)
    mode = "feature extraction" if args.freeze else "fine-tuning"
    origin = ", from scratch" if args.from_scratch else ", pretrained" if args.pretrained else ""
    print(f"{args.encoder} encoder{origin}, {pooling} pooling, {mode}: {len(train_texts)} examples, {epochs} epochs "
          f"in {time.perf_counter() - start:.1f}s")
    trainable = sum(int(keras.ops.size(w)) for w in model.trainable_weights)
    print(f"trainable parameters {trainable} of {model.count_params()}")
    print(f"final test loss {results['loss']:.4f}, accuracy {results['accuracy']:.3f}")


if __name__ == "__main__":
    main()
