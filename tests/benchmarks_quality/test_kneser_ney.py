"""The Kneser-Ney trigram baseline of `benchmarks/wikitext2_quality.py` gives the hand-computed probabilities of
interpolated Kneser-Ney on a toy corpus, proper distributions over the vocabulary, and exp(mean NLL) perplexity.

Toy corpus (V = 5, id 0 never occurs):  4 2 1 3 2 1 3 4 3 3

Trigram counts c(a b w): (2 1 3) = 2; (4 2 1), (1 3 2), (3 2 1), (1 3 4), (3 4 3), (4 3 3) = 1.
    n1 = 6, n2 = 1 -> D3 = 6 / (6 + 2) = 3/4.
Bigram continuation counts N1+(. b w) (distinct a before (b, w)): (2 1) = 2 (a in {4, 3});
    (1 3), (3 2), (3 4), (4 3), (3 3) = 1.  n1 = 5, n2 = 1 -> D2 = 5 / 7.
    Per context b: b=2 {1: 2}; b=1 {3: 1}; b=3 {2: 1, 4: 1, 3: 1}; b=4 {3: 1}.
Unigram continuation counts N1+(. w) (distinct b before w), over the 7 bigram types 42 21 13 32 34 43 33:
    w=1: 1 ({2}), w=2: 2 ({4, 3}), w=3: 3 ({1, 4, 3}), w=4: 1 ({3}); N1+(. .) = 7, T1 = 4.
    n1 = 2, n2 = 1 -> D1 = 2 / (2 + 2) = 1/2.
    P1(w) = (N1+(. w) - 1/2) / 7 + (1/2) * 4/7 * 1/5, the last term = 2/35 = 4/70:
    P1(0) = 4/70, P1(1) = P1(4) = 5/70 + 4/70 = 9/70, P1(2) = 15/70 + 4/70 = 19/70, P1(3) = 25/70 + 4/70 = 29/70.
"""
import importlib.util
import math
from fractions import Fraction as F
from pathlib import Path

import numpy as np
import pytest

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "kneser_ney.py"
_SPEC = importlib.util.spec_from_file_location("kneser_ney", _PATH)
kneser_ney = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(kneser_ney)
KneserNeyTrigram = kneser_ney.KneserNeyTrigram

CORPUS = [4, 2, 1, 3, 2, 1, 3, 4, 3, 3]
P1 = {0: F(4, 70), 1: F(9, 70), 2: F(19, 70), 3: F(29, 70), 4: F(9, 70)}
D1, D2, D3 = F(1, 2), F(5, 7), F(3, 4)


@pytest.fixture(scope="module")
def lm():
    return KneserNeyTrigram(5).fit(CORPUS)


def close(value, fraction):
    return value == pytest.approx(float(fraction), rel=1e-12, abs=1e-15)


def test_discounts_come_from_the_count_of_counts(lm):
    assert lm.discounts == pytest.approx([float(D1), float(D2), float(D3)], rel=1e-12)
    assert KneserNeyTrigram(5, discount=0.3).fit(CORPUS).discounts == (0.3, 0.3, 0.3)


def test_unigram_continuation_distribution(lm):
    for w, p in P1.items():
        assert close(lm.prob(w), p)
    assert sum(P1.values()) == 1


def test_seen_trigram(lm):
    # c(2 1 3) = 2, c(2 1 .) = 2, N1+(2 1 .) = 1; the bigram (1 3): N1+(. 1 3) = 1 of N1+(. 1 .) = 1, T2(1) = 1.
    p2 = (1 - D2) / 1 + D2 * F(1, 1) * P1[3]  # = 2/7 + 29/98 = 57/98
    assert p2 == F(57, 98)
    p3 = (2 - D3) / 2 + D3 * F(1, 2) * p2  # = 5/8 + 171/784 = 661/784
    assert p3 == F(661, 784)
    assert close(lm.prob(3, context=(2, 1)), p3)


def test_unseen_trigram_with_a_seen_bigram(lm):
    # (1 3 3) never occurs; c(1 3 .) = 2 over N1+(1 3 .) = 2 followers; (3 3): N1+(. 3 3) = 1 of N1+(. 3 .) = 3.
    p2 = (1 - D2) / 3 + D2 * F(3, 3) * P1[3]  # = 2/21 + 29/98 = 115/294
    assert p2 == F(115, 294)
    p3 = 0 + D3 * F(2, 2) * p2  # = 115/392
    assert close(lm.prob(3, context=(1, 3)), p3)
    # The context (2 3) never occurs: P3(2 | 2 3) = P2(2 | 3) = (1 - 5/7) / 3 + 5/7 * P1(2) = 85/294.
    assert close(lm.prob(2, context=(2, 3)), (1 - D2) / 3 + D2 * P1[2])
    assert close(lm.prob(2, context=(2, 3)), F(85, 294))


