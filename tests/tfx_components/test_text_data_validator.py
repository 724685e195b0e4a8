"""TextDataValidator executor on small corpora, without a pipeline: each corruption is detected, clean data is not."""
import json
import os

import pytest

pytest.importorskip("tfx")
pytestmark = pytest.mark.tfx

import tensorflow as tf  # noqa: E402
from tensorflow_metadata.proto.v0 import anomalies_pb2  # noqa: E402
from tfx.types import artifact_utils, standard_artifacts  # noqa: E402

from keras_llm.datasets import grammar_documents, pseudo_words  # noqa: E402
from keras_llm.tokenizers import train_tokenizer  # noqa: E402
from tfx_components.text_data_validator import (  # noqa: E402
    TextDataAnomaliesError,
    TextDataValidator,
    TextValidationThresholds,
)
from tfx_components.text_data_validator.anomaly_checks import charset_drift  # noqa: E402


def split_report(anomalies, split):
    with open(os.path.join(artifact_utils.get_split_uri([anomalies], split), "text_anomalies.json")) as f:
        return json.load(f)


def checks_of(anomalies, split):
    return {anomaly["check"] for anomaly in split_report(anomalies, split)["anomalies"]}


def schema_diff(anomalies, split):
    with open(os.path.join(artifact_utils.get_split_uri([anomalies], split), "SchemaDiff.pb"), "rb") as f:
        return anomalies_pb2.Anomalies.FromString(f.read())


def split_statistics(statistics, split):
    with open(os.path.join(artifact_utils.get_split_uri([statistics], split), "text_statistics.json")) as f:
        return json.load(f)


def test_clean_corpus_has_no_anomalies(write_examples, validate, clean_documents):
    examples = write_examples(train=clean_documents[:160], eval=clean_documents[160:])
    anomalies, statistics = validate(examples)

    assert anomalies.get_int_custom_property("has_anomalies") == 0
    assert anomalies.get_int_custom_property("num_anomalies") == 0
    for split, count in (("train", 160), ("eval", 80)):
        assert checks_of(anomalies, split) == set()
        assert not schema_diff(anomalies, split).anomaly_info
        stats = split_statistics(statistics, split)
        assert stats["num_records"] == count and stats["num_duplicates"] == 0 and stats["num_invalid_utf8"] == 0
    with open(os.path.join(anomalies.uri, "summary.txt")) as f:
        assert f.read().startswith("TextDataValidator: no anomalies.")


def _invalid_utf8(docs):
    return [doc.encode() + b" \xff\xfe" for doc in docs]


def _empty(docs):
    return docs[:100] + [""] * 30 + ["  \t "] * 30


def _duplicates(docs):
    return docs[:20] * 8


def _short(docs):
    return [f"w{i}" for i in range(160)]


@pytest.mark.parametrize("corrupt, exec_properties, check", [
    (_invalid_utf8, {}, "invalid_utf8"),
    (_empty, {}, "empty_records"),
    (_duplicates, {}, "duplicates"),
    (_short, {"min_characters": 10}, "too_short"),
    (lambda docs: docs[:160], {"max_characters": 40}, "too_long"),
], ids=["invalid_utf8", "empty", "duplicates", "too_short", "too_long"])
def test_corrupted_train_split_is_reported(write_examples, validate, clean_documents, corrupt, exec_properties,
                                           check):
    examples = write_examples(train=corrupt(clean_documents), eval=clean_documents[200:])
    anomalies, _ = validate(examples, **exec_properties)

    assert anomalies.get_int_custom_property("has_anomalies") == 1
    assert check in checks_of(anomalies, "train")
    assert check in anomalies.get_string_custom_property("anomaly_checks")
    reasons = schema_diff(anomalies, "train").anomaly_info["text"].reason
    assert check in {reason.short_description for reason in reasons}
    assert all(reason.type == anomalies_pb2.AnomalyInfo.CUSTOM_VALIDATION for reason in reasons)
    if check != "too_long":  # the eval split holds long documents too
        assert checks_of(anomalies, "eval") == set()
    with open(os.path.join(anomalies.uri, "summary.txt")) as f:
        assert f"- {check}:" in f.read()


def test_unknown_token_rate_against_a_vocabulary(tmp_path, write_examples, validate, clean_documents):
    tokenizer = train_tokenizer("word", tf.data.Dataset.from_tensor_slices(clean_documents), vocab_size=2000)
    tokenizer.save(str(tmp_path / "vocabulary"))
    strange = [" ".join(pseudo_words(12, seed=i)) for i in range(60)]
    examples = write_examples(train=strange, eval=grammar_documents(40, (1, 3), seed=7)[:40])

    anomalies, statistics = validate(examples, vocabulary_dir=tmp_path / "vocabulary")

    assert checks_of(anomalies, "train") == {"unknown_tokens"}
    assert checks_of(anomalies, "eval") == set()  # same grammar, known words
    train = split_statistics(statistics, "train")
    assert train["num_tokens"] == 60 * 12 and train["num_unknown_tokens"] > 0.9 * train["num_tokens"]


