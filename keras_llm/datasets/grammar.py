"""Synthetic English-like corpora from a small probabilistic grammar.

The grammar (our own, see ``_lexicon.py`` for the ~570-token vocabulary)
produces lowercase sentences with punctuation as separate tokens, e.g.
``"the small dog who chases a red ball sleeps quietly in the garden ."``.
It covers subject-verb agreement, present and past tense, adjectives,
prepositional phrases, relative clauses (nested at most two deep),
yes/no questions and two-clause sentences joined by a conjunction.

Attachment rules keep every sentence unambiguous: prepositional phrases
modify subject noun phrases or intransitive verbs only, frequency adverbs
("often") stand right before their verb and manner adverbs ("quickly") right
after an intransitive verb. Each derivation is stored as a tree that can be
linearised in English order or in the word order of a made-up target language
(see :func:`grammar_translation_pairs`).
"""

import functools
import os

import numpy as np

from keras_llm.datasets import _lexicon as lx
from keras_llm.datasets._derivation import DerivationSampler, flatten
from keras_llm.datasets._pseudowords import pseudo_words

_LEXICON_SEED = 20240517


def _check_count(name, value):
    value = int(value)
    if value < 0:
        raise ValueError(f"{name} must be non-negative, got {value}.")
    return value


def grammar_vocabulary():
    """Returns the sorted list of every token the grammar can produce.

    Example:
        >>> "dog" in grammar_vocabulary() and "." in grammar_vocabulary()
        True
    """
    return sorted(set().union(*lx.word_classes().values()))


def grammar_sentences(num_sentences, seed=0):
    """Samples English-like sentences from the built-in grammar.

    Args:
        num_sentences: Number of sentences to return.
        seed: Seed of ``numpy.random.default_rng``; the same seed always gives
            the same sentences, and a shorter request is a prefix of a longer.

    Returns:
        A list of lowercase strings, tokens separated by single spaces, with
        punctuation as separate tokens.

    Example:
        >>> grammar_sentences(2, seed=0) == grammar_sentences(2, seed=0)
        True
    """
    generator = DerivationSampler(np.random.default_rng(seed))
    return [" ".join(flatten(generator.sentence(), 0, []))
            for _ in range(_check_count("num_sentences", num_sentences))]


def grammar_documents(num_documents, sentences_per_document=(3, 8), seed=0):
    """Samples documents made of several grammar sentences.

    Args:
        num_documents: Number of documents to return.
        sentences_per_document: ``(low, high)`` inclusive range of sentences per
            document (sampled uniformly), or a single int.
        seed: Seed of ``numpy.random.default_rng``.

    Returns:
        A list of strings, each the document's sentences joined by a space.

    Example:
        >>> docs = grammar_documents(3, sentences_per_document=(2, 4), seed=1)
        >>> len(docs)
        3
    """
    if isinstance(sentences_per_document, int):
        sentences_per_document = (sentences_per_document, sentences_per_document)
    low, high = (int(v) for v in sentences_per_document)
    if not 1 <= low <= high:
        raise ValueError(f"Invalid sentences_per_document {sentences_per_document}.")
    rng = np.random.default_rng(seed)
    generator = DerivationSampler(rng)
    documents = []
    for _ in range(_check_count("num_documents", num_documents)):
        count = int(rng.integers(low, high + 1))
        documents.append(" ".join(" ".join(flatten(generator.sentence(), 0, []))
                                  for _ in range(count)))
    return documents


