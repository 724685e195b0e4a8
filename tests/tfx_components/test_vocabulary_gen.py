"""VocabularyGen executor without a pipeline: the artifact is a tokenizer directory that loads and tokenizes."""
import json

import pytest

pytest.importorskip("tfx")
pytestmark = pytest.mark.tfx

from tfx import types  # noqa: E402
from tfx.types import standard_artifacts  # noqa: E402

from keras_llm.tokenizers import load_tokenizer, special_tokens  # noqa: E402
from tfx_components.artifact_types import Vocabulary  # noqa: E402
from tfx_components.vocabulary_gen import Executor, VocabularyGen  # noqa: E402


def run_vocabulary_gen(tmp_path, examples, **exec_properties):
    vocabulary = Vocabulary()
    vocabulary.uri = str(tmp_path / "vocabulary")
    Executor().Do({"examples": [examples]}, {"vocabulary": [vocabulary]}, exec_properties)
    return vocabulary


def test_word_vocabulary_is_trained_on_the_train_split_only(tmp_path, write_examples, clean_documents):
    examples = write_examples(train=clean_documents[:160], eval=["zebraword only in eval"] * 5)
    vocabulary = run_vocabulary_gen(tmp_path, examples, tokenizer_kind="word", vocab_size=500, split="train")

    tokenizer = load_tokenizer(vocabulary.uri)
    assert vocabulary.get_string_custom_property("tokenizer_kind") == "word"
    assert vocabulary.get_int_custom_property("vocabulary_size") == tokenizer.vocabulary_size <= 500
    known = tokenizer.tokenize([clean_documents[0]]).flat_values.numpy()
    assert len(known) == len(clean_documents[0].split()) and special_tokens.UNK_ID not in known
    assert tokenizer.tokenize(["zebraword"]).flat_values.numpy().tolist() == [special_tokens.UNK_ID]


def test_wordpiece_with_options_and_byte_without_vocab_size(tmp_path, write_examples, clean_documents):
    examples = write_examples(train=[doc.upper() for doc in clean_documents[:160]], eval=clean_documents[160:])
    wordpiece = run_vocabulary_gen(tmp_path / "wp", examples, tokenizer_kind="wordpiece", vocab_size=300,
                                   tokenizer_options=json.dumps({"lowercase": True}))
    tokenizer = load_tokenizer(wordpiece.uri)
    assert tokenizer.lowercase
    ids = tokenizer.tokenize([clean_documents[1]]).flat_values.numpy()
    assert special_tokens.UNK_ID not in ids
    assert tokenizer.detokenize_one(ids).split() == clean_documents[1].lower().split()

    byte = run_vocabulary_gen(tmp_path / "byte", examples, tokenizer_kind="byte")
    byte_tokenizer = load_tokenizer(byte.uri)  # keep a reference: tf.function methods hold `self` weakly
    assert byte_tokenizer.tokenize(["hé"]).flat_values.shape[0] == 3


def test_missing_split_and_bad_arguments_are_errors(tmp_path, write_examples, clean_documents):
    examples = write_examples(train=clean_documents[:10])
    with pytest.raises(ValueError, match="no split 'eval'"):
        run_vocabulary_gen(tmp_path, examples, tokenizer_kind="word", vocab_size=50, split="eval")
    channel = types.Channel(type=standard_artifacts.Examples)
    with pytest.raises(ValueError, match="vocab_size"):
        VocabularyGen(examples=channel, tokenizer_kind="word")
    with pytest.raises(ValueError, match="unknown tokenizer kind"):
        VocabularyGen(examples=channel, tokenizer_kind="unigram", vocab_size=10)
    component = VocabularyGen(examples=channel, tokenizer_kind="sentencepiece", vocab_size=64,
                              tokenizer_options={"lowercase": True})
    assert component.exec_properties["tokenizer_options"] == '{"lowercase": true}'
    assert component.outputs["vocabulary"].type_name == "keras_llm.Vocabulary"
