"""Executor of `TextDataValidator`: text statistics per split (Beam), then the language-model checks.

Outputs:
- `statistics` (`TextStatistics`): `Split-<name>/text_statistics.json`.
- `anomalies` (standard `ExampleAnomalies`): per split `Split-<name>/text_anomalies.json` (the anomalies and
  the thresholds) and `Split-<name>/SchemaDiff.pb` (TFDV's `Anomalies` proto, as TFX's ExampleValidator
  writes it, so TFDV tools can show it); `summary.txt` (human-readable) at the artifact root. Custom
  properties: `has_anomalies` (1 or 0, what a `tfx.dsl.Cond` tests), `num_anomalies`, `anomaly_checks`
  (e.g. "train: duplicates, invalid_utf8") and `summary`.

With `fail_on_anomalies=1` the executor raises `TextDataAnomaliesError` after writing its outputs, so the run
fails and nothing downstream runs (an alternative to gating with `tfx.dsl.Cond`).
"""
import json
import os

import tensorflow as tf
from absl import logging
from tfx.components.util import examples_utils
from tfx.dsl.components.base import base_beam_executor
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils
from tensorflow_metadata.proto.v0 import anomalies_pb2

from tfx_components.text_data_validator import anomaly_checks
from tfx_components.text_data_validator.text_statistics import (
    ComputeTextStatistics,
    TextStatisticsAccumulator,
    read_statistics,
    write_statistics,
)

EXAMPLES_KEY = "examples"
VOCABULARY_KEY = "vocabulary"
BASELINE_STATISTICS_KEY = "baseline_statistics"
EXAMPLE_ANOMALIES_KEY = "example_anomalies"
ANOMALIES_KEY = "anomalies"
STATISTICS_KEY = "statistics"
TEXT_FEATURE_KEY = "text_feature"
FAIL_ON_ANOMALIES_KEY = "fail_on_anomalies"

HAS_ANOMALIES_PROPERTY = "has_anomalies"
NUM_ANOMALIES_PROPERTY = "num_anomalies"
ANOMALY_CHECKS_PROPERTY = "anomaly_checks"
SUMMARY_PROPERTY = "summary"
ANOMALIES_FILE = "text_anomalies.json"
SCHEMA_DIFF_FILE = "SchemaDiff.pb"  # the file name TFX's ExampleValidator uses
SUMMARY_FILE = "summary.txt"


class TextDataAnomaliesError(RuntimeError):
    """Raised (with `fail_on_anomalies`) when the data has anomalies; the message is the summary."""


def _optional_single(input_dict, key):
    artifacts = input_dict.get(key) or []
    if len(artifacts) > 1:
        raise ValueError(f"{key}: expected at most one artifact, got {len(artifacts)}")
    return artifacts[0] if artifacts else None


def _split_dir(artifact, split):
    """`Split-<split>` of an artifact, or None when the artifact does not have that split. An artifact without
    `split_names` (e.g. registered by an Importer) has the splits whose directories exist."""
    if artifact is None:
        return None
    if artifact.split_names:
        if split not in artifact_utils.decode_split_names(artifact.split_names):
            return None
        return artifact_utils.get_split_uri([artifact], split)
    directory = os.path.join(artifact.uri, f"Split-{split}")
    return directory if tf.io.gfile.isdir(directory) else None


def _read_tfdv_anomalies(artifact, split):
    directory = _split_dir(artifact, split)
    path = directory and os.path.join(directory, SCHEMA_DIFF_FILE)
    if not path or not tf.io.gfile.exists(path):
        return []
    with tf.io.gfile.GFile(path, "rb") as f:
        return anomaly_checks.tfdv_anomalies(anomalies_pb2.Anomalies.FromString(f.read()))


def _write(path, content, mode="w"):
    tf.io.gfile.makedirs(os.path.dirname(path))
    with tf.io.gfile.GFile(path, mode) as f:
        f.write(content)


