"""tf.data input pipelines: text sources and task builders that `model.fit` takes directly."""
from keras_llm.data.cardinality import count_batches, with_known_cardinality
from keras_llm.data.causal_lm import causal_lm_dataset
from keras_llm.data.classification import classification_dataset
from keras_llm.data.masked_lm import mask_tokens, masked_lm_dataset
from keras_llm.data.packing import pack
from keras_llm.data.seq2seq import read_pairs, seq2seq_dataset
from keras_llm.data.sources import (
    csv_dataset,
    json_field,
    jsonl_dataset,
    load_texts,
    text_file_dataset,
    tfrecord_dataset,
)

__all__ = [
    "causal_lm_dataset", "classification_dataset", "count_batches", "csv_dataset", "json_field", "jsonl_dataset", "load_texts",
    "mask_tokens", "masked_lm_dataset", "pack", "read_pairs", "seq2seq_dataset", "text_file_dataset",
    "tfrecord_dataset", "with_known_cardinality",
]
