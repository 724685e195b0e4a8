"""An interpolated Kneser-Ney trigram language model over integer token ids: the classic n-gram baseline.

Interpolated Kneser-Ney as in Chen & Goodman (1998), one absolute discount per order, no TensorFlow:

    P3(w | a b) = max(c(a b w) - D3, 0) / c(a b .)  +  D3 * N1+(a b .) / c(a b .) * P2(w | b)
    P2(w | b)   = max(N1+(. b w) - D2, 0) / N1+(. b .)  +  D2 * T2(b) / N1+(. b .) * P1(w)
    P1(w)       = max(N1+(. w) - D1, 0) / N1+(. .)  +  D1 * T1 / N1+(. .) * 1 / V'

- c(a b w): how often the trigram occurs in the training sequence; c(a b .) = sum over w, N1+(a b .) = the
  number of distinct w after (a, b).
- The lower orders use continuation counts: N1+(. b w) = the number of distinct tokens a seen before the
  bigram (b, w) (N1+(. b .) their sum over w, T2(b) the number of w with N1+(. b w) > 0), and N1+(. w) = the
  number of distinct tokens seen before w (N1+(. .) their sum, T1 the number of w with N1+(. w) > 0).
- A context never seen in training backs off entirely: P3(w | a b) = P2(w | b) when c(a b .) = 0 and
  P2(w | b) = P1(w) when N1+(. b .) = 0.
- The recursion ends in the uniform distribution over the V' = V - len(excluded_ids) ids that can be targets,
  so every such id has a probability > 0 and each distribution sums to 1 over them. `excluded_ids` (default
  none) are ids that never occur as a target, such as `<pad>`: they get probability 0 and must not appear in
  the training ids. The WikiText-2 benchmark excludes the special ids the packed stream never holds.
- Discounts: D = n1 / (n1 + 2 n2) per order, from the count-of-counts of that order's counts (raw counts for
  trigrams, continuation counts below): n1, n2 = the number of n-grams with count 1 and 2. An order without
  a count-one n-gram (a toy corpus) gets D = 0.5. A fixed `discount` in (0, 1] overrides all three.
- Training data is one token sequence (e.g. a packed `<eos>`-separated stream). The first two positions have
  no full trigram window; the first token is counted only as a left neighbour, so it adds no continuation
  count of its own (a one-token boundary effect). Scoring likewise gives the first tokens of a scored sequence
  the shorter contexts they have: P1 for the first token, P2 for the second.

Example:
    >>> lm = KneserNeyTrigram(vocabulary_size=5).fit([1, 2, 3, 1, 2, 4, 1, 2, 3])
    >>> round(lm.prob(3, context=(1, 2)), 4), round(lm.perplexity([1, 2, 3]), 3)
"""
import collections
import math

import numpy as np

DEFAULT_DISCOUNT = 0.5  # for an order whose counts hold no singleton (n1 = 0 would give D = 0)


def estimate_discount(counts):
    """D = n1 / (n1 + 2 n2) from an iterable of n-gram counts (Chen & Goodman's estimate for one D)."""
    histogram = collections.Counter(counts)
    n1, n2 = histogram.get(1, 0), histogram.get(2, 0)
    return n1 / (n1 + 2 * n2) if n1 else DEFAULT_DISCOUNT


def _nested(pairs):
    """{(context, w): count} -> {context: {w: count}}, plus {context: (total count, distinct w)}."""
    table = collections.defaultdict(dict)
    for (context, w), count in pairs.items():
        table[context][w] = count
    totals = {context: (sum(followers.values()), len(followers)) for context, followers in table.items()}
    return dict(table), totals


