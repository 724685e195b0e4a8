"""Every Beam-based step of the data stage (TextExampleGen, StatisticsGen, TextDataValidator's statistics,
VocabularyGen's counting) runs with the pipeline's `beam_pipeline_args`: on Beam's DirectRunner with 2 worker
processes the outputs equal the in-process run's (examples per split, TFX and text statistics, vocabulary)."""
import glob
import json
import os

import pytest

pytest.importorskip("tfx")
pytestmark = [pytest.mark.tfx, pytest.mark.slow]

import tensorflow as tf  # noqa: E402

from keras_llm.datasets import grammar_documents, write_corpus  # noqa: E402
from keras_llm.tokenizers import load_tokenizer  # noqa: E402

TWO_PROCESSES = ("--direct_running_mode=multi_processing", "--direct_num_workers=2")


OUTPUTS = {"TextExampleGen": "examples", "StatisticsGen": "statistics", "TextDataValidator": "statistics",
           "VocabularyGen": "vocabulary"}


def _outputs(root):
    """What the data stage wrote under the pipeline root: {component: its output artifact folder}."""
    found = {}
    for component, key in OUTPUTS.items():
        (folder,) = glob.glob(os.path.join(root, component, key, "*"))  # one run per pipeline root
        found[component] = folder
    return found


def _records(folder):
    """Sorted serialized examples of each split folder under an Examples artifact."""
    out = {}
    for split in sorted(glob.glob(os.path.join(folder, "Split-*"))):
        files = sorted(glob.glob(os.path.join(split, "*")))
        out[os.path.basename(split)] = sorted(r.numpy() for r in tf.data.TFRecordDataset(files, "GZIP"))
    return out


def _text_statistics(folder):
    out = {}
    for path in sorted(glob.glob(os.path.join(folder, "Split-*", "text_statistics.json"))):
        with open(path, encoding="utf-8") as handle:
            out[path.split("/")[-2]] = json.load(handle)
    return out


def _tfdv_counts(folder):
    from tensorflow_metadata.proto.v0 import statistics_pb2

    out = {}
    for path in sorted(glob.glob(os.path.join(folder, "Split-*", "FeatureStats.pb"))):
        stats = statistics_pb2.DatasetFeatureStatisticsList()
        with open(path, "rb") as handle:
            stats.ParseFromString(handle.read())
        out[path.split("/")[-2]] = [d.num_examples for d in stats.datasets]
    return out


def test_data_stage_on_two_beam_worker_processes_equals_the_in_process_run(tmp_path):
    from tfx_components.pipeline import run_pipeline

    data = tmp_path / "data"
    data.mkdir()
    write_corpus(grammar_documents(300, seed=5), str(data / "corpus.txt"))
    results = {}
    for name, args in (("in_process", ("--direct_running_mode=in_memory", "--direct_num_workers=1")),
                       ("two_processes", TWO_PROCESSES)):
        root = tmp_path / name
        run_pipeline("beam_args", str(root / "pipeline"), str(data), str(root / "metadata.sqlite"),
                     tokenizer_kind="bpe", vocab_size=400, beam_pipeline_args=args)
        outputs = _outputs(str(root / "pipeline"))
        examples = outputs["TextExampleGen"]
        results[name] = {
            "examples": _records(examples),
            "tfdv": _tfdv_counts(outputs["StatisticsGen"]),
            "text_statistics": _text_statistics(outputs["TextDataValidator"]),
            "merges": load_tokenizer(outputs["VocabularyGen"]).get_merges(),
        }
    here, two = results["in_process"], results["two_processes"]
    assert set(here["examples"]) == {"Split-train", "Split-eval"} and len(here["examples"]["Split-train"]) > 100
    assert two["examples"] == here["examples"]
    assert set(here["text_statistics"]) == set(here["tfdv"]) == {"Split-train", "Split-eval"}
    assert here["text_statistics"]["Split-train"]["num_records"] == len(here["examples"]["Split-train"])
    assert two["tfdv"] == here["tfdv"] and two["text_statistics"] == here["text_statistics"]
    assert two["merges"] == here["merges"] and len(here["merges"]) > 50
