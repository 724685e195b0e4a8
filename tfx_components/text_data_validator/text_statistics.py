"""Language-model text statistics of one split, computed by a Beam pipeline and written as JSON.

`TextStatisticsAccumulator` is a mergeable summary of text records (raw bytes): record counts (empty or whitespace-only,
invalid UTF-8, too short / too long in characters), a length histogram, character counts and, when a
tokenizer is given, token and `<unk>` counts. `ComputeTextStatistics` is the Beam transform that reads a split
of tf.Examples, builds the summary in batches (so the tokenizer runs on batches, not single records), counts
distinct non-empty records for the duplicate rate (`DistinctCount`: exact up to about a million distinct
records, an estimate within ~0.1% beyond, in bounded memory), and writes `text_statistics.json`.

Lengths are in characters of the text decoded as UTF-8 (an invalid byte counts as one U+FFFD character).
"""
import collections
import hashlib
import json
import os

import apache_beam as beam
import numpy as np
import tensorflow as tf

from keras_llm.tokenizers import load_tokenizer, special_tokens

STATISTICS_FILE = "text_statistics.json"
# Characters kept by name in the JSON (most frequent first); the rest are summed in `other_characters`.
MAX_NAMED_CHARACTERS = 1000


class TextStatisticsAccumulator:
    """Counts over text records; `add` one record, `merge` another summary, `to_dict` for JSON."""

    COUNTERS = ("num_records", "num_empty", "num_invalid_utf8", "num_too_short", "num_too_long",
                "total_characters", "num_tokens", "num_unknown_tokens")

    def __init__(self):
        for name in self.COUNTERS:
            setattr(self, name, 0)
        self.max_characters_seen = 0
        self.min_characters_seen = None
        self.length_histogram = collections.Counter()  # bucket lower bound (0, 1, 2, 4, 8, ...) -> records
        self.character_counts = collections.Counter()

    def add(self, text, min_characters, max_characters):
        """Adds one record (bytes). Empty / whitespace-only records count as empty and nothing else."""
        self.num_records += 1
        try:
            decoded = text.decode("utf-8")
        except UnicodeDecodeError:
            self.num_invalid_utf8 += 1
            decoded = text.decode("utf-8", "replace")
        if not decoded.strip():
            self.num_empty += 1
            return
        length = len(decoded)
        self.total_characters += length
        self.num_too_short += length < min_characters
        self.num_too_long += length > max_characters
        self.max_characters_seen = max(self.max_characters_seen, length)
        self.min_characters_seen = length if self.min_characters_seen is None else min(self.min_characters_seen, length)
        self.length_histogram[1 << (length.bit_length() - 1)] += 1
        self.character_counts.update(decoded)

    def merge(self, other):
        for name in self.COUNTERS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.max_characters_seen = max(self.max_characters_seen, other.max_characters_seen)
        if other.min_characters_seen is not None:
            self.min_characters_seen = (other.min_characters_seen if self.min_characters_seen is None
                                        else min(self.min_characters_seen, other.min_characters_seen))
        self.length_histogram.update(other.length_histogram)
        self.character_counts.update(other.character_counts)
        return self

    def to_dict(self, num_distinct_non_empty=None):
        """JSON-ready dict; `num_distinct_non_empty` (from a separate count) gives the duplicate figures."""
        non_empty = self.num_records - self.num_empty
        named = self.character_counts.most_common(MAX_NAMED_CHARACTERS)
        result = {name: getattr(self, name) for name in self.COUNTERS}
        result.update(
            num_non_empty=non_empty,
            min_length=self.min_characters_seen or 0,
            max_length=self.max_characters_seen,
            mean_length=self.total_characters / non_empty if non_empty else 0.0,
            length_histogram={str(low): count for low, count in sorted(self.length_histogram.items())},
            character_counts=dict(named),
            other_characters=sum(self.character_counts.values()) - sum(count for _, count in named),
        )
        if num_distinct_non_empty is not None:
            result["num_distinct_non_empty"] = num_distinct_non_empty
            result["num_duplicates"] = non_empty - num_distinct_non_empty
        return result


def is_blank(text):
    """True for empty or whitespace-only text (bytes; invalid UTF-8 is not whitespace)."""
    return not text.decode("utf-8", "replace").strip()


def fraction(part, whole):
    return part / whole if whole else 0.0


def character_distribution(statistics):
    """Statistics dict -> {character: share of all characters}; the unnamed rest under the key None."""
    counts = dict(statistics.get("character_counts", {}))
    counts[None] = statistics.get("other_characters", 0)
    total = sum(counts.values())
    return {char: count / total for char, count in counts.items() if count} if total else {}


def read_statistics(directory):
    with tf.io.gfile.GFile(os.path.join(directory, STATISTICS_FILE)) as f:
        return json.load(f)


def write_statistics(statistics, directory, split_name, length_thresholds, vocabulary_uri, num_distinct_non_empty):
    """Writes `text_statistics.json` (the summary plus what it was computed with) into `directory`."""
    result = {"split": split_name, **statistics.to_dict(num_distinct_non_empty),
              "length_thresholds": length_thresholds, "vocabulary": vocabulary_uri}
    tf.io.gfile.makedirs(directory)
    with tf.io.gfile.GFile(os.path.join(directory, STATISTICS_FILE), "w") as f:
        json.dump(result, f, indent=1, ensure_ascii=False, sort_keys=True)


