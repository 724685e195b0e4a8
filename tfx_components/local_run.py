"""The main job: the whole pipeline on LocalDagRunner (SQLite ML Metadata), then a look at what was pushed."""
import json
import os
import time

from keras_llm import datasets

from tfx_components.perplexity_evaluator.executor import DEFAULT_MAX_UNIGRAM_RATIO
from tfx_components.pipeline import DEFAULT_BEAM_PIPELINE_ARGS, run_pipeline
from tfx_components.training_stage import TrainingStage

DEFAULT_PROMPTS = ("the small dog", "a teacher", "")
DEFAULT_MASK_PROMPTS = ("the small <mask> sees a cat .", "a teacher <mask> the book .")


def write_builtin_corpus(data_dir, num_documents=1500, seed=0):
    """Writes a generated English-like corpus (`keras_llm.datasets.grammar_documents`) to `data_dir`."""
    os.makedirs(data_dir, exist_ok=True)
    path = os.path.join(data_dir, "corpus.txt")
    datasets.write_corpus(datasets.grammar_documents(num_documents, seed=seed), path)
    return path


def latest_artifact(metadata_path, type_name):
    """The newest artifact of an MLMD type (None if there is none)."""
    from ml_metadata.metadata_store import metadata_store
    from ml_metadata.proto import metadata_store_pb2

    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = metadata_path
    artifacts = metadata_store.MetadataStore(config).get_artifacts_by_type(type_name)
    return max(artifacts, key=lambda a: a.id) if artifacts else None


def training_stage(serving_dir, *, model="gpt", init_from=None, train_steps=600, seq_len=64, batch_size=16,
                   learning_rate=3e-3, model_options=None, distribute="auto", checkpoint_every=100,
                   perplexity_threshold=None, max_unigram_ratio=DEFAULT_MAX_UNIGRAM_RATIO, tolerance=0.05,
                   latency_budget_ms=5000.0):
    """The pipeline's `TrainingStage` from the settings of `run_local_pipeline` (paths used as given)."""
    custom_config = {"model": model, "seq_len": seq_len, "batch_size": batch_size, "learning_rate": learning_rate,
                     "distribute": distribute, "checkpoint_every": checkpoint_every,
                     "model_options": model_options or {}}
    if model is None:
        del custom_config["model"]
    if init_from:
        custom_config["init_from"] = init_from
    return TrainingStage(serving_dir=serving_dir, custom_config=custom_config, train_steps=train_steps,
                         perplexity_threshold=perplexity_threshold, max_unigram_ratio=max_unigram_ratio,
                         tolerance=tolerance, latency_budget_ms=latency_budget_ms)


def pipeline_layout(output_dir):
    """Where a run under `output_dir` keeps its artifacts, ML Metadata and pushed models (joined with "/", so a
    gs:// directory stays one)."""
    output_dir = output_dir.rstrip("/")
    return {"pipeline_root": f"{output_dir}/pipeline", "metadata_path": f"{output_dir}/metadata.sqlite",
            "serving_dir": f"{output_dir}/serving"}


def run_local_pipeline(data_dir, output_dir, *, tokenizer="word", vocab_size=1000, enable_cache=True,
                       prompts=DEFAULT_PROMPTS, pipeline_name="keras_llm",
                       beam_pipeline_args=DEFAULT_BEAM_PIPELINE_ARGS, init_from=None, **settings):
    """Runs the pipeline on `data_dir` into `output_dir` and returns a summary: whether this run pushed a
    model and where, its evaluation (perplexity, the unigram baseline's, the blessing and why), outputs of the
    pushed SavedModel (continuations of `prompts` for a causal LM, fill-mask predictions for `bert`), and the
    TensorBoard dir.

    Args:
        data_dir: directory of .txt / .jsonl corpus files. output_dir: where everything goes (layout below).
        tokenizer, vocab_size: what VocabularyGen trains.
        beam_pipeline_args: Beam options of the Beam-based components (default: in-process, one worker).
        init_from: the trainer starts from the weights in this folder (`TrainConfig.init_from`: a keras-llm
            train run, a convert output or a checkpoint folder), and with its tokenizer when it has one.
        settings: the model stage (`training_stage`):
            model: the family, `gpt` (default), `lstm`, `gru`, `rnn` (causal LMs) or `bert` (a masked LM);
                None with `init_from`: that folder's.
            train_steps, seq_len, batch_size, learning_rate, model_options: the training run (`model_options`:
                `num_layers`, `hidden_dim`, `num_heads`, `dropout` over the family's preset).
            distribute: `keras_llm.distribute` strategy name ("auto", as `keras-llm train`).
            checkpoint_every: steps between the trainer's resumable checkpoints.
            perplexity_threshold, max_unigram_ratio, tolerance: the blessing bounds (`PerplexityEvaluator`; by
                default at most 0.9x the unigram baseline's perplexity, no absolute bound).
            latency_budget_ms: the serving validator's p95 budget.

    Layout: `output_dir/pipeline` (artifacts), `output_dir/metadata.sqlite` (ML Metadata),
    `output_dir/serving/<version>` (pushed SavedModels).

    Example:
        >>> summary = run_local_pipeline("data/", "out/", model="lstm", train_steps=300)
        >>> summary["pushed"], summary["evaluation"]["perplexity"], summary["evaluation"]["unigram_perplexity"]
    """
    layout = pipeline_layout(os.path.abspath(output_dir))
    pipeline_root, metadata_path = layout["pipeline_root"], layout["metadata_path"]
    stage = training_stage(layout["serving_dir"], init_from=os.path.abspath(init_from) if init_from else None,
                           **settings)
    start = time.perf_counter()
    run_pipeline(pipeline_name, pipeline_root, os.path.abspath(data_dir), metadata_path, tokenizer_kind=tokenizer,
                 vocab_size=vocab_size, enable_cache=enable_cache, training=stage,
                 beam_pipeline_args=beam_pipeline_args)
    summary = {"seconds": time.perf_counter() - start, "pipeline_root": pipeline_root,
               "metadata_path": metadata_path, "tensorboard_logdir": os.path.join(pipeline_root, "TextTrainer")}
    anomalies = latest_artifact(metadata_path, "ExampleAnomalies")
    flags = anomalies.custom_properties if anomalies is not None else {}
    summary["data_anomalies"] = "has_anomalies" in flags and bool(flags["has_anomalies"].int_value)
    evaluation = latest_artifact(metadata_path, "ModelEvaluation")
    if evaluation is not None:
        with open(os.path.join(evaluation.uri, "metrics.json")) as f:
            summary["evaluation"] = json.load(f)
    pushed = latest_artifact(metadata_path, "PushedModel")
    summary["pushed"] = bool(pushed and pushed.custom_properties["pushed"].int_value)
    if summary["pushed"]:
        summary["pushed_model"] = pushed.custom_properties["pushed_destination"].string_value
        if "fill_mask" in saved_model_signatures(summary["pushed_model"]):
            summary["fill_mask"] = fill_mask_from(summary["pushed_model"], list(DEFAULT_MASK_PROMPTS))
        else:
            summary["generations"] = generate_from(summary["pushed_model"], list(prompts))
    return summary


