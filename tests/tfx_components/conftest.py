"""Fixtures for the TFX component tests: write examples and run executors on artifacts in `tmp_path`.

TFX is imported inside the fixtures, so this file loads (and the tests skip) on a stack without TFX.
"""
import os

import pytest


@pytest.fixture
def write_examples(tmp_path):
    """Writes texts as a standard `Examples` artifact (GZIP TFRecords of tf.Example, `text` feature) in
    `tmp_path`, one split per keyword: `write_examples(train=[...], eval=[...])` -> the artifact."""
    import tensorflow as tf
    from tfx.components.util import examples_utils
    from tfx.proto import example_gen_pb2
    from tfx.types import artifact_utils, standard_artifacts

    from tfx_components.text_example_gen.executor import text_example

    counter = iter(range(1000))

    def write(**splits):
        artifact = standard_artifacts.Examples()
        artifact.uri = str(tmp_path / f"examples_{next(counter)}")
        artifact.split_names = artifact_utils.encode_split_names(list(splits))
        examples_utils.set_payload_format(artifact, example_gen_pb2.FORMAT_TF_EXAMPLE)
        for split, texts in splits.items():
            directory = artifact_utils.get_split_uri([artifact], split)
            os.makedirs(directory)
            with tf.io.TFRecordWriter(os.path.join(directory, "data_tfrecord-00000-of-00001.gz"), "GZIP") as w:
                for text in texts:
                    w.write(text_example(text.encode() if isinstance(text, str) else text).SerializeToString())
        return artifact

    return write


@pytest.fixture
def validate(tmp_path):
    """Runs the TextDataValidator executor: `validate(examples, vocabulary_dir=None, baseline=None,
    example_anomalies=None, **exec_properties)` -> (anomalies artifact, statistics artifact)."""
    from tfx.types import standard_artifacts

    from tfx_components.artifact_types import TextStatistics, Vocabulary
    from tfx_components.text_data_validator import Executor

    counter = iter(range(1000))

    def run(examples, vocabulary_dir=None, baseline=None, example_anomalies=None, **exec_properties):
        number = next(counter)
        anomalies = standard_artifacts.ExampleAnomalies()
        anomalies.uri = str(tmp_path / f"anomalies_{number}")
        statistics = TextStatistics()
        statistics.uri = str(tmp_path / f"statistics_{number}")
        inputs = {"examples": [examples]}
        if vocabulary_dir:
            vocabulary = Vocabulary()
            vocabulary.uri = str(vocabulary_dir)
            inputs["vocabulary"] = [vocabulary]
        if baseline is not None:
            inputs["baseline_statistics"] = [baseline]
        if example_anomalies is not None:
            inputs["example_anomalies"] = [example_anomalies]
        Executor().Do(inputs, {"anomalies": [anomalies], "statistics": [statistics]}, exec_properties)
        return anomalies, statistics

    return run


@pytest.fixture(scope="session")
def clean_documents():
    """Short English-like documents from keras_llm's grammar: distinct, valid UTF-8, ASCII."""
    from keras_llm.datasets import grammar_documents

    return grammar_documents(240, sentences_per_document=(1, 3), seed=7)
