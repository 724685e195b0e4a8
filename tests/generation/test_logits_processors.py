"""Repetition penalty, no-repeat n-grams, the nucleus, seeded noise and the sampling defaults, on hand-made
inputs checked against values worked out here."""
import numpy as np
import keras
import pytest
from keras import ops

from keras_llm.generation import Sampler
from keras_llm.generation.compiled import compile_function
from keras_llm.generation.logits_processors import (
    apply_repetition_penalty,
    constrain_logits,
    repeated_ngram_bans,
)
from keras_llm.generation.noise import seeded_uniform
from keras_llm.generation.samplers import default_kind, get
from keras_llm.tokenizers.special_tokens import EOS_ID, NUM_SPECIAL_TOKENS, UNK_ID

STRUCTURAL = set(range(NUM_SPECIAL_TOKENS)) - {UNK_ID}


def scalar(value):
    """A scalar tensor of the backend (a setting as a serving request passes it), not a Python number."""
    return ops.convert_to_tensor(value)


def test_repetition_penalty_changes_exactly_the_seen_tokens_by_the_formula():
    logits = np.array([[0.5, 1.0, -1.0, 2.0, 0.0, 0.0, 0.0, 3.0, -2.0, 4.0, 1.5, -0.5]], "float32")
    # <eos> prompt start, then 7 8 7 <unk> 10; position 6 (11) lies past index 5 and does not count yet.
    tokens = np.array([[EOS_ID, 7, 8, 7, UNK_ID, 10, 11]], "int32")
    got = ops.convert_to_numpy(apply_repetition_penalty(logits, tokens, 5, 2.0))[0]
    expected = logits[0].copy()
    expected[7], expected[8], expected[UNK_ID], expected[10] = 3.0 / 2, -2.0 * 2, 1.0 / 2, 1.5 / 2
    np.testing.assert_array_equal(got, expected)  # <eos> (3), 9 and 11 untouched; 7 penalized once
    tensor = ops.convert_to_numpy(constrain_logits(logits, tokens, scalar(5), scalar(2.0), scalar(0)))
    np.testing.assert_array_equal(tensor[0], expected)


def reference_bans(row, index, n, vocab):
    """Tokens that would complete, at index + 1, an n-gram already in row[: index + 1]."""
    seq = list(row[: index + 1])
    suffix = seq[len(seq) - (n - 1):] if n > 1 else []
    banned = set()
    for p in range(n - 1, index + 1):
        if seq[p - (n - 1): p] == suffix:
            banned.add(seq[p])
    return sorted(t for t in banned - STRUCTURAL if t < vocab)


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_no_repeat_ngram_bans_equal_a_brute_force_reference(n):
    rng = np.random.default_rng(n)
    vocab = 12
    # A motif repeated with random substitutions, so n-grams recur; <unk> (may be banned) and <eos> (never).
    ids = np.array([UNK_ID, EOS_ID, 7, 8, 9])
    tokens = np.tile(rng.choice(ids, size=(3, 4)), (1, 4))[:, :14]
    tokens = np.where(rng.random((3, 14)) < 0.15, rng.choice(ids, size=(3, 14)), tokens).astype("int32")
    tokens[:, 0] = EOS_ID
    compiled = compile_function(lambda t, i, size: repeated_ngram_bans(ops.zeros([3, vocab]), t, i, size),
                                jit_compile=True)
    found = 0
    for index in range(14):
        static = ops.convert_to_numpy(repeated_ngram_bans(np.zeros((3, vocab), "float32"), tokens, index, n))
        xla = ops.convert_to_numpy(compiled(tokens, scalar(index), scalar(n)))
        np.testing.assert_array_equal(static, xla)
        for b in range(3):
            expected = reference_bans(tokens[b], index, n, vocab)
            assert np.flatnonzero(static[b]).tolist() == expected, (n, index, b)
            found += len(expected)
    assert found >= 10  # the reference bans something at many positions


