"""The whole pipeline on LocalDagRunner, checked through its ML Metadata store (SQLite).

Five runs share one store: a clean corpus (everything executes once and an LSTM is pushed: its eval perplexity
is well below the unigram baseline's), the same again (everything is served from the cache), a deliberately
worse model (1 step: at the unigram baseline and worse than the pushed model; not blessed, nothing pushed), the
BERT family (a masked LM trained, scored on masked positions, served; judged on the unigram rule since the
pushed LSTM is not comparable), and a corrupted corpus (TextDataValidator reports anomalies; every node gated by
`tfx.dsl.Cond` -- vocabulary, training, evaluation, push, and the `add_components` hook's node -- does not run).
"""
import json
import os

import pytest

pytest.importorskip("tfx")
pytestmark = pytest.mark.tfx

from ml_metadata import metadata_store  # noqa: E402
from ml_metadata.proto import metadata_store_pb2  # noqa: E402
from tfx.orchestration import metadata  # noqa: E402

from keras_llm.datasets import grammar_documents, write_corpus  # noqa: E402
from keras_llm.tokenizers import load_tokenizer  # noqa: E402

PIPELINE_NAME = "keras_llm_data_test"
DATA_NODES = {"TextExampleGen", "StatisticsGen", "SchemaGen", "ExampleValidator", "TextDataValidator",
              "VocabularyGen", "ByteVocabularyGen"}
MODEL_NODES = {"TextTrainer", "PerplexityEvaluator", "ServingValidator", "Pusher"}
GATED_NODES = {"VocabularyGen", "ByteVocabularyGen"} | MODEL_NODES
# A 32-wide LSTM, started (as keras-llm train starts it) from the unigram output bias: 60 steps take it to
# ~0.6x the unigram baseline's eval perplexity; 1 step leaves it at ~1.0x.
TRAINING = {"model": "lstm", "seq_len": 32, "batch_size": 16, "learning_rate": 0.02, "max_new_tokens": 8,
            "model_options": {"hidden_dim": 32, "num_layers": 1}}
BERT = {"model": "bert", "seq_len": 32, "batch_size": 16, "hidden_dim": 32, "num_layers": 1, "num_heads": 2}
Execution = metadata_store_pb2.Execution


def add_byte_vocabulary(data):
    """An `add_components` hook, as the trainer and pusher will use: one more node wired to the data outputs."""
    from tfx_components import VocabularyGen

    return [VocabularyGen(examples=data.examples, tokenizer_kind="byte").with_id("ByteVocabularyGen")]


def executions_by_run(store):
    """[{node id: [executions]} for each pipeline run, oldest first]."""
    runs = sorted(store.get_contexts_by_type("pipeline_run"), key=lambda c: c.id)
    node_type = store.get_context_type("node").id
    result = []
    for run in runs:
        nodes = {}
        for execution in store.get_executions_by_context(run.id):
            node = next(c for c in store.get_contexts_by_execution(execution.id) if c.type_id == node_type)
            nodes.setdefault(node.name.split(".", 1)[1], []).append(execution)
        result.append(nodes)
    return result


def output_artifacts(store, execution):
    """{output key: [artifacts]} of an execution, from its OUTPUT events."""
    events = [e for e in store.get_events_by_execution_ids([execution.id]) if e.type == metadata_store_pb2.Event.OUTPUT]
    artifacts = {a.id: a for a in store.get_artifacts_by_id([e.artifact_id for e in events])}
    result = {}
    for event in events:
        result.setdefault(event.path.steps[0].key, []).append(artifacts[event.artifact_id])
    return result


def stage(root, train_steps, custom_config=TRAINING):
    from tfx_components.training_stage import TrainingStage

    # The blessing bounds are the defaults: at most 0.9x the unigram baseline, within 5% of the blessed model.
    return TrainingStage(serving_dir=str(root / "serving"), custom_config=custom_config, train_steps=train_steps,
                         eval_steps=2, latency_budget_ms=60_000.0)


def evaluation_metrics(store, execution):
    [evaluation] = output_artifacts(store, execution)["evaluation"]
    with open(os.path.join(evaluation.uri, "metrics.json")) as f:
        return json.load(f)


def pushed_flags(store, execution):
    return [p.custom_properties["pushed"].int_value for p in output_artifacts(store, execution)["pushed_model"]]


