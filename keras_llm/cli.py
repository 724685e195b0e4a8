"""The `keras-llm` command. Thin: parses arguments, then calls the public API."""
import argparse
import sys

from keras_llm.version import __version__

CORPORA = ("grammar", "documents", "markov", "translation", "classification")


def _corpus(args):
    from keras_llm import datasets

    if args.kind == "grammar":
        lines = datasets.grammar_sentences(args.num, seed=args.seed)
    elif args.kind == "documents":
        lines = datasets.grammar_documents(args.num, seed=args.seed)
    elif args.kind == "markov":
        source = datasets.MarkovChainSource(seed=args.seed)
        lines = source.sample_lines(args.num, seed=args.seed)
        print(f"entropy rate {source.entropy_rate:.4f} nats/token, best perplexity {source.best_perplexity:.3f}",
              file=sys.stderr)
    elif args.kind == "translation":
        lines = datasets.grammar_translation_pairs(args.num, seed=args.seed)
    else:
        texts, labels = datasets.grammar_classification(args.num, seed=args.seed)
        lines = [(t, str(y)) for t, y in zip(texts, labels)]
    datasets.write_corpus(lines, args.output)
    print(args.output)


def build_parser():
    parser = argparse.ArgumentParser(prog="keras-llm", description="Train, inspect and serve language models.")
    parser.add_argument("--version", action="version", version=f"keras-llm {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    corpus = commands.add_parser("corpus", help="write a built-in synthetic corpus (one example per line)")
    corpus.add_argument("--kind", choices=CORPORA, default="documents")
    corpus.add_argument("--num", type=int, default=1000, help="number of lines")
    corpus.add_argument("--seed", type=int, default=0)
    corpus.add_argument("--output", required=True, help="file to write")
    corpus.set_defaults(run=_corpus)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        args.run(args)
    except (ValueError, FileNotFoundError, OSError) as e:
        print(f"keras-llm {args.command}: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