def grammar_classification(num_examples, seed=0):
    """Synthetic binary sentiment classification data.

    Each text is one grammar sentence whose evaluative words (adjectives such
    as "wonderful"/"awful", verbs such as "loves"/"hates", adverbs such as
    "happily"/"sadly") lean towards the label: it always contains strictly
    more words of the label's polarity than of the opposite polarity
    (``keras_llm.datasets.POSITIVE_WORDS`` / ``NEGATIVE_WORDS``), so counting
    them predicts the label, while a few opposite words make it non-trivial.

    Args:
        num_examples: Number of examples.
        seed: Seed of ``numpy.random.default_rng``.

    Returns:
        ``(texts, labels)``: a list of strings and a list of ints (1 positive,
        0 negative). Labels are balanced (they differ in count by at most 1).

    Example:
        >>> texts, labels = grammar_classification(4, seed=0)
        >>> sorted(labels)
        [0, 0, 1, 1]
    """
    rng = np.random.default_rng(seed)
    count = _check_count("num_examples", num_examples)
    labels = [int(v) for v in rng.permutation(np.arange(count) % 2)]
    texts = []
    for label in labels:
        generator = DerivationSampler(rng, sentiment=label)
        own, other = (lx.POSITIVE_WORDS, lx.NEGATIVE_WORDS) if label else (
            lx.NEGATIVE_WORDS, lx.POSITIVE_WORDS)
        while True:
            words = flatten(generator.sentence(), 0, [])
            if sum(w in own for w in words) > sum(w in other for w in words):
                break
        texts.append(" ".join(words))
    return texts, labels


@functools.lru_cache(maxsize=1)
def _cached_lexicon():
    words = [w for w in grammar_vocabulary() if w not in lx.PUNCTUATION]
    targets = pseudo_words(len(words), seed=_LEXICON_SEED, exclude=words)
    lexicon = dict(zip(words, targets))
    lexicon.update({p: p for p in lx.PUNCTUATION})
    return lexicon


def translation_lexicon():
    """Returns the fixed English-word -> target-pseudo-word mapping.

    The mapping is one-to-one, built once from a fixed seed; punctuation maps
    to itself and no target word is an English vocabulary word.

    Example:
        >>> translation_lexicon()["."]
        '.'
    """
    return dict(_cached_lexicon())


def grammar_translation_pairs(num_pairs, seed=0):
    """Sentence pairs for a synthetic, exactly learnable translation task.

    The target is a made-up language: every source token is replaced through
    :func:`translation_lexicon` (so both sides have the same number of tokens)
    and words are reordered deterministically by the syntax tree:

    * noun phrases: determiner, noun, adjectives (in source order), then any
      prepositional phrase and relative clause;
    * prepositional phrases become postpositional: noun phrase, preposition;
    * verb phrases are verb-final: object, adverbs, verb (``adjective copula``
      for copular clauses); intransitive: phrase, manner adverb, adverb, verb;
    * yes/no questions move the auxiliary or copula to the end of the clause;
    * clause order, conjunctions, commas and final punctuation are kept.

    Because the grammar is unambiguous the target is a function of the source.

    Args:
        num_pairs: Number of pairs.
        seed: Seed of ``numpy.random.default_rng``; the sources equal
            ``grammar_sentences(num_pairs, seed)``.

    Returns:
        A list of ``(source, target)`` string tuples.

    Example:
        >>> src, tgt = grammar_translation_pairs(1, seed=0)[0]
        >>> len(src.split()) == len(tgt.split())
        True
    """
    lexicon = _cached_lexicon()
    generator = DerivationSampler(np.random.default_rng(seed))
    pairs = []
    for _ in range(_check_count("num_pairs", num_pairs)):
        tree = generator.sentence()
        source = " ".join(flatten(tree, 0, []))
        target = " ".join(lexicon[w] for w in flatten(tree, 1, []))
        pairs.append((source, target))
    return pairs


def write_corpus(lines, path):
    """Writes one item per line (utf-8, each line ending in a newline).

    Args:
        lines: Iterable of strings; a tuple/list item (e.g. a translation pair)
            is written as its fields joined by a tab.
        path: Destination file path; missing parent directories are created.

    Returns:
        The path written, as a string.

    Example:
        >>> import tempfile, os
        >>> p = write_corpus(["a b", "c"], os.path.join(tempfile.mkdtemp(), "x.txt"))
        >>> open(p, encoding="utf-8").read()
        'a b\\nc\\n'
    """
    items = ["\t".join(map(str, item)) if isinstance(item, (tuple, list)) else str(item)
             for item in lines]
    for item in items:
        if "\n" in item or "\r" in item:
            raise ValueError(f"Corpus lines must not contain newlines: {item!r}")
    path = os.fspath(path)
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for item in items:
            f.write(item + "\n")
    return path