class Executor(base_beam_executor.BaseBeamExecutor):
    """Computes text statistics of every split of `examples` and checks them (see the module docstring)."""

    def Do(self, input_dict, output_dict, exec_properties):  # noqa: N802 - TFX's method name
        self._log_startup(input_dict, output_dict, exec_properties)
        examples = artifact_utils.get_single_instance(input_dict[EXAMPLES_KEY])
        payload_format = examples_utils.get_payload_format(examples)
        if payload_format != example_gen_pb2.FORMAT_TF_EXAMPLE:
            raise ValueError(f"TextDataValidator reads tf.Example payloads, got "
                             f"{example_gen_pb2.PayloadFormat.Name(payload_format)}")
        splits = artifact_utils.decode_split_names(examples.split_names)
        thresholds = anomaly_checks.TextValidationThresholds.from_exec_properties(exec_properties)
        feature = exec_properties.get(TEXT_FEATURE_KEY) or "text"
        vocabulary = _optional_single(input_dict, VOCABULARY_KEY)
        baseline = _optional_single(input_dict, BASELINE_STATISTICS_KEY)
        tfdv_result = _optional_single(input_dict, EXAMPLE_ANOMALIES_KEY)
        statistics_artifact = artifact_utils.get_single_instance(output_dict[STATISTICS_KEY])
        anomalies_artifact = artifact_utils.get_single_instance(output_dict[ANOMALIES_KEY])
        for artifact in (statistics_artifact, anomalies_artifact):
            artifact.split_names = examples.split_names
            artifact.span = examples.span

        print(f"TextDataValidator: computing and checking text statistics of the {' and '.join(splits)} "
              f"split{'s' if len(splits) > 1 else ''} ...", flush=True)
        self._compute_statistics(examples, splits, statistics_artifact, feature, thresholds,
                                 vocabulary.uri if vocabulary else None)

        anomalies_by_split, records_by_split = {}, {}
        for split in splits:
            statistics = read_statistics(artifact_utils.get_split_uri([statistics_artifact], split))
            baseline_dir = _split_dir(baseline, split)
            if baseline is not None and baseline_dir is None:
                logging.warning("baseline statistics have no split %r: no character-set drift check for it", split)
            anomalies = anomaly_checks.find_anomalies(
                statistics, thresholds, read_statistics(baseline_dir) if baseline_dir else None)
            anomalies += _read_tfdv_anomalies(tfdv_result, split)
            anomalies_by_split[split], records_by_split[split] = anomalies, statistics["num_records"]
            split_dir = artifact_utils.get_split_uri([anomalies_artifact], split)
            report = {"split": split, "anomalies": [a.to_dict() for a in anomalies],
                      "thresholds": thresholds.to_dict()}
            _write(os.path.join(split_dir, ANOMALIES_FILE), json.dumps(report, indent=1, ensure_ascii=False))
            proto = anomaly_checks.to_anomalies_proto(anomalies, feature)
            _write(os.path.join(split_dir, SCHEMA_DIFF_FILE), proto.SerializeToString(), "wb")

        summary = anomaly_checks.summary_text(anomalies_by_split, records_by_split)
        _write(os.path.join(anomalies_artifact.uri, SUMMARY_FILE), summary)
        num_anomalies = sum(len(a) for a in anomalies_by_split.values())
        anomalies_artifact.set_int_custom_property(HAS_ANOMALIES_PROPERTY, int(num_anomalies > 0))
        anomalies_artifact.set_int_custom_property(NUM_ANOMALIES_PROPERTY, num_anomalies)
        anomalies_artifact.set_string_custom_property(ANOMALY_CHECKS_PROPERTY, "; ".join(
            f"{split}: {', '.join(sorted({a.check for a in found}))}"
            for split, found in anomalies_by_split.items() if found))
        anomalies_artifact.set_string_custom_property(SUMMARY_PROPERTY, summary)
        (logging.warning if num_anomalies else logging.info)("%s", summary)
        if not num_anomalies:
            first, *per_split = summary.splitlines()
            print(f"{first} {'; '.join(per_split)}", flush=True)
        if num_anomalies and int(exec_properties.get(FAIL_ON_ANOMALIES_KEY) or 0):
            raise TextDataAnomaliesError(summary)

    def _compute_statistics(self, examples, splits, statistics_artifact, feature, thresholds, vocabulary_uri):
        """One Beam pipeline over all splits; writes `text_statistics.json` per split."""
        length_thresholds = {"min_characters": thresholds.min_characters, "max_characters": thresholds.max_characters}
        with self._make_beam_pipeline() as pipeline:
            for split in splits:
                pattern = os.path.join(artifact_utils.get_split_uri([examples], split), "*")
                output_dir = artifact_utils.get_split_uri([statistics_artifact], split)
                if not tf.io.gfile.glob(pattern):  # no files at all: an empty split
                    write_statistics(TextStatisticsAccumulator(), output_dir, split, length_thresholds, vocabulary_uri, 0)
                    continue
                _ = pipeline | f"TextStatistics[{split}]" >> ComputeTextStatistics(
                    pattern, output_dir, split, feature, thresholds.min_characters, thresholds.max_characters,
                    vocabulary_uri)