def example_text(serialized_example, feature):
    """Serialized tf.Example -> the bytes of `feature` (several values joined by newlines; missing -> b"")."""
    example = tf.train.Example.FromString(serialized_example)
    if feature not in example.features.feature:
        return b""
    return b"\n".join(example.features.feature[feature].bytes_list.value)


class SummarizeTextBatch(beam.DoFn):
    """A batch of texts -> one `TextStatisticsAccumulator`; with a vocabulary, also counts tokens and `<unk>`s."""

    def __init__(self, min_characters, max_characters, vocabulary_uri=None):
        self._min_characters = min_characters
        self._max_characters = max_characters
        self._vocabulary_uri = vocabulary_uri
        self._tokenizer = None

    def setup(self):
        if self._vocabulary_uri:
            self._tokenizer = load_tokenizer(self._vocabulary_uri)

    def process(self, texts):
        summary = TextStatisticsAccumulator()
        for text in texts:
            summary.add(text, self._min_characters, self._max_characters)
        if self._tokenizer is not None:
            ids = self._tokenizer.tokenize(tf.constant(texts, dtype=tf.string)).flat_values
            summary.num_tokens += int(tf.size(ids))
            summary.num_unknown_tokens += int(tf.reduce_sum(tf.cast(ids == special_tokens.UNK_ID, tf.int64)))
        yield summary


class MergeTextStatistics(beam.CombineFn):
    def create_accumulator(self):
        return TextStatisticsAccumulator()

    def add_input(self, accumulator, summary):
        return accumulator.merge(summary)

    def merge_accumulators(self, accumulators):
        merged = TextStatisticsAccumulator()
        for accumulator in accumulators:
            merged.merge(accumulator)
        return merged

    def extract_output(self, accumulator):
        return accumulator


def _fingerprint(text):
    """64-bit fingerprint of a record, ignoring surrounding whitespace."""
    return int.from_bytes(hashlib.sha256(text.strip()).digest()[:8], "little")


class DistinctCount(beam.CombineFn):
    """How many distinct 64-bit fingerprints, in memory bounded by `capacity` (8 bytes each).

    The accumulator keeps the `capacity` smallest distinct fingerprints seen (a k-minimum-values sketch). While
    fewer than `capacity` distinct values exist it holds all of them and the count is exact; past that the
    count is estimated as (capacity - 1) / (largest kept fingerprint / 2**64), whose relative error is about
    1 / sqrt(capacity) (0.1% at the default 2**20). Unlike `beam.Distinct`, whose grouping holds every distinct
    record, memory does not grow with the corpus.
    """

    FLUSH_EVERY = 65536

    def __init__(self, capacity=1 << 20):
        self._capacity = capacity

    def _compact(self, kept, pending):
        values = np.unique(np.concatenate([kept, np.asarray(pending, dtype=np.uint64)]))
        return values[: self._capacity]

    def create_accumulator(self):
        return np.zeros(0, dtype=np.uint64), []

    def add_input(self, accumulator, fingerprint):
        kept, pending = accumulator
        pending.append(fingerprint)
        if len(pending) >= self.FLUSH_EVERY:
            return self._compact(kept, pending), []
        return kept, pending

    def merge_accumulators(self, accumulators):
        kept, pending = np.zeros(0, dtype=np.uint64), []
        for other_kept, other_pending in accumulators:
            kept = self._compact(np.concatenate([kept, other_kept]), pending + other_pending)
            pending = []
        return kept, pending

    def compact(self, accumulator):
        return self._compact(*accumulator), []

    def extract_output(self, accumulator):
        kept = self._compact(*accumulator)
        if len(kept) < self._capacity:
            return len(kept)
        return int(round((self._capacity - 1) / ((float(kept[-1]) + 1.0) / 2.0**64)))


@beam.ptransform_fn
def ComputeTextStatistics(pipeline, examples_pattern, output_dir, split_name, feature, min_characters,  # noqa: N802
                          max_characters, vocabulary_uri=None):
    """Reads GZIP TFRecords of tf.Example matching `examples_pattern`; writes `output_dir/text_statistics.json`."""
    texts = (
        pipeline
        | "ReadExamples" >> beam.io.ReadFromTFRecord(examples_pattern, coder=beam.coders.BytesCoder())
        | "ExtractText" >> beam.Map(example_text, feature)
    )
    summary = (
        texts
        | "Batch" >> beam.BatchElements(min_batch_size=64, max_batch_size=1024)
        | "SummarizeBatches" >> beam.ParDo(SummarizeTextBatch(min_characters, max_characters, vocabulary_uri))
        | "MergeSummaries" >> beam.CombineGlobally(MergeTextStatistics())
    )
    num_distinct = (
        texts
        | "DropEmpty" >> beam.Filter(lambda text: not is_blank(text))
        | "Fingerprint" >> beam.Map(_fingerprint)
        | "CountDistinct" >> beam.CombineGlobally(DistinctCount())
    )
    length_thresholds = {"min_characters": min_characters, "max_characters": max_characters}
    return summary | "Write" >> beam.Map(
        write_statistics, output_dir, split_name, length_thresholds, vocabulary_uri,
        num_distinct_non_empty=beam.pvalue.AsSingleton(num_distinct))