@pytest.fixture(scope="module")
def pipeline_runs(tmp_path_factory):
    from tfx_components.pipeline import run_pipeline

    root = tmp_path_factory.mktemp("data_pipeline")
    data = root / "data"
    documents = grammar_documents(240, sentences_per_document=(1, 3), seed=3)
    write_corpus(documents, data / "corpus.txt")
    arguments = (PIPELINE_NAME, str(root / "pipeline_root"), str(data), str(root / "metadata.sqlite"))
    options = {"tokenizer_kind": "word", "vocab_size": 300, "add_components": add_byte_vocabulary}

    run_pipeline(*arguments, **options, training=stage(root, 60))
    run_pipeline(*arguments, **options, training=stage(root, 60))
    run_pipeline(*arguments, **options, training=stage(root, 1))  # a much worse model
    run_pipeline(*arguments, **options, training=stage(root, 20, BERT))  # another family
    os.remove(data / "corpus.txt")  # corrupted: invalid UTF-8 in most lines, each line three times
    corrupted = [doc.encode() + b" \xff\xfe" for doc in documents[:160]] * 3 + [doc.encode() for doc in documents[160:]]
    (data / "corrupted.txt").write_bytes(b"\n".join(corrupted) + b"\n")
    run_pipeline(*arguments, **options, training=stage(root, 60))

    store = metadata_store.MetadataStore(metadata.sqlite_metadata_connection_config(arguments[3]))
    return store, executions_by_run(store), root


def test_first_run_executes_each_component_once_and_registers_its_artifacts(pipeline_runs):
    store, runs, root = pipeline_runs
    assert len(runs) == 5
    first = runs[0]
    assert DATA_NODES | MODEL_NODES <= set(first)
    types = {}
    for node, executions in first.items():
        if node not in DATA_NODES:
            continue
        assert len(executions) == 1, node
        assert executions[0].last_known_state == Execution.COMPLETE, node
        for artifact in sum(output_artifacts(store, executions[0]).values(), []):
            assert artifact.state == metadata_store_pb2.Artifact.LIVE and os.path.isdir(artifact.uri)
            types.setdefault(node, set()).add(store.get_artifact_types_by_id([artifact.type_id])[0].name)
    assert types == {
        "TextExampleGen": {"Examples"}, "StatisticsGen": {"ExampleStatistics"}, "SchemaGen": {"Schema"},
        "ExampleValidator": {"ExampleAnomalies"}, "TextDataValidator": {"ExampleAnomalies", "keras_llm.TextStatistics"},
        "VocabularyGen": {"keras_llm.Vocabulary"}, "ByteVocabularyGen": {"keras_llm.Vocabulary"},
    }
    [anomalies] = output_artifacts(store, first["TextDataValidator"][0])["anomalies"]
    assert anomalies.custom_properties["has_anomalies"].int_value == 0
    [vocabulary] = output_artifacts(store, first["VocabularyGen"][0])["vocabulary"]
    tokenizer = load_tokenizer(vocabulary.uri)
    assert 7 < tokenizer.vocabulary_size <= 300


def test_first_run_trains_blesses_and_pushes_a_servable_model(pipeline_runs):
    store, runs, root = pipeline_runs
    first = runs[0]
    for node in MODEL_NODES:
        assert [e.last_known_state for e in first[node]] == [Execution.COMPLETE], node
    [blessing] = output_artifacts(store, first["PerplexityEvaluator"][0])["blessing"]
    assert blessing.custom_properties["blessed"].int_value == 1
    metrics = evaluation_metrics(store, first["PerplexityEvaluator"][0])
    print(f"run 1: eval perplexity {metrics['perplexity']:.2f}, unigram baseline {metrics['unigram_perplexity']:.2f}")
    assert metrics["task"] == "causal" and metrics["max_unigram_ratio"] == 0.9 and metrics["unigram_ratio"] < 0.8
    assert metrics["perplexity_threshold"] is None and metrics["baseline_perplexity"] is None
    [infra] = output_artifacts(store, first["ServingValidator"][0])["blessing"]
    assert infra.custom_properties["blessed"].int_value == 1
    [pushed] = output_artifacts(store, first["Pusher"][0])["pushed_model"]
    assert pushed.custom_properties["pushed"].int_value == 1
    destination = pushed.custom_properties["pushed_destination"].string_value
    # the only version pushed over all five runs
    assert os.path.dirname(destination) == str(root / "serving") and os.listdir(root / "serving") == [os.path.basename(destination)]
    from tf_only import run_tf_only

    out = run_tf_only(f"""
        m = tf.saved_model.load({destination!r})
        gen = m.signatures["generate"](prompts=tf.constant(["the dog", ""]))["text"]
        opt = m.signatures["generate_with_options"](prompts=tf.constant(["a"]), max_new_tokens=tf.constant(2),
                                                      temperature=tf.constant(1.0), top_p=tf.constant(0.9),
                                                      repetition_penalty=tf.constant(1.2),
                                                      no_repeat_ngram_size=tf.constant(3), seed=tf.constant(0))["text"]
        score = m.signatures["score"](texts=tf.constant(["the dog sees a cat ."]))
        example = tf.train.Example(features=tf.train.Features(feature={{"text": tf.train.Feature(
            bytes_list=tf.train.BytesList(value=[b"the dog"]))}})).SerializeToString()
        default = m.signatures["serving_default"](examples=tf.constant([example]))["text"]
        print(json.dumps({{"sigs": sorted(m.signatures), "gen": gen.shape[0], "opt": opt.shape[0],
                          "ppl": float(score["perplexity"][0]), "default": default.shape[0]}}))
        """)
    assert out["sigs"] == ["generate", "generate_with_options", "score", "serving_default"]
    assert out["gen"] == 2 and out["opt"] == 1 and out["default"] == 1 and out["ppl"] > 1.0


