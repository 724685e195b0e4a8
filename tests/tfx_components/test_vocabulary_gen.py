"""VocabularyGen executor without a pipeline: the artifact is a tokenizer directory that loads and tokenizes."""
import json

import pytest

pytest.importorskip("tfx")
pytestmark = pytest.mark.tfx

from tfx import types  # noqa: E402
from tfx.types import standard_artifacts  # noqa: E402

import tensorflow as tf  # noqa: E402

from keras_llm.tokenizers import load_tokenizer, special_tokens, train_tokenizer  # noqa: E402
from keras_llm.tokenizers.sentencepiece import sample_key  # noqa: E402
from tfx_components.artifact_types import Vocabulary  # noqa: E402
from tfx_components.vocabulary_gen import Executor, VocabularyGen  # noqa: E402


def run_vocabulary_gen(tmp_path, examples, beam_pipeline_args=None, **exec_properties):
    vocabulary = Vocabulary()
    vocabulary.uri = str(tmp_path / "vocabulary")
    context = Executor.Context(beam_pipeline_args=beam_pipeline_args) if beam_pipeline_args else None
    Executor(context).Do({"examples": [examples]}, {"vocabulary": [vocabulary]}, exec_properties)
    return vocabulary


@pytest.mark.parametrize("kind,size,options", [("word", 300, {}), ("wordpiece", 300, {"lowercase": True}),
                                               ("bpe", 400, {}), ("sentencepiece", 200, {})])
def test_beam_counting_learns_what_train_learns_from_the_same_texts(tmp_path, write_examples, clean_documents,
                                                                    kind, size, options):
    """The units are counted by a Beam combiner over shards; the vocabulary learned from the merged counts
    (or, for SentencePiece, from the sampled lines: all of them here) equals `train` on the split's texts."""
    texts = [doc.upper() if i % 3 == 0 else doc for i, doc in enumerate(clean_documents[:160])] + ["  ", ""]
    examples = write_examples(train=texts, eval=clean_documents[160:])
    vocabulary = run_vocabulary_gen(tmp_path, examples, tokenizer_kind=kind, vocab_size=size,
                                    tokenizer_options=json.dumps(options) if options else None)
    from_beam = load_tokenizer(vocabulary.uri)
    lines = [t for t in texts if t.strip()]
    if kind == "sentencepiece":  # it learns from the sampled lines, in sample-key order
        lines.sort(key=lambda t: sample_key(t.encode()))
    direct = train_tokenizer(kind, tf.data.Dataset.from_tensor_slices(lines), size, **options)
    assert from_beam.get_vocabulary() == direct.get_vocabulary()
    assert not (tmp_path / "vocabulary" / ".counts").exists()
    assert from_beam.tokenize(clean_documents[:5]).to_list() == direct.tokenize(clean_documents[:5]).to_list()


@pytest.mark.slow
def test_beam_counting_on_two_worker_processes_equals_in_process(tmp_path, write_examples, clean_documents):
    examples = write_examples(train=clean_documents[:200], eval=clean_documents[200:])
    here = run_vocabulary_gen(tmp_path / "here", examples, tokenizer_kind="bpe", vocab_size=400)
    two = run_vocabulary_gen(tmp_path / "two", examples, tokenizer_kind="bpe", vocab_size=400,
                             beam_pipeline_args=["--direct_running_mode=multi_processing", "--direct_num_workers=2"])
    assert load_tokenizer(two.uri).get_merges() == load_tokenizer(here.uri).get_merges()
    assert two.get_int_custom_property("distinct_units") == here.get_int_custom_property("distinct_units") > 0


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