def test_charset_drift_against_a_baseline(write_examples, validate, clean_documents):
    _, baseline = validate(write_examples(train=clean_documents[:160], eval=clean_documents[160:]))
    greek = str.maketrans("abcdefghijklmnopqrstuvwxyz", "αβψδεφγηιξκλμνοπρστθωϝςχυζ")
    examples = write_examples(train=[doc.translate(greek) for doc in clean_documents[:160]],
                              eval=grammar_documents(80, (1, 3), seed=99))

    anomalies, _ = validate(examples, baseline=baseline)

    assert checks_of(anomalies, "train") == {"charset_drift"}
    assert checks_of(anomalies, "eval") == set()  # other sentences, same characters
    drift = split_report(anomalies, "train")["anomalies"][0]
    assert drift["value"] > 0.5  # most of the letters changed
    new_characters = drift["description"].split("most frequent new characters: ")[1]
    assert "'ε'" in new_characters and "'ο'" in new_characters


def test_tfdv_anomalies_are_folded_in(tmp_path, write_examples, validate, clean_documents):
    tfdv_result = standard_artifacts.ExampleAnomalies()
    tfdv_result.uri = str(tmp_path / "tfdv")
    tfdv_result.split_names = artifact_utils.encode_split_names(["train", "eval"])
    proto = anomalies_pb2.Anomalies()
    proto.anomaly_info["text"].short_description = "Unexpected string values"
    os.makedirs(tmp_path / "tfdv" / "Split-eval")
    (tmp_path / "tfdv" / "Split-eval" / "SchemaDiff.pb").write_bytes(proto.SerializeToString())

    anomalies, _ = validate(write_examples(train=clean_documents[:160], eval=clean_documents[160:]),
                            example_anomalies=tfdv_result)

    assert checks_of(anomalies, "train") == set()
    assert checks_of(anomalies, "eval") == {"tfdv"}
    assert anomalies.get_int_custom_property("has_anomalies") == 1


def test_empty_splits_are_reported(write_examples, validate, clean_documents):
    examples = write_examples(train=clean_documents[:50], eval=[], test=[])
    split_test = artifact_utils.get_split_uri([examples], "test")
    for name in os.listdir(split_test):  # no file at all, not even an empty TFRecord file
        os.remove(os.path.join(split_test, name))

    anomalies, statistics = validate(examples)

    assert checks_of(anomalies, "train") == set()
    assert checks_of(anomalies, "eval") == checks_of(anomalies, "test") == {"no_records"}
    assert split_statistics(statistics, "test")["num_records"] == 0


def test_fail_on_anomalies_raises_after_writing_the_report(write_examples, validate, clean_documents):
    examples = write_examples(train=_duplicates(clean_documents), eval=clean_documents[200:])
    with pytest.raises(TextDataAnomaliesError, match="duplicates"):
        validate(examples, fail_on_anomalies=1)


def test_checks_and_thresholds_without_beam():
    same = {"character_counts": {"a": 3, "b": 1}, "other_characters": 0}
    assert charset_drift(same, same)[0] == pytest.approx(0.0)
    distance, new = charset_drift({"character_counts": {"x": 2}, "other_characters": 0}, same)
    assert distance == pytest.approx(1.0) and new == ["x"]
    thresholds = TextValidationThresholds.from_exec_properties({"max_charset_drift": 1, "min_characters": 5.0,
                                                                "max_empty_fraction": None})
    assert thresholds.max_charset_drift == 1.0 and isinstance(thresholds.max_charset_drift, float)
    assert thresholds.min_characters == 5 and thresholds.max_empty_fraction == 0.01


def test_distinct_count_is_exact_below_capacity_and_close_above():
    import random

    from tfx_components.text_data_validator.text_statistics import DistinctCount, _fingerprint

    def count(fn, texts, parts=3):  # as Beam runs a lifted combine: one accumulator per bundle, then merged
        accumulators = []
        for part in range(parts):
            accumulator = fn.create_accumulator()
            for text in texts[part::parts]:
                accumulator = fn.add_input(accumulator, _fingerprint(text))
            accumulators.append(fn.compact(accumulator))
        return fn.extract_output(fn.merge_accumulators(accumulators))

    texts = [f"record {i % 5000}".encode() for i in range(12000)]
    random.Random(0).shuffle(texts)
    assert count(DistinctCount(), texts) == 5000
    assert count(DistinctCount(), [b" same ", b"same", b"same\n"]) == 1  # surrounding whitespace is ignored
    fn = DistinctCount(capacity=2048)  # relative error ~ 1/sqrt(2048) = 2.2%
    fn.FLUSH_EVERY = 1000
    many = [f"line {i % 60000}".encode() for i in range(150000)]
    assert abs(count(fn, many) - 60000) < 0.07 * 60000
    assert count(fn, many, parts=5) == count(fn, many, parts=2)  # the sketch does not depend on the bundles


def test_component_spec():
    from tfx import types

    examples = types.Channel(type=standard_artifacts.Examples)
    component = TextDataValidator(examples=examples, max_duplicate_fraction=0)
    assert component.exec_properties["max_duplicate_fraction"] == 0.0
    assert component.outputs["anomalies"].type_name == "ExampleAnomalies"
    assert component.outputs["statistics"].type_name == "keras_llm.TextStatistics"
    with pytest.raises(TypeError):
        TextDataValidator(examples=examples, max_typo_fraction=0.1)
