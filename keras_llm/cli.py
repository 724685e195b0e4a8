"""The `keras-llm` command. Thin: parses arguments, then calls the public API.

Commands: `corpus` (write a built-in synthetic corpus), `train`, `evaluate`, `generate`, `export`, `convert`
(a pretrained GPT-2 / BERT folder -> model.keras), `pipeline`.
Errors are one line on stderr (`keras-llm COMMAND: error: ...`) and a non-zero exit status: 2 for bad
arguments, settings or inputs, 1 when training fails (e.g. a NaN loss). Set `KERAS_LLM_DEBUG=1` to get the
Python traceback of an unexpected error instead; it also shows the TensorFlow/TFX/Beam start-up lines
that the command otherwise hides (`keras_llm.console`).
"""
import argparse
import json
import os
import sys

from keras_llm.pipeline_command import run_pipeline_command
from keras_llm.tasks import TASKS, model_kinds
from keras_llm.version import __version__

CORPORA = ("grammar", "documents", "markov", "translation", "classification")
MODELS = model_kinds()  # the --model kinds of the task registry (keras_llm.tasks imports neither Keras nor TF)
TOKENIZERS = ("word", "wordpiece", "byte", "sentencepiece", "bpe")  # keras_llm.tokenizers.TOKENIZERS, without importing TF
DISTRIBUTE = ("auto", "none", "mirrored", "multi_worker", "tpu")
SAMPLERS = ("greedy", "top_k", "top_p", "beam")


def _number(kind, check, requirement):
    """An argparse type: `kind(text)`, accepted when `check(value)`; else a one-line usage error."""

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {requirement}, got {text!r}") from None
        if not check(value):
            raise argparse.ArgumentTypeError(f"must be {requirement}, got {text}")
        return value

    parse.__name__ = requirement  # argparse names the type in some messages
    return parse


POSITIVE_INT = _number(int, lambda v: v >= 1, "a positive integer")
NON_NEGATIVE_INT = _number(int, lambda v: v >= 0, "an integer >= 0")
POSITIVE_FLOAT = _number(float, lambda v: v > 0 and v != float("inf"), "a positive number")
PROBABILITY = _number(float, lambda v: 0 < v <= 1, "in (0, 1]")


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (`keras-llm train: error: ...`) and exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


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


# Options of `train` that map to `TrainConfig` fields. Their argparse default is SUPPRESS, so the namespace
# holds only the flags given on the command line, which then override the --config file.
TRAIN_SETTINGS = {"model", "preset", "train", "valid", "tokenizer", "tokenizer_dir", "vocab_size", "seq_len",
                  "batch_size", "epochs", "steps", "steps_per_epoch", "num_layers", "hidden_dim", "num_heads",
                  "dropout", "learning_rate", "warmup_steps", "valid_split", "patience", "seed", "deterministic", "mixed_precision", "jit_compile",
                  "distribute", "tpu", "shard_by", "output", "tensorboard_dir", "serving_dir", "backup_dir",
                  "checkpoint_every", "log_every", "sample_prompts", "profile_steps", "documents", "field",
                  "max_new_tokens", "verbose", "overwrite", "init_from"}


def resolve_train_config(args):
    """The `TrainConfig` of parsed `train` arguments: defaults < `--config` file < flags given."""
    from keras_llm.training.init_from import resolve_init_from
    from keras_llm.training.train_config import TrainConfig, merge_settings, read_config_file

    explicit = {k: v for k, v in vars(args).items() if k in TRAIN_SETTINGS}
    file_values = read_config_file(args.config) if args.config else {}
    config = TrainConfig.from_dict(resolve_init_from(merge_settings(file_values, explicit))).validate()
    if "verbose" not in explicit and "verbose" not in {str(k) for k in file_values}:
        config.verbose = 1 if sys.stdout.isatty() else 2  # a live bar on a terminal, a line per epoch in logs
    return config


def _train(args):
    config = resolve_train_config(args)
    from keras_llm.training.run_directory import check_output

    check_output(config)  # before TensorFlow's start-up: a finished run is not replaced without --overwrite
    from keras_llm.export import export_saved_model
    from keras_llm.training.trainer import train_language_model

    result = train_language_model(config, exporter=export_saved_model)
    print(json.dumps(result.metrics))


def _evaluate(args):
    from keras_llm.training.trainer import evaluate_language_model

    results = evaluate_language_model(args.model_dir, args.data, batch_size=args.batch_size, seq_len=args.seq_len)
    print(json.dumps(results))