def test_second_run_is_served_from_the_cache(pipeline_runs):
    store, runs, root = pipeline_runs
    second = runs[1]
    assert DATA_NODES | MODEL_NODES <= set(second)
    for node in DATA_NODES | {"TextTrainer", "ServingValidator"}:
        assert [e.last_known_state for e in second[node]] == [Execution.CACHED], node
    # The resolver now returns run 1's blessed model, a new input, so the evaluator runs again: it finds the
    # same model and withholds a second blessing, so nothing is pushed twice.
    [blessing] = output_artifacts(store, second["PerplexityEvaluator"][0])["blessing"]
    assert blessing.custom_properties["already_blessed"].int_value == 1
    assert pushed_flags(store, second["Pusher"][0]) == [0]


def test_worse_model_is_not_blessed_and_not_pushed(pipeline_runs):
    store, runs, root = pipeline_runs
    first, third = runs[0], runs[2]
    assert [e.last_known_state for e in third["TextTrainer"]] == [Execution.COMPLETE]  # retrained
    assert [e.last_known_state for e in third["TextExampleGen"]] == [Execution.CACHED]
    [blessing] = output_artifacts(store, third["PerplexityEvaluator"][0])["blessing"]
    assert blessing.custom_properties["blessed"].int_value == 0
    [pushed_model] = output_artifacts(store, first["TextTrainer"][0])["model"]
    assert blessing.custom_properties["baseline_model_id"].int_value == pushed_model.id  # judged against it
    metrics, blessed_run = (evaluation_metrics(store, run["PerplexityEvaluator"][0]) for run in (third, first))
    print(f"run 3 (1 step): eval perplexity {metrics['perplexity']:.2f}, unigram baseline "
          f"{metrics['unigram_perplexity']:.2f}, blessed model {metrics['baseline_perplexity']:.2f}")
    # Either bound alone refuses it: it learned nothing beyond the unigram model, and is far worse than the
    # pushed model (scored again here: the same figure as when that one was blessed).
    assert metrics["unigram_ratio"] > 0.9 and metrics["baseline_perplexity"] == pytest.approx(blessed_run["perplexity"])
    assert metrics["perplexity"] > 1.2 * metrics["baseline_perplexity"]
    assert "unigram baseline" in metrics["reason"] and "blessed baseline" in metrics["reason"]
    assert pushed_flags(store, third["Pusher"][0]) == [0]


def test_bert_family_trains_a_masked_lm_and_is_judged_on_masked_perplexity(pipeline_runs):
    import tensorflow as tf
    import tensorflow_text  # noqa: F401

    from tfx_components.model_paths import serving_model_path

    store, runs, root = pipeline_runs
    fourth = runs[3]
    for node in MODEL_NODES:
        assert [e.last_known_state for e in fourth[node]] == [Execution.COMPLETE], node
    [model] = output_artifacts(store, fourth["TextTrainer"][0])["model"]
    assert "fill_mask" in tf.saved_model.load(serving_model_path(model.uri)).signatures
    [infra] = output_artifacts(store, fourth["ServingValidator"][0])["blessing"]
    assert infra.custom_properties["blessed"].int_value == 1  # it serves
    metrics = evaluation_metrics(store, fourth["PerplexityEvaluator"][0])
    print(f"run 4 (bert, 20 steps): masked perplexity {metrics['perplexity']:.2f} over {metrics['num_tokens']} "
          f"masked tokens, unigram baseline {metrics['unigram_perplexity']:.2f}")
    assert metrics["task"] == "masked" and "not comparable" in metrics["baseline_note"]
    assert metrics["baseline_perplexity"] is None  # the pushed LSTM's causal perplexity is not its baseline
    # 20 steps from a zero output bias leave a BERT above the unigram model: the default bound refuses it
    assert metrics["unigram_ratio"] > 0.9 and not metrics["blessed"] and "unigram baseline" in metrics["reason"]
    assert pushed_flags(store, fourth["Pusher"][0]) == [0]


def test_corrupted_corpus_is_reported_and_blocks_the_vocabulary(pipeline_runs):
    store, runs, root = pipeline_runs
    fifth = runs[4]
    assert not set(fifth) & GATED_NODES  # skipped by tfx.dsl.Cond: no execution, no artifact
    assert all(e.last_known_state == Execution.COMPLETE for executions in fifth.values() for e in executions)
    [anomalies] = output_artifacts(store, fifth["TextDataValidator"][0])["anomalies"]
    assert anomalies.custom_properties["has_anomalies"].int_value == 1
    checks = anomalies.custom_properties["anomaly_checks"].string_value
    assert "invalid_utf8" in checks and "duplicates" in checks
    assert len(store.get_artifacts_by_type("keras_llm.Vocabulary")) == 2  # the clean run's two
