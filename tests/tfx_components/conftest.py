"""Fixtures for the TFX component tests: write examples and run executors on artifacts in `tmp_path`.

TFX is imported inside the fixtures, so this file loads (and the tests skip) on a stack without TFX.
"""
import pytest
from tfx_helpers import write_examples_to


@pytest.fixture
def write_examples(tmp_path):
    """`write_examples(train=[...], eval=[...])` -> an `Examples` artifact in `tmp_path`."""
    counter = iter(range(1000))
    return lambda **splits: write_examples_to(tmp_path / f"examples_{next(counter)}", **splits)


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