def _causal_model(model_dir, command):
    from keras_llm.training.trainer import is_causal_lm, load_trained

    model, tokenizer, config = load_trained(model_dir)
    if not is_causal_lm(model, config):
        raise ValueError(f"{command} needs a causal language model ({', '.join(TASKS['causal'].model_kinds)}); "
                         f"{model_dir} holds a {type(model).__name__}")
    return model, tokenizer, config


def _generate(args):
    from keras_llm.generation import TextGenerator

    model, tokenizer, _ = _causal_model(args.model_dir, "generate")
    context = getattr(model, "max_sequence_length", None)
    if args.max_new_tokens is None:
        args.max_new_tokens = min(32, context - 1) if context else 32
    elif context and args.max_new_tokens >= context:
        raise ValueError(f"--max-new-tokens {args.max_new_tokens} does not fit the model's context of {context} "
                         f"tokens (at most {context - 1})")
    settings = {"temperature": args.temperature, "top_k": args.top_k, "top_p": args.top_p, "seed": args.seed,
                "repetition_penalty": args.repetition_penalty, "no_repeat_ngram_size": args.no_repeat_ngram_size}
    if args.sampler == "top_p":  # readable text by default: nucleus 0.9 at temperature 0.8
        settings.update(top_p=0.9 if args.top_p is None else args.top_p,
                        temperature=0.8 if args.temperature is None else args.temperature)
    if args.sampler == "greedy":
        settings.update(temperature=None, top_k=None, top_p=None, seed=None)
    if args.sampler == "beam":
        settings = {"beam_width": args.beam_width}
    texts = TextGenerator(model, tokenizer).generate(args.prompt, max_new_tokens=args.max_new_tokens,
                                                     sampler=args.sampler, **settings)
    for text in texts:
        print(text.replace("\n", "\\n"))


def _export(args):
    from keras_llm.export import export_saved_model
    from keras_llm.training.trainer import export_options, load_trained

    model, tokenizer, config = load_trained(args.model_dir)
    context = getattr(model, "max_sequence_length", None)
    if args.max_new_tokens and context and args.max_new_tokens >= context:
        raise ValueError(f"--max-new-tokens {args.max_new_tokens} does not fit the model's context of {context} "
                         f"tokens (at most {context - 1})")
    options = export_options(model, config, args.max_new_tokens)
    print(export_saved_model(model, tokenizer, args.output, version=args.version, **options))


