"""Built-in synthetic corpora (pure Python + numpy; no copied text).

* :mod:`keras_llm.datasets.grammar`: English-like sentences, documents,
  sentiment classification and a synthetic translation task from a small
  probabilistic grammar.
* :mod:`keras_llm.datasets.markov`: a Markov chain over pseudo-words whose
  entropy rate (best achievable perplexity) is known exactly.

Example:
    >>> from keras_llm.datasets import grammar_sentences, MarkovChainSource
    >>> len(grammar_sentences(2)), MarkovChainSource().num_states
    (2, 50)
"""

from keras_llm.datasets._lexicon import NEGATIVE_WORDS, POSITIVE_WORDS
from keras_llm.datasets._pseudowords import pseudo_words
from keras_llm.datasets.grammar import (
    grammar_classification,
    grammar_documents,
    grammar_sentences,
    grammar_translation_pairs,
    grammar_vocabulary,
    translation_lexicon,
    write_corpus,
)
from keras_llm.datasets.markov import MarkovChainSource

__all__ = [
    "MarkovChainSource",
    "NEGATIVE_WORDS",
    "POSITIVE_WORDS",
    "grammar_classification",
    "grammar_documents",
    "grammar_sentences",
    "grammar_translation_pairs",
    "grammar_vocabulary",
    "pseudo_words",
    "translation_lexicon",
    "write_corpus",
]
