"""`keras-llm pipeline`: the TFX pipeline on LocalDagRunner, or compiled for Kubeflow Pipelines v2 / Vertex AI.

The CLI is the rightmost layer: it may reach the TFX components, imported only when this command runs (so the
latest stack, without TFX, is unaffected). Errors are exceptions that `keras_llm.cli.main` prints as one line.
"""
import os
import sys


def _beam_pipeline_args(values):
    """The --beam-pipeline-args values (each may hold several options) as one list; None when not given."""
    import shlex

    return None if values is None else [option for value in values for option in shlex.split(value)]


def _check_pipeline_flags(args):
    """Flags that belong to the other runner are one error line, before TFX is imported."""
    if args.runner == "local":
        given = [flag for flag, value in (("--image", args.image), ("--output-spec", args.output_spec),
                                          ("--pipeline-name", args.pipeline_name)) if value is not None]
        if given:
            raise ValueError(f"{', '.join(given)} only apply to --runner kubeflow (the local runner runs the "
                             f"pipeline here)")
    elif args.builtin_corpus:
        raise ValueError("--builtin-corpus writes the corpus on this machine; with --runner kubeflow put the "
                         "corpus at --data (e.g. gs://...) first, or run `keras-llm corpus` and copy it there")
    if args.beam_pipeline_args is not None and not _beam_pipeline_args(args.beam_pipeline_args):
        raise ValueError("--beam-pipeline-args is empty")


def _pipeline_kubeflow(args):
    try:
        from tfx_components.kubeflow_run import DEFAULT_IMAGE, DEFAULT_PIPELINE_NAME, compile_kubeflow_pipeline
        from tfx_components.kubeflow_run import check_pipeline_name, default_spec_path, is_remote_path
    except ImportError as e:
        raise ValueError(f"TFX is not installed ({e}); install keras-llm[tfx]") from None
    check_pipeline_name(args.pipeline_name or DEFAULT_PIPELINE_NAME)
    spec = args.output_spec or default_spec_path(args.output)  # a gs:// --output needs --output-spec: say so now
    if args.init_from and not is_remote_path(args.init_from):
        from keras_llm.training.init_from import read_init_source

        read_init_source(args.init_from)  # a bad local folder is one line; a gs:// one is read in the container
    model = args.model or (None if args.init_from else "gpt")
    path = compile_kubeflow_pipeline(
        args.data, args.output, output_spec=spec, image=args.image or DEFAULT_IMAGE,
        pipeline_name=args.pipeline_name or DEFAULT_PIPELINE_NAME,
        beam_pipeline_args=_beam_pipeline_args(args.beam_pipeline_args), model=model, init_from=args.init_from,
        tokenizer=args.tokenizer, vocab_size=args.vocab_size, train_steps=args.train_steps, seq_len=args.seq_len,
        batch_size=args.batch_size, learning_rate=args.learning_rate, perplexity_threshold=args.perplexity_threshold,
        max_unigram_ratio=args.max_unigram_ratio, distribute=args.distribute)
    print(f"wrote the Kubeflow Pipelines v2 / Vertex AI pipeline spec: {path} (image {args.image or DEFAULT_IMAGE}; "
          f"pipeline root {args.output.rstrip('/')}/pipeline; nothing was run)")
    local = [flag for flag, path in (("--data", args.data), ("--output", args.output),
                                     ("--init-from", args.init_from)) if path and not is_remote_path(path)]
    if local:
        print(f"note: {', '.join(local)} {'is a local path' if len(local) == 1 else 'are local paths'}, written into "
              f"the spec as given: they only make sense where every step's container sees this filesystem; use "
              f"gs:// paths for Vertex AI", file=sys.stderr)


def run_pipeline_command(args):
    """`keras-llm pipeline`: runs the pipeline here (`--runner local`) or compiles it (`--runner kubeflow`)."""
    # The CLI is the rightmost layer: it may reach the TFX components (imported only for this command).
    _check_pipeline_flags(args)
    if args.runner == "kubeflow":
        return _pipeline_kubeflow(args)
    try:
        from tfx_components.local_run import print_summary, run_local_pipeline, write_builtin_corpus
    except ImportError as e:
        raise ValueError(f"TFX is not installed ({e}); install keras-llm[tfx]") from None
    if args.builtin_corpus:
        write_builtin_corpus(args.data)
    if not os.path.isdir(args.data):
        raise FileNotFoundError(f"data directory not found: {args.data}")
    if args.init_from:
        from keras_llm.training.init_from import read_init_source

        read_init_source(args.init_from)  # a bad folder is one line before the pipeline starts
    model = args.model or (None if args.init_from else "gpt")
    summary = run_local_pipeline(args.data, args.output, model=model, init_from=args.init_from,
                                 tokenizer=args.tokenizer,
                                 vocab_size=args.vocab_size, train_steps=args.train_steps, seq_len=args.seq_len,
                                 batch_size=args.batch_size, learning_rate=args.learning_rate,
                                 perplexity_threshold=args.perplexity_threshold,
                                 max_unigram_ratio=args.max_unigram_ratio, distribute=args.distribute,
                                 **({} if args.beam_pipeline_args is None
                                    else {"beam_pipeline_args": _beam_pipeline_args(args.beam_pipeline_args)}))
    print_summary(summary)
