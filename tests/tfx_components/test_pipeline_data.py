"""The data pipeline on LocalDagRunner, checked through its ML Metadata store (SQLite).

Three runs share one store: a clean corpus (everything executes once), the same corpus again (everything is
served from the cache) and a corrupted corpus (TextDataValidator reports anomalies; VocabularyGen and the node
added through the `add_components` hook, gated by `tfx.dsl.Cond`, do not run).
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
GATED_NODES = {"VocabularyGen", "ByteVocabularyGen"}
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


@pytest.fixture(scope="module")
def pipeline_runs(tmp_path_factory):
    from tfx_components.pipeline import run_pipeline

    root = tmp_path_factory.mktemp("data_pipeline")
    data = root / "data"
    documents = grammar_documents(60, sentences_per_document=(1, 3), seed=3)
    write_corpus(documents, data / "corpus.txt")
    arguments = (PIPELINE_NAME, str(root / "pipeline_root"), str(data), str(root / "metadata.sqlite"))
    options = {"tokenizer_kind": "word", "vocab_size": 300, "add_components": add_byte_vocabulary}

    run_pipeline(*arguments, **options)
    run_pipeline(*arguments, **options)
    os.remove(data / "corpus.txt")  # corrupted: invalid UTF-8 in most lines, each line three times
    corrupted = [doc.encode() + b" \xff\xfe" for doc in documents[:40]] * 3 + [doc.encode() for doc in documents[40:]]
    (data / "corrupted.txt").write_bytes(b"\n".join(corrupted) + b"\n")
    run_pipeline(*arguments, **options)

    store = metadata_store.MetadataStore(metadata.sqlite_metadata_connection_config(arguments[3]))
    return store, executions_by_run(store)


def test_first_run_executes_each_component_once_and_registers_its_artifacts(pipeline_runs):
    store, runs = pipeline_runs
    assert len(runs) == 3
    first = runs[0]
    assert set(first) == DATA_NODES
    types = {}
    for node, executions in first.items():
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


def test_second_run_is_served_from_the_cache(pipeline_runs):
    _, runs = pipeline_runs
    assert set(runs[1]) == DATA_NODES
    for node, executions in runs[1].items():
        assert [e.last_known_state for e in executions] == [Execution.CACHED], node


def test_corrupted_corpus_is_reported_and_blocks_the_vocabulary(pipeline_runs):
    store, runs = pipeline_runs
    third = runs[2]
    assert set(third) == DATA_NODES - GATED_NODES  # skipped by tfx.dsl.Cond: no execution, no artifact
    assert all(e.last_known_state == Execution.COMPLETE for executions in third.values() for e in executions)
    [anomalies] = output_artifacts(store, third["TextDataValidator"][0])["anomalies"]
    assert anomalies.custom_properties["has_anomalies"].int_value == 1
    checks = anomalies.custom_properties["anomaly_checks"].string_value
    assert "invalid_utf8" in checks and "duplicates" in checks
    assert len(store.get_artifacts_by_type("keras_llm.Vocabulary")) == 2  # the clean run's two
