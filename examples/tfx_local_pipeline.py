"""The local TFX pipeline on a built-in corpus, end to end: validate, vocabulary, train, evaluate, validate
serving, push; then generate from the pushed SavedModel.

Run: python examples/tfx_local_pipeline.py [--output DIR] [--model gpt|lstm|gru|rnn|bert] [--train-steps N]
"""
import argparse
import os

if __name__ == "__main__":  # our own process: hide library start-up noise; before TensorFlow is imported
    from keras_llm.console import quiet_console

    quiet_console()

from tfx_components.local_run import print_summary, run_local_pipeline, write_builtin_corpus  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", default="output/pipeline-demo", help="artifacts, metadata and serving dir")
    parser.add_argument("--model", default="gpt", choices=["gpt", "lstm", "gru", "rnn", "bert"])
    parser.add_argument("--train-steps", type=int, default=600)
    parser.add_argument("--documents", type=int, default=1500, help="size of the generated corpus")
    args = parser.parse_args()
    data_dir = os.path.join(args.output, "data")
    write_builtin_corpus(data_dir, args.documents)
    print_summary(run_local_pipeline(data_dir, args.output, model=args.model, train_steps=args.train_steps))


if __name__ == "__main__":
    main()
