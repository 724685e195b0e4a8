"""corpus_bleu against sacreBLEU (tokenize="none") on random corpora."""
import numpy as np
import pytest
import sacrebleu

from keras_llm.training.bleu import corpus_bleu

WORDS = [f"w{i}" for i in range(12)]


def _corpus(seed, sentences=30, references=1):
    """Hypotheses that are noisy copies of their references (so every n-gram order has matches)."""
    rng = np.random.default_rng(seed)
    refs = [[list(rng.choice(WORDS, size=int(rng.integers(3, 15)))) for _ in range(sentences)]
            for _ in range(references)]
    hyps = []
    for reference in refs[0]:
        hyp = [w if rng.random() < 0.7 else str(rng.choice(WORDS)) for w in reference]
        if rng.random() < 0.3:
            hyp = hyp[: max(1, len(hyp) - int(rng.integers(1, 4)))]  # too short: brevity penalty
        elif rng.random() < 0.3:
            hyp = hyp + list(rng.choice(WORDS, size=int(rng.integers(1, 4))))
        hyps.append(hyp)
    return refs, hyps


def _sacrebleu(refs, hyps, smooth):
    return sacrebleu.corpus_bleu(
        [" ".join(h) for h in hyps], [[" ".join(r) for r in stream] for stream in refs], tokenize="none",
        smooth_method="exp" if smooth else "none", force=True,
    ).score


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("smooth", [False, True])
def test_matches_sacrebleu_on_random_corpora(seed, smooth):
    refs, hyps = _corpus(seed, references=1 + seed % 3)
    ours = corpus_bleu([list(r) for r in zip(*refs)], hyps, smooth=smooth)
    assert abs(ours - _sacrebleu(refs, hyps, smooth)) < 0.1
    if len(refs) == 1:  # a single reference may also be given as the token list itself
        assert corpus_bleu(refs[0], hyps, smooth=smooth) == ours


@pytest.mark.parametrize("smooth", [False, True])
def test_sparse_matches_and_short_hypotheses(smooth):
    rng = np.random.default_rng(7)
    refs = [[list(rng.choice(WORDS, size=int(rng.integers(2, 6)))) for _ in range(20)]]
    hyps = [list(rng.choice(WORDS, size=int(rng.integers(1, 5)))) for _ in range(20)]
    ours = corpus_bleu(refs[0], hyps, smooth=smooth)
    assert abs(ours - _sacrebleu(refs, hyps, smooth)) < 0.1
    assert (ours > 0) == smooth  # random text has no 4-gram match: 0 unless smoothed


def test_edge_cases():
    sentence = "the cat sat on the mat".split()
    assert corpus_bleu([sentence], [sentence]) == 100.0
    assert corpus_bleu([sentence], [["dog"]]) == 0.0
    assert corpus_bleu([sentence], [[]]) == 0.0
    assert corpus_bleu([[3, 4, 5, 6, 7]], [[3, 4, 5, 6, 7]], max_order=2) == 100.0  # ids work too
    ours = corpus_bleu([sentence, "a b c d e".split()], [sentence[:4], "a b c d".split()], max_order=2)
    theirs = sacrebleu.metrics.BLEU(tokenize="none", max_ngram_order=2, smooth_method="none").corpus_score(
        ["the cat sat on", "a b c d"], [["the cat sat on the mat", "a b c d e"]]).score
    assert abs(ours - theirs) < 1e-6
    with pytest.raises(ValueError, match="2 hypotheses but 1"):
        corpus_bleu([sentence], [sentence, sentence])
