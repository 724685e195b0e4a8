"""Tests for keras_llm.datasets.markov: exact figures vs. samples."""

import numpy as np
import pytest

from keras_llm.datasets import MarkovChainSource

SPECIAL = {"<pad>", "<unk>", "<bos>", "<eos>", "<mask>", "<cls>", "<sep>"}


@pytest.fixture(scope="module")
def source():
    return MarkovChainSource(num_states=50, branching=8, end_probability=0.1, seed=0)


@pytest.fixture(scope="module")
def tokens(source):
    return source.sample_tokens(300_000, seed=123)


def test_vocabulary(source):
    vocab = source.vocabulary
    assert len(vocab) == 50 and len(set(vocab)) == 50
    assert all(w.isalpha() and w.islower() and len(w) >= 3 for w in vocab)
    assert not set(vocab) & SPECIAL
    big = MarkovChainSource(num_states=3000, branching=5, seed=1).vocabulary
    assert len(set(big)) == 3000 and not set(big) & SPECIAL


def test_determinism_and_seeds(source):
    other = MarkovChainSource(seed=0)
    np.testing.assert_array_equal(source.transition_matrix, other.transition_matrix)
    assert source.vocabulary == other.vocabulary
    assert source.sample_lines(20, seed=5) == other.sample_lines(20, seed=5)
    assert source.sample_lines(20, seed=5) != source.sample_lines(20, seed=6)
    different = MarkovChainSource(seed=1)
    assert not np.allclose(source.transition_matrix, different.transition_matrix)
    assert source.entropy_rate != different.entropy_rate


def test_transition_matrix_structure(source):
    p = source.transition_matrix
    n = source.num_states
    assert p.shape == (n + 1, n + 1) and source.end_index == n
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
    assert (p >= 0).all()
    assert p[n, n] == 0.0  # END never follows END: no empty lines
    np.testing.assert_allclose(p[:n, n], 0.1)
    assert ((p[:n, :n] > 0).sum(axis=1) == 8).all()
    assert (p[n, :n] > 0).all()
    with pytest.raises(ValueError):
        p[0, 0] = 1.0  # read-only


def test_stationary_distribution(source):
    pi = source.stationary_distribution
    p = source.transition_matrix
    np.testing.assert_allclose(pi @ p, pi, atol=1e-12)
    assert abs(pi.sum() - 1.0) < 1e-12 and (pi > 0).all()
    # Every word ends a line with probability 0.1, so pi_END = 0.1 * (1 - pi_END).
    assert abs(pi[-1] - 0.1 / 1.1) < 1e-12
    assert abs(source.mean_line_length - 10.0) < 1e-9


def test_entropy_rate_formula(source):
    p, pi = source.transition_matrix, source.stationary_distribution
    manual = 0.0
    for i in range(p.shape[0]):
        for j in range(p.shape[1]):
            if p[i, j] > 0:
                manual -= pi[i] * p[i, j] * np.log(p[i, j])
    assert abs(source.entropy_rate - manual) < 1e-10
    assert abs(source.best_perplexity - np.exp(manual)) < 1e-8
    assert 0 < source.entropy_rate < np.log(8 + 1) + 1e-9 + pi[-1] * np.log(50)
    assert source.entropy_rate_with_extra_tokens(0) == source.entropy_rate
    assert source.entropy_rate_with_extra_tokens(1) < source.entropy_rate


def test_lines(source):
    lines = source.sample_lines(5000, seed=0)
    assert len(lines) == 5000 and all(lines)
    vocab = set(source.vocabulary)
    words = [w for line in lines for w in line.split(" ")]
    assert set(words) <= vocab
    mean = len(words) / len(lines)
    assert abs(mean - source.mean_line_length) < 0.5


def test_empirical_transitions_match(source, tokens):
    size = source.num_states + 1
    prev = np.concatenate([[source.end_index], tokens[:-1]])
    counts = np.zeros((size, size))
    np.add.at(counts, (prev, tokens), 1)
    visits = counts.sum(axis=1)
    well = visits >= 3000
    assert well.sum() > 0.6 * size and well[-1]
    empirical = counts[well] / visits[well, None]
    assert np.abs(empirical - source.transition_matrix[well]).max() < 0.02
    # Transitions with zero probability never occur.
    assert counts[source.transition_matrix == 0].sum() == 0
    # Visit frequencies agree with the stationary distribution.
    assert np.abs(visits / visits.sum() - source.stationary_distribution).max() < 0.005


def test_empirical_nll_matches_entropy_rate(source, tokens):
    nll = source.negative_log_likelihood(tokens)
    assert abs(nll - source.entropy_rate) / source.entropy_rate < 0.02
    # Same number computed directly from P (counting END tokens).
    p = source.transition_matrix
    prev = np.concatenate([[source.end_index], tokens[:-1]])
    assert abs(-np.mean(np.log(p[prev, tokens])) - nll) < 1e-12


def test_unigram_model_is_worse(source, tokens):
    half = len(tokens) // 2
    freq = np.bincount(tokens[:half], minlength=source.num_states + 1) + 1.0
    freq /= freq.sum()
    unigram_ce = -np.mean(np.log(freq[tokens[half:]]))
    assert unigram_ce > source.entropy_rate + 0.3
    assert source.negative_log_likelihood(tokens[half:], previous=tokens[half - 1]) < unigram_ce


def test_sample_tokens_and_decode(source):
    t = source.sample_tokens(1000, seed=9)
    assert t.dtype == np.int64 and t.shape == (1000,)
    np.testing.assert_array_equal(t, source.sample_tokens(1000, seed=9))
    assert (t >= 0).all() and (t <= source.end_index).all()
    ends = np.flatnonzero(t == source.end_index)
    assert (np.diff(ends) > 1).all()
    text = source.decode(t[: ends[0] + 1], eos_token="<eos>")
    assert text.split()[-1] == "<eos>" and len(text.split()) == ends[0] + 1


@pytest.mark.parametrize("kwargs", [
    dict(num_states=1), dict(branching=0), dict(num_states=5, branching=6),
    dict(end_probability=0.0), dict(end_probability=1.0),
])
def test_invalid_arguments(kwargs):
    with pytest.raises(ValueError):
        MarkovChainSource(**kwargs)


def test_small_branching_chain():
    source = MarkovChainSource(num_states=5, branching=1, end_probability=0.3, seed=2)
    np.testing.assert_allclose(source.stationary_distribution @ source.transition_matrix,
                               source.stationary_distribution, atol=1e-12)
    tokens = source.sample_tokens(100_000, seed=0)
    nll = source.negative_log_likelihood(tokens)
    assert abs(nll - source.entropy_rate) < 0.02 * source.entropy_rate
