"""The whole pipeline on LocalDagRunner, checked through its ML Metadata store (SQLite).

Four runs share one store: a clean corpus (everything executes once and a model is pushed), the same again
(everything is served from the cache), a deliberately worse model (not blessed against the pushed baseline,
nothing pushed), and a corrupted corpus (TextDataValidator reports anomalies; every node gated by
`tfx.dsl.Cond` -- vocabulary, training, evaluation, push, and the `add_components` hook's node -- does not run).
"""
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
TRAINING = {"model": "lstm", "seq_len": 16, "batch_size": 8, "learning_rate": 0.01, "max_new_tokens": 8,
            "model_options": {"hidden_dim": 32, "num_layers": 1}}
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


def stage(root, train_steps):
    from tfx_components.training_stage import TrainingStage

    return TrainingStage(serving_dir=str(root / "serving"), custom_config=TRAINING, train_steps=train_steps,
                         eval_steps=2, tolerance=0.05, latency_budget_ms=60_000.0)


@pytest.fixture(scope="module")
def pipeline_runs(tmp_path_factory):
    from tfx_components.pipeline import run_pipeline

    root = tmp_path_factory.mktemp("data_pipeline")
    data = root / "data"
    documents = grammar_documents(60, sentences_per_document=(1, 3), seed=3)
    write_corpus(documents, data / "corpus.txt")
    arguments = (PIPELINE_NAME, str(root / "pipeline_root"), str(data), str(root / "metadata.sqlite"))
    options = {"tokenizer_kind": "word", "vocab_size": 300, "add_components": add_byte_vocabulary}

    run_pipeline(*arguments, **options, training=stage(root, 60))
    run_pipeline(*arguments, **options, training=stage(root, 60))
    run_pipeline(*arguments, **options, training=stage(root, 1))  # a much worse model
    os.remove(data / "corpus.txt")  # corrupted: invalid UTF-8 in most lines, each line three times
    corrupted = [doc.encode() + b" \xff\xfe" for doc in documents[:40]] * 3 + [doc.encode() for doc in documents[40:]]
    (data / "corrupted.txt").write_bytes(b"\n".join(corrupted) + b"\n")
    run_pipeline(*arguments, **options, training=stage(root, 60))

    store = metadata_store.MetadataStore(metadata.sqlite_metadata_connection_config(arguments[3]))
    return store, executions_by_run(store), root


def test_first_run_executes_each_component_once_and_registers_its_artifacts(pipeline_runs):
    store, runs, root = pipeline_runs
    assert len(runs) == 4
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
    [infra] = output_artifacts(store, first["ServingValidator"][0])["blessing"]
    assert infra.custom_properties["blessed"].int_value == 1
    [pushed] = output_artifacts(store, first["Pusher"][0])["pushed_model"]
    assert pushed.custom_properties["pushed"].int_value == 1
    destination = pushed.custom_properties["pushed_destination"].string_value
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
    assert len(os.listdir(root / "serving")) == 1


def test_worse_model_is_not_blessed_and_not_pushed(pipeline_runs):
    store, runs, root = pipeline_runs
    third = runs[2]
    assert [e.last_known_state for e in third["TextTrainer"]] == [Execution.COMPLETE]  # retrained
    assert [e.last_known_state for e in third["TextExampleGen"]] == [Execution.CACHED]
    [blessing] = output_artifacts(store, third["PerplexityEvaluator"][0])["blessing"]
    assert blessing.custom_properties["blessed"].int_value == 0
    assert blessing.custom_properties["baseline_model_id"].int_value > 0  # judged against the pushed model
    pushed = output_artifacts(store, third["Pusher"][0])["pushed_model"]
    assert [p.custom_properties["pushed"].int_value for p in pushed] == [0]
    assert len(os.listdir(root / "serving")) == 1


def test_corrupted_corpus_is_reported_and_blocks_the_vocabulary(pipeline_runs):
    store, runs, root = pipeline_runs
    third = runs[3]
    assert not set(third) & GATED_NODES  # skipped by tfx.dsl.Cond: no execution, no artifact
    assert all(e.last_known_state == Execution.COMPLETE for executions in third.values() for e in executions)
    [anomalies] = output_artifacts(store, third["TextDataValidator"][0])["anomalies"]
    assert anomalies.custom_properties["has_anomalies"].int_value == 1
    checks = anomalies.custom_properties["anomaly_checks"].string_value
    assert "invalid_utf8" in checks and "duplicates" in checks
    assert len(store.get_artifacts_by_type("keras_llm.Vocabulary")) == 2  # the clean run's two