def test_fully_unseen_context_and_unseen_word(lm):
    # b = 0 never occurs as a context: P(2 | 1 0) = P1(2) = 19/70.
    assert close(lm.prob(2, context=(1, 0)), P1[2])
    # The unseen word 0 after the seen context (4 2) gets only the interpolated mass of every order:
    # P2(0 | 2) = 0 + D2 * 1/2 * P1(0) = 1/49, P3(0 | 4 2) = 0 + D3 * 1/1 * 1/49 = 3/196.
    assert close(lm.prob(0, context=(4, 2)), D3 * D2 * F(1, 2) * P1[0])
    assert close(lm.prob(0, context=(4, 2)), F(3, 196))


def test_fixed_discount():
    lm = KneserNeyTrigram(5, discount=0.5).fit(CORPUS)
    # D = 1/2 everywhere: P1 as above (D1 was 1/2), P2(3 | 1) = 1/2 + 1/2 * 29/70, P3(3 | 2 1) = 3/4 + 1/4 * P2.
    p2 = F(1, 2) + F(1, 2) * P1[3]
    assert close(lm.prob(3, context=(2, 1)), (2 - F(1, 2)) / 2 + F(1, 2) * F(1, 2) * p2)
    assert close(lm.prob(3, context=(2, 1)), F(519, 560))


@pytest.mark.parametrize("context", [(), (1,), (3,), (0,), (2, 1), (1, 3), (2, 3), (4, 2), (0, 0), (4, 3, 3)])
def test_distributions_sum_to_one(lm, context):
    probs = [lm.prob(w, context) for w in range(5)]
    assert all(p > 0 for p in probs)
    assert abs(sum(probs) - 1.0) < 1e-9
    np.testing.assert_allclose(lm.distribution(context), probs, rtol=1e-12)


def test_excluded_ids_get_no_probability():
    lm = KneserNeyTrigram(5, excluded_ids=[0]).fit(CORPUS)
    # The uniform share goes to the 4 remaining ids: (1/2) * 4/7 * 1/4 = 1/14, so P1(3) = 5/14 + 1/14 = 3/7.
    assert close(lm.prob(3), F(3, 7))
    for context in [(), (2,), (2, 1), (0, 0)]:
        assert lm.prob(0, context) == 0.0
        assert abs(sum(lm.prob(w, context) for w in range(5)) - 1.0) < 1e-9
    with pytest.raises(ValueError, match="excluded id"):
        KneserNeyTrigram(5, excluded_ids=[4]).fit(CORPUS)


def test_perplexity_is_exp_of_mean_negative_log_prob(lm):
    sequence = [4, 2, 1, 3, 0, 3, 3]
    expected = [math.log(lm.prob(w, sequence[max(0, i - 2):i])) for i, w in enumerate(sequence)]
    np.testing.assert_allclose(lm.log_probs(sequence), expected, rtol=1e-12)
    assert lm.perplexity(sequence) == pytest.approx(math.exp(-sum(expected) / len(expected)), rel=1e-12)
    assert lm.log_prob_sequence(sequence) == pytest.approx(sum(expected), rel=1e-12)
    # The first tokens use shorter contexts: P1(2) * P2(1 | 2) * P3(3 | 2 1), P2(1 | 2) = (2 - D2) / 2 + D2 / 2 * P1(1).
    p2 = (2 - D2) / 2 + D2 * F(1, 2) * P1[1]
    assert p2 == F(135, 196)
    assert lm.perplexity([2, 1, 3]) == pytest.approx(float(P1[2] * p2 * F(661, 784)) ** (-1 / 3), rel=1e-12)


def test_bad_input_is_a_value_error(lm):
    with pytest.raises(ValueError, match="at least 3 ids"):
        KneserNeyTrigram(5).fit([1, 2])
    with pytest.raises(ValueError, match=r"integers in \[0, 5\)"):
        KneserNeyTrigram(5).fit([1, 2, 5])
    with pytest.raises(ValueError, match="discount"):
        KneserNeyTrigram(5, discount=1.5)
    with pytest.raises(ValueError, match="not fitted"):
        KneserNeyTrigram(5).prob(1)
    with pytest.raises(ValueError, match="context"):
        lm.prob(1, context=(7,))
