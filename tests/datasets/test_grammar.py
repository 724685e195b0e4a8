"""Tests for keras_llm.datasets.grammar (pure Python + numpy)."""

import collections
import os

import pytest

from keras_llm.datasets import (
    NEGATIVE_WORDS,
    POSITIVE_WORDS,
    grammar_classification,
    grammar_documents,
    grammar_sentences,
    grammar_translation_pairs,
    grammar_vocabulary,
    translation_lexicon,
    write_corpus,
)
from keras_llm.datasets import _lexicon


def test_sentences_deterministic_and_seed_dependent():
    a = grammar_sentences(200, seed=3)
    assert a == grammar_sentences(200, seed=3)
    assert grammar_sentences(50, seed=3) == a[:50]
    b = grammar_sentences(200, seed=4)
    assert sum(x != y for x, y in zip(a, b)) > 150


def test_sentences_well_formed_and_in_vocabulary():
    vocab = set(grammar_vocabulary())
    assert 300 <= len(vocab) <= 1000
    sentences = grammar_sentences(2000, seed=0)
    used = set()
    for sentence in sentences:
        assert sentence and sentence == sentence.strip() and "  " not in sentence
        assert sentence == sentence.lower()
        tokens = sentence.split(" ")
        assert len(tokens) >= 3 and tokens[-1] in {".", "!", "?"}
        assert not set(tokens) - vocab, set(tokens) - vocab
        used.update(tokens)
    assert len(used) > 0.8 * len(vocab)  # the grammar really exercises its lexicon
    assert len(set(sentences)) > 1900  # diverse
    lengths = [len(s.split()) for s in sentences]
    assert 6 <= sum(lengths) / len(lengths) <= 20 and max(lengths) < 80


def test_grammar_features_present():
    text = " ".join(grammar_sentences(1000, seed=1)).split()
    counts = collections.Counter(text)
    for feature in ["who", "that", "?", ",", "an", "is", "were", "did"]:
        assert counts[feature] > 0, feature


def test_subject_verb_agreement():
    verbs = (_lexicon.NEUTRAL_TRANSITIVE_VERBS + _lexicon.POSITIVE_TRANSITIVE_VERBS
             + _lexicon.NEGATIVE_TRANSITIVE_VERBS + _lexicon.INTRANSITIVE_VERBS)
    third = {v[0] for v in verbs} | {"is", "was", "does"}
    plural = {v[1] for v in verbs if v[1] != v[2]} | {"are", "were", "do"}
    singular_subjects = {"he", "she"} | set(_lexicon.NAMES)
    checked = 0
    for sentence in grammar_sentences(4000, seed=2):
        tokens = sentence.split()
        # Sentence-initial pronoun or name subjects are directly followed by
        # their verb (or a frequency adverb).
        i = 2 if tokens[1] in _lexicon.FREQUENCY_ADVERBS else 1
        if tokens[0] in singular_subjects and tokens[i] in third | plural:
            assert tokens[i] in third, sentence
            checked += 1
        if tokens[0] == "they" and tokens[i] in third | plural:
            assert tokens[i] in plural, sentence
            checked += 1
        if tokens[0] in {"does", "did", "do"}:  # questions use the base form
            assert not set(tokens) & {v[0] for v in verbs} - {"does"} or "who" in tokens, sentence
    assert checked > 200


def test_a_an_rule():
    for sentence in grammar_sentences(3000, seed=5):
        tokens = sentence.split()
        for det, nxt in zip(tokens, tokens[1:]):
            if det == "a":
                assert nxt[0] not in "aeiou", sentence
            if det == "an":
                assert nxt[0] in "aeiou", sentence


def test_word_classes_disjoint():
    classes = _lexicon.word_classes()
    seen = {}
    for name, words in classes.items():
        for word in words:
            assert word not in seen, (word, seen.get(word), name)
            seen[word] = name
    assert not POSITIVE_WORDS & NEGATIVE_WORDS


