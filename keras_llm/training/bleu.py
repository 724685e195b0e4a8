"""Corpus-level BLEU (Papineni et al., 2002) on token sequences, in plain Python.

Our own implementation of the standard definition, matching sacreBLEU's `corpus_bleu(..., tokenize="none")`
when both see the same tokens: clipped n-gram matches and n-gram totals are summed over the whole corpus
before the precisions are taken; with several references per hypothesis a hypothesis n-gram is clipped by
its largest count in any one reference, and the reference length is the one closest to the hypothesis length
(the shorter on ties). The score is on sacreBLEU's 0-100 scale.
"""
import collections
import math


def _ngram_counts(tokens, max_order):
    counts = collections.Counter()
    for order in range(1, max_order + 1):
        for start in range(len(tokens) - order + 1):
            counts[tuple(tokens[start : start + order])] += 1
    return counts


def _reference_list(references):
    """One hypothesis' references: a token sequence, or a sequence of token sequences."""
    references = list(references)
    if references and isinstance(references[0], (list, tuple)):
        return [list(reference) for reference in references]
    return [references]


def _closest_length(hypothesis_length, reference_lengths):
    return min(reference_lengths, key=lambda length: (abs(length - hypothesis_length), length))


def corpus_bleu(references, hypotheses, max_order=4, smooth=False):
    """BLEU of a corpus of tokenized hypotheses against their references, in `[0, 100]`.

    Args:
        references: one entry per hypothesis: its reference as a token list, or a list of several reference
            token lists. Tokens are any hashable values (strings, ids).
        hypotheses: list of hypothesis token lists.
        max_order: longest n-gram order (4 for BLEU-4).
        smooth: False: no smoothing, an order with no match makes the score 0 (sacreBLEU
            `smooth_method="none"`); True: the NIST "exp" smoothing (Chen & Cherry 2014, method 3; sacreBLEU's
            default `smooth_method="exp"`): the k-th order with no match gets precision `1 / (2^k * total)`.

    Returns:
        The BLEU score as a float: `brevity_penalty * exp(mean_n log p_n) * 100`.

    Example:
    >>> hypothesis = "the cat sat on the mat".split()
    >>> corpus_bleu([hypothesis], [hypothesis])
    100.0
    >>> round(corpus_bleu([["the", "cat", "sat", "on", "a", "mat"]], [hypothesis]), 2)
    53.73
    """
    references, hypotheses = list(references), list(hypotheses)
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} reference entries")
    if max_order < 1:
        raise ValueError(f"max_order must be >= 1, got {max_order}")
    correct = [0] * max_order
    total = [0] * max_order
    hypothesis_length = reference_length = 0
    for entry, hypothesis in zip(references, hypotheses):
        hypothesis = list(hypothesis)
        options = _reference_list(entry)
        clip = collections.Counter()
        for reference in options:
            for ngram, count in _ngram_counts(reference, max_order).items():
                clip[ngram] = max(clip[ngram], count)
        for ngram, count in _ngram_counts(hypothesis, max_order).items():
            total[len(ngram) - 1] += count
            correct[len(ngram) - 1] += min(count, clip[ngram])
        hypothesis_length += len(hypothesis)
        reference_length += _closest_length(len(hypothesis), [len(r) for r in options])

    if not any(correct):
        return 0.0
    log_precisions = []
    halvings = 1.0
    for order in range(max_order):
        if total[order] == 0:  # no hypothesis is this long: the precision is undefined, BLEU is 0
            return 0.0
        if correct[order]:
            log_precisions.append(math.log(correct[order] / total[order]))
        elif smooth:
            halvings *= 2.0
            log_precisions.append(math.log(1.0 / (halvings * total[order])))
        else:
            return 0.0
    brevity_penalty = 1.0
    if hypothesis_length < reference_length:
        brevity_penalty = math.exp(1.0 - reference_length / hypothesis_length)
    return 100.0 * brevity_penalty * math.exp(sum(log_precisions) / max_order)