def saved_model_signatures(model_dir):
    """The signature names of a SavedModel."""
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (registers the ops)

    return sorted(tf.saved_model.load(model_dir).signatures)


def fill_mask_from(model_dir, texts):
    """The top predictions of a pushed masked LM's `fill_mask` signature for each `<mask>` in `texts`."""
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (registers the ops)

    out = tf.saved_model.load(model_dir).signatures["fill_mask"](texts=tf.constant(texts))
    tokens, counts = out["tokens"].numpy(), out["num_masks"].numpy()
    return [{"text": text, "predictions": [[t.decode("utf-8", "replace") for t in row] for row in rows[:count]]}
            for text, rows, count in zip(texts, tokens, counts)]


# Decoding of the demo generations: top-p sampling with a mild repetition penalty and no repeated trigram
# (greedy decoding of the small demo model loops: "the friend who is brown . the friend who is brown ."), seeded
# so a rerun prints the same text. The pushed model's `generate` signature stays greedy.
# max_new_tokens is capped at the export-time length (32 by default).
DEMO_DECODING = {"max_new_tokens": 32, "temperature": 0.8, "top_p": 0.9, "repetition_penalty": 1.2,
                 "no_repeat_ngram_size": 3, "seed": 0}


def generate_from(model_dir, prompts, decoding=None):
    """Generations from a pushed SavedModel, loaded the way a server would: its `generate_with_options`
    signature with `decoding` (default `DEMO_DECODING`; `{"temperature": 0.0}` decodes greedily)."""
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (registers the ops)

    settings = {**DEMO_DECODING, **(decoding or {})}
    generate = tf.saved_model.load(model_dir).signatures["generate_with_options"]
    dtypes = {"no_repeat_ngram_size": tf.int32, "seed": tf.int32, "max_new_tokens": tf.int32}
    inputs = {k: tf.constant(v, dtypes.get(k, tf.float32)) for k, v in settings.items()}
    texts = generate(prompts=tf.constant(prompts), **inputs)["text"].numpy()
    return [{"prompt": p, "continuation": t.decode("utf-8", "replace")} for p, t in zip(prompts, texts)]


def print_summary(summary):
    print(f"\npipeline finished in {summary['seconds']:.0f}s; ML Metadata: {summary['metadata_path']}")
    if summary.get("data_anomalies"):
        print("data anomalies found: training did not run (see the TextDataValidator summary.txt)")
    if "evaluation" in summary:
        e = summary["evaluation"]
        unigram = e.get("unigram_perplexity")
        against = f" (unigram baseline {unigram:.3f}, ratio {e['perplexity'] / unigram:.3f})" if unigram else ""
        print(f"eval {e.get('task', 'causal')} perplexity {e['perplexity']:.3f} over {e['num_tokens']} tokens"
              f"{against}; blessed: {e['blessed']} ({e['reason']})")
    if summary["pushed"]:
        print(f"pushed model: {summary['pushed_model']}")
        if "fill_mask" in summary:
            print("fill_mask (top predictions per <mask>):")
            for f in summary["fill_mask"]:
                print(f"  {f['text']!r} -> {f['predictions']}")
        else:
            settings = ", ".join(f"{k} {v}" for k, v in DEMO_DECODING.items())
            print(f"generations (generate_with_options: {settings}):")
            for g in summary["generations"]:
                print(f"  {g['prompt']!r} -> {g['continuation']!r}")
    else:
        print("no model was pushed by this run")
    print(f"TensorBoard: tensorboard --logdir {summary['tensorboard_logdir']}")