class KneserNeyTrigram:
    """Interpolated Kneser-Ney trigram LM over ids in [0, vocabulary_size) (see the module docstring).

    Args:
        vocabulary_size: V, the number of ids.
        discount: a fixed discount in (0, 1] for every order; None estimates one per order from the counts.
        excluded_ids: ids that are never targets (probability 0, not allowed in the training ids).

    Example:
        >>> lm = KneserNeyTrigram(5, excluded_ids=[0]).fit([1, 2, 3, 1, 2, 4])
        >>> sum(lm.prob(w, (1, 2)) for w in range(5))  # 1.0
    """

    def __init__(self, vocabulary_size, discount=None, excluded_ids=()):
        if int(vocabulary_size) != vocabulary_size or vocabulary_size < 1:
            raise ValueError(f"vocabulary_size must be a positive integer, got {vocabulary_size!r}")
        if discount is not None and not 0.0 < discount <= 1.0:
            raise ValueError(f"discount must be in (0, 1] (or None to estimate it), got {discount!r}")
        self.vocabulary_size = int(vocabulary_size)
        self.excluded_ids = sorted({self._check_id(i, "excluded_ids") for i in excluded_ids})
        if len(self.excluded_ids) >= self.vocabulary_size:
            raise ValueError("excluded_ids must leave at least one id of the vocabulary")
        self.fixed_discount = discount
        self.discounts = None

    def _check_id(self, token, what):
        if isinstance(token, (bool, np.bool_)) or int(token) != token or not 0 <= token < self.vocabulary_size:
            raise ValueError(f"{what}: ids must be integers in [0, {self.vocabulary_size}), got {token!r}")
        return int(token)

    def _as_ids(self, ids, what, minimum):
        ids = np.asarray(ids)
        if ids.ndim != 1 or ids.size < minimum:
            raise ValueError(f"{what} must be a 1-D sequence of at least {minimum} ids, got shape {ids.shape}")
        in_range = np.issubdtype(ids.dtype, np.integer) and (ids.min() >= 0 and ids.max() < self.vocabulary_size)
        if not in_range:
            raise ValueError(f"{what}: ids must be integers in [0, {self.vocabulary_size})")
        return ids.astype(np.int64).tolist()

    def fit(self, ids):
        """Counts the trigrams of one training sequence (at least 3 ids) and the continuation counts below.

        Returns:
            self.
        """
        ids = self._as_ids(ids, "training ids", 3)
        bad = set(ids).intersection(self.excluded_ids)
        if bad:
            raise ValueError(f"training ids hold excluded id(s) {sorted(bad)}")
        trigrams = collections.Counter(zip(ids, ids[1:], ids[2:]))
        bigram_types = set(zip(ids, ids[1:]))
        continuation2 = collections.Counter((b, w) for _, b, w in trigrams)  # distinct a before (b, w)
        continuation1 = collections.Counter(w for _, w in bigram_types)  # distinct b before w
        self._tri, self._tri_totals = _nested({((a, b), w): c for (a, b, w), c in trigrams.items()})
        self._bi, self._bi_totals = _nested(continuation2)
        self._uni_total, self._uni_types = sum(continuation1.values()), len(continuation1)
        if self.fixed_discount is not None:
            self.discounts = (self.fixed_discount,) * 3
        else:
            self.discounts = tuple(estimate_discount(c.values()) for c in (continuation1, continuation2, trigrams))
        targets = self.vocabulary_size - len(self.excluded_ids)
        d1 = self.discounts[0]
        unigram = np.full(self.vocabulary_size, d1 * self._uni_types / self._uni_total / targets)
        for w, count in continuation1.items():
            unigram[w] += (count - d1) / self._uni_total
        unigram[self.excluded_ids] = 0.0
        self._unigram = unigram
        self._unigram_list = unigram.tolist()
        return self

    def _require_fit(self):
        if self.discounts is None:
            raise ValueError("the model is not fitted: call fit(ids) first")

    def _context(self, context):
        context = tuple(self._check_id(t, "context") for t in context)
        return context[-2:]

    def _p2(self, w, b):
        total = self._bi_totals.get(b)
        if total is None:
            return self._unigram_list[w]
        d = self.discounts[1]
        count = self._bi[b].get(w, 0)
        return (max(count - d, 0.0) + d * total[1] * self._unigram_list[w]) / total[0]

    def _p3(self, w, a, b):
        total = self._tri_totals.get((a, b))
        if total is None:
            return self._p2(w, b)
        d = self.discounts[2]
        count = self._tri[(a, b)].get(w, 0)
        return (max(count - d, 0.0) + d * total[1] * self._p2(w, b)) / total[0]

    def prob(self, token, context=()):
        """P(token | context): the last two ids of `context` are used; fewer give the lower orders."""
        self._require_fit()
        token = self._check_id(token, "token")
        context = self._context(context)
        if len(context) == 2:
            return self._p3(token, *context)
        if len(context) == 1:
            return self._p2(token, context[0])
        return self._unigram_list[token]

    def distribution(self, context=()):
        """The probabilities of every id after `context`: a float64 array of length V that sums to 1."""
        self._require_fit()
        context = self._context(context)
        probs = self._unigram.copy()
        levels = [(self._bi, self._bi_totals, context[-1], self.discounts[1])] if context else []
        if len(context) == 2:
            levels.append((self._tri, self._tri_totals, context, self.discounts[2]))
        for table, totals, key, d in levels:  # P1 -> P2(. | b) -> P3(. | a b)
            if key in totals:  # an unseen context backs off entirely: the lower order's distribution
                total, types = totals[key]
                probs *= d * types / total
                for w, count in table[key].items():
                    probs[w] += (count - d) / total
        return probs

    def log_probs(self, ids):
        """Natural-log probability of each id of `ids` given the (up to two) ids before it in `ids`."""
        self._require_fit()
        ids = self._as_ids(ids, "ids", 1)
        out = np.empty(len(ids))
        for i, w in enumerate(ids):
            if i >= 2:
                p = self._p3(w, ids[i - 2], ids[i - 1])
            elif i == 1:
                p = self._p2(w, ids[0])
            else:
                p = self._unigram_list[w]
            out[i] = math.log(p) if p > 0 else -math.inf
        return out

    def log_prob_sequence(self, ids):
        """Sum of `log_probs(ids)`: the natural-log probability of the whole sequence."""
        return float(self.log_probs(ids).sum())

    def perplexity(self, ids):
        """exp(-mean log probability) over every id of `ids` (an excluded id gives infinity)."""
        return float(np.exp(-self.log_probs(ids).mean()))
