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


# The model stage's tiny models: a causal LSTM that gets well below the unigram baseline in 60 steps on
# `clean_documents` (eval perplexity ~0.6x the unigram's) and a BERT masked LM.
LSTM_CONFIG = {"model": "lstm", "seq_len": 32, "batch_size": 16, "learning_rate": 0.02, "max_new_tokens": 8,
               "model_options": {"hidden_dim": 32, "num_layers": 1}}
BERT_CONFIG = {"model": "bert", "seq_len": 32, "batch_size": 16, "learning_rate": 0.003, "hidden_dim": 32,
               "num_layers": 1, "num_heads": 2, "distribute": "mirrored"}


@pytest.fixture(scope="session")
def stage_inputs(tmp_path_factory, clean_documents):
    """(examples, vocabulary) artifacts: 200 train / 40 eval documents, a 300-word vocabulary."""
    from tfx_helpers import write_vocabulary_to

    root = tmp_path_factory.mktemp("stage_inputs")
    examples = write_examples_to(root / "examples", train=clean_documents[:200], eval=clean_documents[200:])
    return examples, write_vocabulary_to(root / "vocabulary", clean_documents[:200])


@pytest.fixture(scope="session")
def trained_lstm(tmp_path_factory, stage_inputs):
    """(model, model_run) of the TextTrainer executor on the LSTM settings, 60 steps."""
    from tfx_helpers import run_text_trainer

    return run_text_trainer(tmp_path_factory.mktemp("lstm") / "TextTrainer", *stage_inputs, LSTM_CONFIG, 60)


@pytest.fixture(scope="session")
def trained_bert(tmp_path_factory, stage_inputs):
    """(model, model_run) of the TextTrainer executor on the BERT settings (MirroredStrategy), 20 steps."""
    from tfx_helpers import run_text_trainer

    return run_text_trainer(tmp_path_factory.mktemp("bert") / "TextTrainer", *stage_inputs, BERT_CONFIG, 20)
