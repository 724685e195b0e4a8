"""Executor of `VocabularyGen`: learns a keras_llm tokenizer from one split of `Examples`, counting with Beam.

Counting scales with the corpus: a Beam pipeline reads the split's TFRecords, turns batches of text into the
units the tokenizer kind learns from (`Tokenizer.counting_units`: words for word/wordpiece, GPT-2's words for
bpe; the same units `Tokenizer.train` counts) and sums them per unit with a combiner over the shards
(`CombinePerKey`). Only the table of distinct units comes back to this process, which learns the vocabulary from
it (`Tokenizer.from_counts`): the same tokenizer as `train` on the same texts, whatever the Beam runner and its
number of workers (`--beam-pipeline-args`).

SentencePiece learns from lines, not counts: the pipeline keeps the `MAX_SENTENCEPIECE_LINES` non-blank lines
with the smallest `sample_key` (a `Top` combiner: the same deterministic sample as `SentencePieceTokenizer.train`
takes with seed 0, on every runner) and trains on them in key order; a smaller split is used whole, in key order. `byte` has nothing to learn.

The output `Vocabulary` artifact's directory is exactly what `Tokenizer.save(dir)` writes; the trainer and the
exporter load it with `keras_llm.tokenizers.load_tokenizer(artifact.uri)`. Custom properties:
`tokenizer_kind`, `vocabulary_size`, `trained_on_split`, `distinct_units` (or `sampled_lines`).
"""
import glob
import json
import os
import shutil

import apache_beam as beam
import tensorflow as tf
from absl import logging
from tfx.dsl.components.base import base_beam_executor
from tfx.types import artifact_utils

from keras_llm.tokenizers import TOKENIZERS, train_tokenizer
from keras_llm.tokenizers.sentencepiece import MAX_TRAINING_LINES, sample_key
from tfx_components.text_data_validator.text_statistics import example_text, is_blank

EXAMPLES_KEY = "examples"
VOCABULARY_KEY = "vocabulary"
TOKENIZER_KIND_KEY = "tokenizer_kind"
VOCAB_SIZE_KEY = "vocab_size"
TOKENIZER_OPTIONS_KEY = "tokenizer_options"
SPLIT_KEY = "split"
TEXT_FEATURE_KEY = "text_feature"
MAX_SENTENCEPIECE_LINES = MAX_TRAINING_LINES
NORMALIZATION = ("lowercase", "strip_html", "nfkc")
_COUNT_CODER = beam.coders.TupleCoder([beam.coders.BytesCoder(), beam.coders.VarIntCoder()])
_WORK_DIR = ".counts"  # inside the artifact while the pipeline runs; removed before the tokenizer is saved


def check_tokenizer_kind(kind):
    if kind not in TOKENIZERS:
        raise ValueError(f"unknown tokenizer kind {kind!r}; choose one of {sorted(TOKENIZERS)}")
    return kind


class CountUnits(beam.DoFn):
    """A batch of texts (bytes) -> (unit, count in the batch) pairs, by the kind's `counting_units` in TF."""

    def __init__(self, kind, normalization):
        self._kind, self._normalization = kind, dict(normalization)

    def setup(self):
        tokenizer_class = TOKENIZERS[self._kind]

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def count(texts):
            units, _, numbers = tf.unique_with_counts(tokenizer_class.counting_units(texts, **self._normalization))
            return units, numbers

        self._count = count

    def process(self, texts):
        units, numbers = self._count(tf.constant(texts, tf.string))
        yield from zip(units.numpy().tolist(), numbers.numpy().tolist())