def test_constraints_that_are_off_change_nothing():
    logits = np.random.default_rng(0).normal(size=(2, 10)).astype("float32")
    tokens = np.array([[3, 7, 7, 7], [3, 8, 9, 8]], "int32")
    off = [(None, None), (1.0, 0), (scalar(1.0), scalar(0)), (scalar(-1.0), scalar(-2))]
    for penalty, size in off:
        np.testing.assert_array_equal(ops.convert_to_numpy(constrain_logits(logits, tokens, 3, penalty, size)), logits)
    banned = ops.convert_to_numpy(constrain_logits(logits, tokens, 3, None, 2))
    assert np.isneginf(banned[0, 7]) and np.isneginf(banned[1, 9])  # 7 7 and 8 9 seen; 8 -> 9 would repeat
    assert np.isfinite(banned[0, [0, 1, 2, 3, 4, 5, 6, 8, 9]]).all() and np.isfinite(banned[1, :9]).all()
    with pytest.raises(ValueError, match="repetition_penalty"):
        constrain_logits(logits, tokens, 3, 0.0, None)
    with pytest.raises(ValueError, match="no_repeat_ngram_size"):
        constrain_logits(logits, tokens, 3, None, -1)


@pytest.mark.parametrize("temperature", [1.0, 0.8])
def test_top_p_never_samples_outside_the_nucleus(temperature):
    probs = np.array([0.5, 0.2, 0.15, 0.1, 0.05], "float64")
    scaled = probs ** (1 / temperature) / (probs ** (1 / temperature)).sum()  # the nucleus is taken after T
    before = np.cumsum(scaled) - scaled
    nucleus = np.flatnonzero(before < 0.9)
    assert nucleus.tolist() == [0, 1, 2, 3] if temperature == 1.0 else len(nucleus) < 5
    logits = np.log(probs).astype("float32")[None].repeat(20000, axis=0)
    noise = ops.convert_to_numpy(seeded_uniform(1, 20000, seed=3))[0]
    draws = ops.convert_to_numpy(get("top_p", temperature=temperature)(logits, noise))
    assert set(draws.tolist()) == set(nucleus.tolist())
    kept = scaled[nucleus] / scaled[nucleus].sum()
    np.testing.assert_allclose(np.bincount(draws, minlength=5)[nucleus] / 20000, kept, atol=0.015)


def test_a_request_temperature_of_zero_or_below_is_greedy():
    logits = np.array([[0.0, 1.0, 0.9, 0.8]] * 256, "float32")
    noise = ops.convert_to_numpy(seeded_uniform(1, 256, seed=0))[0]
    sampler = Sampler("top_p", top_p=1.0)
    for temperature in (0.0, scalar(0.0), scalar(-1.0)):
        assert ops.convert_to_numpy(sampler(logits, noise, temperature)).tolist() == [1] * 256
    assert len(set(ops.convert_to_numpy(sampler(logits, noise, scalar(1.0))).tolist())) == 4
    narrow = ops.convert_to_numpy(sampler(logits, noise, scalar(1.0), top_p=scalar(0.5)))
    assert set(narrow.tolist()) == {1, 2}  # the request's top_p overrides the configured 1.0


def test_seeded_uniform_depends_only_on_seed_step_and_row():
    whole = ops.convert_to_numpy(seeded_uniform(6, 5, seed=7))
    chunk = ops.convert_to_numpy(seeded_uniform(4, 3, seed=7, row_offset=2))
    np.testing.assert_array_equal(chunk, whole[:4, 2:])
    if keras.backend.backend() == "tensorflow":  # a graph whose length is a tensor too (an exported signature's)
        graph = compile_function(lambda s, n: seeded_uniform(n, 5, s), jit_compile=True)(scalar(7), scalar(6))
    else:  # JAX traces static shapes: the length stays a Python int
        graph = compile_function(lambda s: seeded_uniform(6, 5, s))(scalar(7))
    np.testing.assert_array_equal(ops.convert_to_numpy(graph), whole)
    assert not np.array_equal(ops.convert_to_numpy(seeded_uniform(6, 5, seed=8)), whole)
    many = ops.convert_to_numpy(seeded_uniform(200, 100, seed=1))
    assert 0.0 <= many.min() and many.max() < 1.0 and abs(many.mean() - 0.5) < 0.01
    assert abs(np.corrcoef(many[:-1].ravel(), many[1:].ravel())[0, 1]) < 0.02  # steps are not correlated
    with pytest.raises(ValueError, match="seed"):
        seeded_uniform(2, 2, seed=-1)


def test_sampling_defaults():
    assert get("top_p").get_config() == {"kind": "top_p", "temperature": 0.8, "top_k": None, "top_p": 0.9}
    assert get("top_k", top_k=3).temperature == 0.8 and get("greedy").kind == "greedy"
    assert Sampler("temperature").temperature == 1.0  # a Sampler built directly keeps its own default
    assert default_kind() == "greedy"
    assert default_kind(seed=1) == default_kind(temperature=0.7) == default_kind(top_p=0.5) == "top_p"
    assert default_kind(top_k=4) == "top_k"