def test_documents():
    docs = grammar_documents(100, sentences_per_document=(3, 8), seed=0)
    assert docs == grammar_documents(100, sentences_per_document=(3, 8), seed=0)
    assert docs != grammar_documents(100, sentences_per_document=(3, 8), seed=1)
    counts = [sum(t in {".", "!", "?"} for t in d.split()) for d in docs]
    assert min(counts) == 3 and max(counts) == 8
    assert grammar_documents(5, sentences_per_document=2, seed=0)
    with pytest.raises(ValueError):
        grammar_documents(2, sentences_per_document=(4, 2))


def test_classification_balanced_and_learnable():
    texts, labels = grammar_classification(2000, seed=0)
    assert (texts, labels) == grammar_classification(2000, seed=0)
    assert texts != grammar_classification(2000, seed=1)[0]
    assert len(texts) == len(labels) == 2000 and set(labels) == {0, 1}
    assert 0.4 <= sum(labels) / len(labels) <= 0.6
    correct = 0
    for text, label in zip(texts, labels):
        tokens = text.split()
        score = sum(t in POSITIVE_WORDS for t in tokens) - sum(t in NEGATIVE_WORDS for t in tokens)
        correct += int((score > 0) == bool(label))
    assert correct / len(texts) > 0.95
    # Not trivially separable by a single fixed word.
    vocab = set(grammar_vocabulary())
    assert all(set(t.split()) <= vocab for t in texts)
    mixed = sum(any(w in NEGATIVE_WORDS for w in t.split()) for t, y in zip(texts, labels) if y)
    assert mixed > 0


def test_translation_pairs_deterministic_and_aligned():
    pairs = grammar_translation_pairs(1500, seed=0)
    assert pairs == grammar_translation_pairs(1500, seed=0)
    assert [s for s, _ in pairs] == grammar_sentences(1500, seed=0)
    lexicon = translation_lexicon()
    assert len(set(lexicon.values())) == len(lexicon)  # one-to-one
    english = set(grammar_vocabulary())
    assert not {v for k, v in lexicon.items() if k not in {".", ",", "?", "!"}} & english
    inverse = {v: k for k, v in lexicon.items()}
    reordered = 0
    mapping = {}
    for source, target in pairs:
        src, tgt = source.split(), target.split()
        assert len(src) == len(tgt)
        assert sorted(inverse[t] for t in tgt) == sorted(src)
        assert tgt[-1] == src[-1]
        reordered += [inverse[t] for t in tgt] != src
        assert mapping.setdefault(source, target) == target  # a function of the source
    assert reordered > 0.7 * len(pairs)
    # Some short sources repeat, so the functional check above is exercised.
    assert len(mapping) < len(pairs)


def test_translation_reordering_rules():
    lexicon = translation_lexicon()
    classes = _lexicon.word_classes()
    verbs = classes["verb"] | classes["copula"]
    dets, adjs, nouns = classes["determiner"], classes["adjective"], classes["noun"]
    checked_verbs = checked_adjs = 0
    for source, target in grammar_translation_pairs(3000, seed=7):
        src, tgt = source.split(), target.split()
        simple = src[-1] in {".", "!"} and not {",", "who", "that"} & set(src)
        if simple:  # one clause: the verb (or copula) comes last in the target
            (verb,) = [w for w in src if w in verbs]
            assert tgt[-2] == lexicon[verb], (source, target)
            checked_verbs += 1
        joined = " " + target + " "
        for a, b, c in zip(src, src[1:], src[2:]):
            if a in dets and b in adjs and c in nouns:  # det adj noun -> det noun adj
                assert f" {lexicon[a]} {lexicon[c]} {lexicon[b]} " in joined, (source, target)
                checked_adjs += 1
    assert checked_verbs > 300 and checked_adjs > 300


def test_write_corpus(tmp_path):
    path = write_corpus(["the dog sleeps .", "a cat runs ."], tmp_path / "sub" / "c.txt")
    with open(path, "rb") as f:
        assert f.read() == b"the dog sleeps .\na cat runs .\n"
    pair_path = write_corpus(grammar_translation_pairs(3), os.path.join(tmp_path, "p.tsv"))
    with open(pair_path, encoding="utf-8") as f:
        rows = f.read().split("\n")
    assert rows[-1] == "" and all(len(r.split("\t")) == 2 for r in rows[:-1])
    with pytest.raises(ValueError):
        write_corpus(["bad\nline"], tmp_path / "x.txt")
