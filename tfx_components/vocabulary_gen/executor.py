"""Executor of `VocabularyGen`: trains a keras_llm tokenizer on one split of `Examples`.

The output `Vocabulary` artifact's directory is exactly what `Tokenizer.save(dir)` writes; the trainer and the
exporter load it with `keras_llm.tokenizers.load_tokenizer(artifact.uri)`. Custom properties:
`tokenizer_kind`, `vocabulary_size`, `trained_on_split`.
"""
import json

from absl import logging
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils

from keras_llm.data import tfrecord_dataset
from keras_llm.tokenizers import TOKENIZERS, train_tokenizer

EXAMPLES_KEY = "examples"
VOCABULARY_KEY = "vocabulary"
TOKENIZER_KIND_KEY = "tokenizer_kind"
VOCAB_SIZE_KEY = "vocab_size"
TOKENIZER_OPTIONS_KEY = "tokenizer_options"
SPLIT_KEY = "split"
TEXT_FEATURE_KEY = "text_feature"


def check_tokenizer_kind(kind):
    if kind not in TOKENIZERS:
        raise ValueError(f"unknown tokenizer kind {kind!r}; choose one of {sorted(TOKENIZERS)}")
    return kind


class Executor(base_executor.BaseExecutor):
    """Trains the tokenizer named by `tokenizer_kind` with `vocab_size` on the `split` split (default train)."""

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
        corpus = tfrecord_dataset(split_uri, feature=feature)
        tokenizer = train_tokenizer(kind, corpus, vocab_size, **options)
        tokenizer.save(vocabulary.uri)
        vocabulary.set_string_custom_property("tokenizer_kind", kind)
        vocabulary.set_int_custom_property("vocabulary_size", int(tokenizer.vocabulary_size))
        vocabulary.set_string_custom_property("trained_on_split", split)
        logging.info("VocabularyGen: %s tokenizer with %d entries written to %s", kind, tokenizer.vocabulary_size,
                     vocabulary.uri)