def _add_train_parser(commands):
    train = commands.add_parser(
        "train", help="train a language model and write a run directory",
        description="Train a model; writes OUTPUT/model.keras, tokenizer/, serving/<version>/, metrics.json and "
                    "tensorboard/. Rerunning an interrupted command resumes it. Flags override --config values. "
                    "Without --epochs/--steps the length is automatic: up to 30 passes over the data (about "
                    "2000 steps), validated after each on a held-out 5%% (or --valid), stopped after 3 passes "
                    "without improvement, keeping the best pass's weights.",
        argument_default=argparse.SUPPRESS)
    add = train.add_argument
    add("--config", default=None, metavar="FILE", help="YAML or JSON file of settings (flags override it)")
    add("--model", choices=MODELS, help="model kind (default: gpt)")
    add("--preset", metavar="NAME", help="architecture preset (keras_llm.models.PRESETS)")
    add("--train", nargs="+", metavar="PATH", help="training files (seq2seq: source<TAB>target lines)")
    add("--valid", nargs="+", metavar="PATH", help="validation files")
    add("--tokenizer", choices=TOKENIZERS, help="tokenizer trained on the training files (default: word)")
    add("--tokenizer-dir", metavar="DIR", help="use this saved tokenizer instead of training one")
    add("--vocab-size", type=int, metavar="N", help="vocabulary size (default: 8000)")
    add("--seq-len", type=int, metavar="N", help="tokens per example (default: 64 for rnn/lstm/gru, else 128)")
    add("--batch-size", type=int, metavar="N", help="global batch size, all replicas together (default: 32)")
    length = train.add_mutually_exclusive_group()
    length.add_argument("--epochs", type=int, metavar="N",
                        help="passes over the training data (default: automatic, see --patience)")
    length.add_argument("--steps", type=int, metavar="N", help="optimizer steps (default: automatic)")
    add("--steps-per-epoch", type=int, metavar="N",
        help="with --steps: report every N steps (default: min(steps, 1000))")
    add("--num-layers", type=int, metavar="N", help="layers (default: preset or 2)")
    add("--hidden-dim", type=int, metavar="N", help="model width (default: preset, 128 for gpt, 256 for rnns)")
    add("--num-heads", type=int, metavar="N", help="attention heads (transformers)")
    add("--dropout", type=float, metavar="F", help="dropout rate")
    add("--init-from", metavar="DIR",
        help="start from the weights in DIR: a keras-llm train run, a keras-llm convert output, or a KerasHub / "
             "Hugging Face checkpoint folder. The model family and architecture are DIR's (conflicting flags are "
             "an error; --dropout may change), and so is the tokenizer when DIR has one (else the run's must "
             "have the model's vocabulary size). An interrupted run in --output resumes from its own checkpoint "
             "instead")
    add("--learning-rate", type=float, metavar="F",
        help="peak learning rate (default: 1e-3 for rnn/lstm/gru, 3e-3 to 3e-4 for transformers by width)")
    add("--warmup-steps", type=int, metavar="N",
        help="linear warmup steps before the cosine decay (default: 5%% of the steps, at most 1000)")
    add("--valid-split", type=float, metavar="F",
        help="without --valid, hold out one training example in round(1/F) for validation "
             "(default: 0.05 when neither --epochs nor --steps is given, else 0)")
    add("--patience", type=int, metavar="N",
        help="stop after N epochs without a lower validation loss and keep the best epoch's weights; 0 off "
             "(default: 3 when neither --epochs nor --steps is given, else 0)")
    add("--seed", type=int, metavar="N", help="random seed (default: 0)")
    add("--deterministic", action="store_true", help="deterministic TF ops (bitwise-reproducible runs and resumes)")
    add("--mixed-precision", nargs="?", const="auto", choices=("auto", "float16", "bfloat16"),
        help="16-bit compute, float32 weights: float16 (Keras scales the loss), bfloat16, or auto (the flag "
             "alone): float16 on a GPU, else bfloat16")
    add("--jit-compile", choices=("auto", "on", "off"),
        help="XLA-compile the train step (default auto: Keras' choice, on with JAX or a GPU, off on a CPU-only "
             "TensorFlow)")
    add("--distribute", choices=DISTRIBUTE, help="distribution strategy (default: auto)")
    add("--tpu", metavar="ADDRESS", help="TPU address or name (default: $TPU_NAME)")
    add("--shard-by", choices=("auto", "file", "data", "off"),
        help="multi-worker input split: each worker reads its own --train files (file), keeps its share of every "
             "global batch (data), or reads everything (off); default auto: file when there are at least as many "
             "--train files as workers, else data")
    add("--output", metavar="DIR", help="run directory")
    add("--tensorboard-dir", metavar="DIR", help="TensorBoard logs (default: OUTPUT/tensorboard)")
    add("--serving-dir", metavar="DIR", help="SavedModel base directory (default: OUTPUT/serving; '' skips)")
    add("--backup-dir", metavar="DIR", help="resume checkpoints (default: OUTPUT/backup)")
    add("--checkpoint-every", type=int, metavar="N",
        help="save the resumable training state every N steps (default: 100)")
    add("--log-every", type=int, metavar="N", help="TensorBoard scalars every N steps (default: 10)")
    add("--sample-prompt", dest="sample_prompts", action="append", metavar="TEXT",
        help="prompt of the per-epoch TensorBoard text samples (repeatable)")
    add("--profile-steps", type=int, nargs=2, metavar=("FIRST", "LAST"), help="profile these global steps")
    add("--documents", action="store_true", help="text files hold blank-line-separated documents")
    add("--field", metavar="NAME", help="JSON field / CSV column / tf.Example feature with the text")
    add("--max-new-tokens", type=int, metavar="N", help="continuation length of the exported model (default: 32)")
    add("--verbose", type=int, choices=(0, 1, 2),
        help="1 progress bar, 2 a line per epoch (default when not a terminal)")
    add("--overwrite", action="store_true",
        help="replace the finished run in --output (model, tokenizer, metrics, serving/ and tensorboard/ inside "
             "it), or start an interrupted one over; without it a finished run there is an error")
    train.set_defaults(run=_train, config=None)