class Executor(base_beam_executor.BaseBeamExecutor):
    """Learns the tokenizer named by `tokenizer_kind` with `vocab_size` from the `split` split (default train)."""

    def Do(self, input_dict, output_dict, exec_properties):  # noqa: N802 - TFX's method name
        self._log_startup(input_dict, output_dict, exec_properties)
        examples = artifact_utils.get_single_instance(input_dict[EXAMPLES_KEY])
        vocabulary = artifact_utils.get_single_instance(output_dict[VOCABULARY_KEY])
        kind = check_tokenizer_kind(exec_properties[TOKENIZER_KIND_KEY])
        vocab_size = exec_properties.get(VOCAB_SIZE_KEY) or None
        options = json.loads(exec_properties.get(TOKENIZER_OPTIONS_KEY) or "{}")
        split = exec_properties.get(SPLIT_KEY) or "train"
        feature = exec_properties.get(TEXT_FEATURE_KEY) or "text"
        available = artifact_utils.decode_split_names(examples.split_names)
        if split not in available:
            raise ValueError(f"examples have no split {split!r} (splits: {available})")

        split_uri = artifact_utils.get_split_uri([examples], split)
        print(f"VocabularyGen: learning a {kind} vocabulary of up to {vocab_size or 'the default number of'} "
              f"tokens from the {split} split ({split_uri}) ...", flush=True)
        tokenizer_class = TOKENIZERS[kind]
        work = os.path.join(vocabulary.uri, _WORK_DIR)
        if kind == "byte":
            tokenizer = train_tokenizer(kind, None, vocab_size, **options)
        elif tokenizer_class.learns_from_counts:
            normalization = {k: v for k, v in options.items() if k in NORMALIZATION}
            self._run(split_uri, feature, work, lambda texts: (
                texts
                | "Batch" >> beam.BatchElements(min_batch_size=64, max_batch_size=1024)
                | "CountInBatches" >> beam.ParDo(CountUnits(kind, normalization))
                | "SumPerUnit" >> beam.CombinePerKey(sum)
                | "WriteCounts" >> beam.io.WriteToTFRecord(os.path.join(work, "counts"), coder=_COUNT_CODER)))
            counts = dict(_read(work, "counts", _COUNT_CODER))
            vocabulary.set_int_custom_property("distinct_units", len(counts))
            if not counts:
                raise ValueError(f"cannot train a {kind} vocabulary: the {split} split ({split_uri}) holds no text")
            tokenizer = tokenizer_class.from_counts(counts, vocab_size, **options)
        else:  # sentencepiece: a deterministic sample of lines
            self._run(split_uri, feature, work, lambda texts: (
                texts
                | "Sample" >> beam.combiners.Top.Of(MAX_SENTENCEPIECE_LINES, key=sample_key, reverse=True)
                | "Lines" >> beam.FlatMap(lambda lines: sorted(lines, key=sample_key))
                | "WriteSample" >> beam.io.WriteToTFRecord(os.path.join(work, "lines"),
                                                          coder=beam.coders.BytesCoder())))
            lines = list(_read(work, "lines", beam.coders.BytesCoder()))
            vocabulary.set_int_custom_property("sampled_lines", len(lines))
            tokenizer = train_tokenizer(kind, tf.data.Dataset.from_tensor_slices(tf.constant(lines or [""], tf.string)),
                                        vocab_size, **options)
        shutil.rmtree(work, ignore_errors=True)
        tokenizer.save(vocabulary.uri)
        vocabulary.set_string_custom_property("tokenizer_kind", kind)
        vocabulary.set_int_custom_property("vocabulary_size", int(tokenizer.vocabulary_size))
        vocabulary.set_string_custom_property("trained_on_split", split)
        logging.info("VocabularyGen: %s tokenizer with %d entries written to %s", kind, tokenizer.vocabulary_size,
                     vocabulary.uri)

    def _run(self, split_uri, feature, work, learn):
        """One Beam pipeline: the split's non-blank texts, then `learn(texts)` (which writes under `work`)."""
        shutil.rmtree(work, ignore_errors=True)
        with self._make_beam_pipeline() as pipeline:
            texts = (
                pipeline
                | "ReadExamples" >> beam.io.ReadFromTFRecord(os.path.join(split_uri, "*"),
                                                             coder=beam.coders.BytesCoder())
                | "ExtractText" >> beam.Map(example_text, feature)
                | "DropBlank" >> beam.Filter(lambda text: not is_blank(text))
            )
            learn(texts)


def _read(work, prefix, coder):
    """The records Beam wrote under `work` with `prefix` (all shards), decoded with `coder`."""
    files = sorted(glob.glob(os.path.join(work, prefix + "*")))
    for record in tf.data.TFRecordDataset(files) if files else []:
        yield coder.decode(record.numpy())