def build_parser():
    parser = OneLineParser(prog="keras-llm", description="Train, inspect and serve language models.")
    parser.add_argument("--version", action="version", version=f"keras-llm {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    corpus = commands.add_parser("corpus", help="write a built-in synthetic corpus (one example per line)")
    corpus.add_argument("--kind", choices=CORPORA, default="documents")
    corpus.add_argument("--num", type=POSITIVE_INT, default=1000, help="number of lines")
    corpus.add_argument("--seed", type=int, default=0)
    corpus.add_argument("--output", required=True, help="file to write")
    corpus.set_defaults(run=_corpus)

    _add_train_parser(commands)

    evaluate = commands.add_parser("evaluate", help="loss, perplexity and token count of a trained model (JSON)")
    evaluate.add_argument("--model-dir", required=True, metavar="DIR", help="a `keras-llm train` output directory")
    evaluate.add_argument("--data", required=True, nargs="+", metavar="PATH", help="evaluation files")
    evaluate.add_argument("--batch-size", type=POSITIVE_INT, metavar="N", help="default: the training batch size")
    evaluate.add_argument("--seq-len", type=POSITIVE_INT, metavar="N", help="default: the training sequence length")
    evaluate.set_defaults(run=_evaluate)

    generate = commands.add_parser("generate", help="continue prompts with a trained model (one line each)")
    generate.add_argument("--model-dir", required=True, metavar="DIR", help="a `keras-llm train` output directory")
    generate.add_argument("--prompt", required=True, action="append", metavar="TEXT", help="a prompt (repeatable)")
    generate.add_argument("--max-new-tokens", type=POSITIVE_INT, metavar="N",
                          help="default: 32, or less to fit the model's context")
    generate.add_argument("--sampler", choices=SAMPLERS, default="top_p",
                          help="default top_p (nucleus 0.9, temperature 0.8); greedy is exact argmax decoding")
    generate.add_argument("--temperature", type=POSITIVE_FLOAT, metavar="F", help="sampling temperature (top_p: 0.8)")
    generate.add_argument("--top-k", type=POSITIVE_INT, metavar="N")
    generate.add_argument("--top-p", type=PROBABILITY, metavar="F", help="nucleus mass (default 0.9)")
    generate.add_argument("--repetition-penalty", type=POSITIVE_FLOAT, metavar="F",
                          help="divide the logits of tokens already in the text by F (> 1), CTRL-style")
    generate.add_argument("--no-repeat-ngram-size", type=POSITIVE_INT, metavar="N",
                          help="never repeat an n-gram of this many tokens")
    generate.add_argument("--beam-width", type=POSITIVE_INT, default=4, metavar="N", help="with --sampler beam")
    generate.add_argument("--seed", type=int, default=0, metavar="N",
                          help="sampling seed: the same seed gives the same text (default 0)")
    generate.set_defaults(run=_generate)

    export = commands.add_parser("export", help="write the TF Serving SavedModel of a trained model")
    export.add_argument("--model-dir", required=True, metavar="DIR", help="a `keras-llm train` output directory")
    export.add_argument("--output", required=True, metavar="DIR",
                        help="base directory; the model goes to DIR/<version>")
    export.add_argument("--version", type=NON_NEGATIVE_INT, metavar="N", help="default: the current Unix time")
    export.add_argument("--max-new-tokens", type=POSITIVE_INT, metavar="N", help="continuation length of `generate`")
    export.set_defaults(run=_export)

    convert = commands.add_parser(
        "convert", help="a local GPT-2 / BERT checkpoint folder (KerasHub preset or Hugging Face safetensors) "
                        "-> our model.keras")
    convert.add_argument("source", metavar="SRC", help="checkpoint folder (config.json + weights)")
    convert.add_argument("--output", required=True, metavar="DIR", help="writes DIR/model.keras and DIR/converted.json")
    convert.add_argument("--task", choices=["masked_lm", "encoder"], default=None,
                         help="BERT only: the masked-LM model (default when the checkpoint has its head) or the encoder")
    convert.set_defaults(run=_convert)

    pipeline = commands.add_parser(
        "pipeline", help="run the TFX pipeline here (LocalDagRunner, SQLite ML Metadata), or compile it for Kubeflow "
                         "Pipelines / Vertex AI (--runner kubeflow); needs the tfx extra")
    pipeline.add_argument("--data", required=True, metavar="DIR", help="directory of .txt / .jsonl corpus files")
    pipeline.add_argument("--output", required=True, metavar="DIR",
                          help="pipeline artifacts, metadata.sqlite and serving/<version> go here")
    pipeline.add_argument("--model", default=None, choices=model_kinds(in_pipeline=True),
                          help="model family: a causal LM, or bert (a masked LM, served with fill_mask); default "
                               "gpt, or DIR's with --init-from")
    pipeline.add_argument("--init-from", metavar="DIR", default=None,
                          help="the trainer starts from the weights in DIR (as keras-llm train --init-from); "
                               "without a tokenizer in DIR, --vocab-size must give the model's vocabulary size")
    pipeline.add_argument("--tokenizer", default="word", choices=TOKENIZERS)
    pipeline.add_argument("--vocab-size", type=POSITIVE_INT, default=1000, metavar="N")
    pipeline.add_argument("--train-steps", type=POSITIVE_INT, default=600, metavar="N")
    pipeline.add_argument("--seq-len", type=POSITIVE_INT, default=64, metavar="N")
    pipeline.add_argument("--batch-size", type=POSITIVE_INT, default=16, metavar="N")
    pipeline.add_argument("--learning-rate", type=POSITIVE_FLOAT, default=3e-3, metavar="F")
    pipeline.add_argument("--perplexity-threshold", type=POSITIVE_FLOAT, default=None, metavar="F",
                          help="also bless only at or below this eval perplexity (default: no absolute bound)")
    pipeline.add_argument("--max-unigram-ratio", type=POSITIVE_FLOAT, default=0.9, metavar="F",
                          help="bless only at or below F x the unigram baseline's eval perplexity (default 0.9)")
    pipeline.add_argument("--distribute", default="auto", choices=["auto", "none", "mirrored", "multi_worker", "tpu"],
                          help="the trainer's tf.distribute strategy, as for keras-llm train (default auto)")
    pipeline.add_argument("--builtin-corpus", action="store_true",
                          help="first write a generated corpus into --data (local runner only)")
    pipeline.add_argument("--runner", choices=["local", "kubeflow"], default="local",
                          help="local: run now on LocalDagRunner (default); kubeflow: only compile the same pipeline "
                               "into a Kubeflow Pipelines v2 / Vertex AI spec file (nothing runs; --data and "
                               "--output are then paths the containers read and write, e.g. gs://...)")
    pipeline.add_argument("--beam-pipeline-args", action="append", metavar="ARGS",
                          help="Beam options of the Beam-based components, written with '=' since they start with "
                               "'--': --beam-pipeline-args='--runner=DataflowRunner --project=P' (repeatable; "
                               "default: in-process, one worker)")
    pipeline.add_argument("--image", metavar="IMAGE", default=None,
                          help="kubeflow: the container image every component runs in (default keras-llm-tfx:latest, "
                               "built from the repository's Dockerfile)")
    pipeline.add_argument("--output-spec", metavar="PATH", default=None,
                          help="kubeflow: the spec file to write here (.json: a PipelineJob for Vertex AI; .yaml: a "
                               "PipelineSpec for kfp.Client; default OUTPUT/pipeline.json)")
    pipeline.add_argument("--pipeline-name", metavar="NAME", default=None,
                          help="kubeflow: the pipeline's name (default keras-llm)")
    pipeline.set_defaults(run=run_pipeline_command)
    return parser


def _convert(args):
    from keras_llm.models.pretrained import convert_checkpoint

    summary = convert_checkpoint(args.source, args.output, task=args.task)
    print(f"{summary['class']} with {summary['parameters']:,} parameters from {args.source} -> {summary['model']}")


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    if argv is None:  # the command itself, not a call from Python: hide library noise (KERAS_LLM_DEBUG=1 shows it)
        from keras_llm.console import quiet_console

        quiet_console()
    prefix = f"keras-llm {args.command}: error:"
    try:
        args.run(args)
    except (ValueError, FileNotFoundError, FileExistsError, OSError) as e:
        print(f"{prefix} {_one_line(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"keras-llm {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - a CLI reports, it does not dump tracebacks
        if os.environ.get("KERAS_LLM_DEBUG"):
            raise
        print(f"{prefix} {_one_line(e)}", file=sys.stderr)
        return 1
    return 0


def _one_line(error):
    lines = str(error).strip().splitlines()
    message = lines[0] if lines else type(error).__name__
    if type(error).__name__ not in ("ValueError", "FileNotFoundError", "FileExistsError", "OSError",
                                    "NonFiniteLossError", "UnavailableModelError"):
        message = f"{type(error).__name__}: {message}"
    return message


if __name__ == "__main__":
    sys.exit(main())
