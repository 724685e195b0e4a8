import keras
import numpy as np
import pytest
from keras import ops
from lm_fixtures import LONG_PROMPTS, PATTERN, make_model, trained_model, word_tokenizer

from keras_llm.generation import Sampler, TextGenerator, inverse_cdf_sample
from keras_llm.generation.decoding import (
    PREFILL_CHUNK,
    SUPPRESSED_IDS,
    Decoder,
    attention_windows,
    generate_ids,
    prefill,
)
from keras_llm.tokenizers.special_tokens import EOS_ID

KINDS = ["transformer", "lstm", "gru"]


# The uncached references pad every forward pass to one width: a single input shape, for a predict function
# compiled once (eager JAX compiles each op per shape, and a recurrent layer's scan at every call: growing
# prefixes took a minute per test).
FORWARD_WIDTH = 48


def last_logits(model, ids):
    """The logits after `ids` from a full forward pass (float32 `[vocab]`). The row is right-padded: later
    positions cannot change a causal model's logits at `len(ids) - 1`."""
    row = np.zeros((1, max(FORWARD_WIDTH, len(ids))), "int32")
    row[0, : len(ids)] = ids
    return np.asarray(model.predict_on_batch(row))[0, len(ids) - 1].astype("float32")


def naive_greedy(model, prompt, steps):
    """Uncached reference: run the whole prefix through the model at every step."""
    ids = list(prompt)
    for _ in range(steps):
        logits = last_logits(model, ids)
        logits[list(SUPPRESSED_IDS)] = -np.inf
        nxt = int(np.argmax(logits))
        ids.append(nxt)
        if nxt == EOS_ID:
            break
    return ids[len(prompt):]


@pytest.mark.parametrize("kind", KINDS)
def test_cached_decoding_equals_uncached(kind):
    tok = word_tokenizer()
    model = make_model(kind, tok.vocabulary_size, seed=1)
    generator = TextGenerator(model, tok)
    prompts = ["the dog", "one two three four", ""]
    got = generator.generate_ids(prompts, max_new_tokens=12)
    for prompt, ids in zip(prompts, got):
        expected = naive_greedy(model, [EOS_ID] + tok(prompt).numpy().tolist(), 12)
        assert ids == [t for t in expected if t != EOS_ID]


@pytest.mark.parametrize("kind", KINDS)
def test_prefilled_long_prompts_decode_like_uncached(kind):
    tok = word_tokenizer()
    model = make_model(kind, tok.vocabulary_size, seed=4)
    generator = TextGenerator(model, tok)
    got = generator.generate_ids(LONG_PROMPTS, max_new_tokens=8)
    assert generator.generate_ids(LONG_PROMPTS, max_new_tokens=8, sampler="beam", beam_width=1) == got
    for prompt, ids in zip(LONG_PROMPTS, got):
        expected = naive_greedy(model, [EOS_ID] + tok(prompt).numpy().tolist(), 8)
        assert ids == [t for t in expected if t != EOS_ID]


@pytest.mark.parametrize("kind", ["transformer", "lstm"])
def test_prefill_feeds_whole_chunks_and_leaves_the_state_of_single_steps(kind):
    tok = word_tokenizer()
    decoder = Decoder(make_model(kind, tok.vocabulary_size, seed=5))
    tokens = np.random.default_rng(0).integers(7, tok.vocabulary_size, size=(2, 40)).astype("int32")
    lengths = np.array([2 * PREFILL_CHUNK + 3, 3 * PREFILL_CHUNK], "int32")
    index, state = prefill(decoder, tokens, lengths, decoder.init(2, 40), decoder.prepare())
    assert int(index) == 2 * PREFILL_CHUNK  # the shortest prompt forces steps 0 .. 2 * PREFILL_CHUNK + 1
    stepped = decoder.init(2, 40)
    for i in range(2 * PREFILL_CHUNK):
        _, stepped = decoder.step(tokens[:, i : i + 1], stepped, i)
    flat, flat_stepped = keras.tree.flatten(state), keras.tree.flatten(stepped)
    assert len(flat) == len(flat_stepped) > 0
    for a, b in zip(flat, flat_stepped):
        np.testing.assert_allclose(ops.convert_to_numpy(a), ops.convert_to_numpy(b), atol=1e-5)
    short = np.array([PREFILL_CHUNK, 30], "int32")  # shortest forces PREFILL_CHUNK - 1 steps: no whole chunk
    assert int(prefill(decoder, tokens, short, decoder.init(2, 40))[0]) == 0


@pytest.mark.parametrize("sampler", [Sampler("greedy"), Sampler("top_k", top_k=5)])
@pytest.mark.parametrize("lengths,max_new_tokens", [([19, 22, 30], None), ([2, 11, 19], 6)])
def test_decoding_in_attention_windows_equals_one_full_cache(sampler, lengths, max_new_tokens):
    """The loop's cache grows window by window (4, 8, 16, 32, 40 positions here): tokens and ends equal those
    of one 40-position cache, with prompts prefilled across windows, and with rows done before the last ones."""
    tok = word_tokenizer()
    decoder = Decoder(make_model("transformer", tok.vocabulary_size, seed=6))
    rng = np.random.default_rng(3)
    tokens = rng.integers(7, tok.vocabulary_size, size=(3, 40)).astype("int32")
    lengths = np.array(lengths, "int32")
    noise = rng.random((40, 3)).astype("float32")
    assert attention_windows(40, 4) == [4, 8, 16, 32, 40]
    full, full_end = generate_ids(decoder, tokens, lengths, noise, sampler, max_new_tokens=max_new_tokens,
                                  window=None)
    got, got_end = generate_ids(decoder, tokens, lengths, noise, sampler, max_new_tokens=max_new_tokens, window=4)
    full, got = ops.convert_to_numpy(full), ops.convert_to_numpy(got)
    np.testing.assert_array_equal(got, full)
    np.testing.assert_array_equal(ops.convert_to_numpy(got_end), ops.convert_to_numpy(full_end))
    for row, prompt, length in zip(full, tokens, lengths):  # prompts kept, and the loop generated after them
        np.testing.assert_array_equal(row[:length], prompt[:length])
    assert (full[np.arange(3), lengths] != tokens[np.arange(3), lengths]).any()


def test_attention_windows():
    assert attention_windows(96) == [16, 32, 64, 96]
    assert attention_windows(300) == [16, 32, 64, 128, 256, 300]
    assert attention_windows(16) == [16] and attention_windows(7) == [7]
    assert attention_windows(96, None) == [96]


@pytest.mark.parametrize("kind", ["transformer", "lstm"])
def test_beam_width_one_equals_greedy_and_batch_is_independent(kind):
    tok = word_tokenizer()
    generator = TextGenerator(make_model(kind, tok.vocabulary_size, seed=2), tok)
    prompts = ["the dog sees", "one", "five six seven eight nine"]
    greedy = generator.generate_ids(prompts, max_new_tokens=10)
    assert generator.generate_ids(prompts, max_new_tokens=10, sampler="beam", beam_width=1) == greedy
    assert [generator.generate_ids([p], max_new_tokens=10)[0] for p in prompts] == greedy
    assert all(len(ids) <= 10 for ids in greedy)


@pytest.mark.parametrize("kind", ["transformer", "lstm"])
def test_trained_model_continues_and_stops_at_eos(kind):
    tok = word_tokenizer()
    generator = TextGenerator(trained_model(kind), tok)
    assert generator.generate(["red", "red green"], max_new_tokens=10) == ["green blue", "blue"]
    assert generator.generate("", max_new_tokens=10) == PATTERN
    beams = generator.generate(["red"], max_new_tokens=10, sampler="beam", beam_width=3)
    assert beams == ["green blue"]
    scores = generator.score([PATTERN, "blue green red"])
    assert scores["num_tokens"].tolist() == [4, 4]
    assert scores["perplexity"][0] < 2.0 < scores["perplexity"][1]  # LSTM: ~1.3 on TensorFlow, ~1.5 on JAX


def test_a_generator_decodes_with_the_current_weights():
    """The compiled loop reads the model's variables at each call (JAX passes them in as arguments), so weights
    changed after a first call, as by training between text samples, are the ones decoded with."""
    tok = word_tokenizer()
    model, other = (make_model("transformer", tok.vocabulary_size, seed=seed) for seed in (1, 2))
    other.build()
    generator = TextGenerator(model, tok)
    before = generator.generate_ids(["the dog"], max_new_tokens=6)
    model.set_weights(other.get_weights())
    after = generator.generate_ids(["the dog"], max_new_tokens=6)
    assert after == TextGenerator(other, tok).generate_ids(["the dog"], max_new_tokens=6) and after != before


def test_sampling_is_seeded_and_respects_top_k():
    tok = word_tokenizer()
    generator = TextGenerator(make_model("transformer", tok.vocabulary_size, seed=3), tok)
    a = generator.generate_ids(["the"] * 4, max_new_tokens=8, sampler="top_k", top_k=5, seed=11)
    b = generator.generate_ids(["the"] * 4, max_new_tokens=8, sampler="top_k", top_k=5, seed=11)
    c = generator.generate_ids(["the"] * 4, max_new_tokens=8, sampler="top_k", top_k=5, seed=12)
    assert a == b and a != c
    assert len({tuple(r) for r in a}) > 1  # rows draw different noise


def test_inverse_cdf_sampling_matches_the_distribution():
    rng = np.random.default_rng(0)
    logits = np.log(np.array([[0.5, 0.3, 0.15, 0.05]], "float32")).repeat(20000, axis=0)
    draws = ops.convert_to_numpy(inverse_cdf_sample(logits, rng.random(20000).astype("float32")))
    np.testing.assert_allclose(np.bincount(draws, minlength=4) / 20000, [0.5, 0.3, 0.15, 0.05], atol=0.015)


def test_top_k_and_top_p_filter_the_tail():
    rng = np.random.default_rng(1)
    logits = np.log(np.array([[0.5, 0.3, 0.15, 0.05]], "float32")).repeat(5000, axis=0)
    noise = rng.random(5000).astype("float32")
    top2 = ops.convert_to_numpy(Sampler("top_k", top_k=2)(logits, noise))
    assert set(top2.tolist()) == {0, 1}
    nucleus = ops.convert_to_numpy(Sampler("top_p", top_p=0.7)(logits, noise))
    assert set(nucleus.tolist()) == {0, 1}  # 0.5 < 0.7, 0.5 + 0.3 >= 0.7
    hot = ops.convert_to_numpy(Sampler("temperature", temperature=0.05)(logits, noise))
    assert (hot == 0).mean() > 0.99
    with pytest.raises(ValueError, match="top_k"):
        Sampler("top_k")
    with pytest.raises(ValueError, match="unknown sampler"):
        Sampler("nucleus")


def test_structural_tokens_are_never_generated():
    tok = word_tokenizer()
    generator = TextGenerator(make_model("gru", tok.vocabulary_size, seed=4), tok)
    out = generator.generate_ids(["the"] * 8, max_new_tokens=20, sampler="temperature", temperature=5.0, seed=0)
    assert not set(t for row in out for t in row) & set(SUPPRESSED_IDS)


def test_long_prompt_is_truncated_from_the_left():
    tok = word_tokenizer()
    model = make_model("transformer", tok.vocabulary_size)  # context 48
    generator = TextGenerator(model, tok)
    tokens, lengths = generator.encode_prompts(["one two three " * 40], max_new_tokens=8)
    assert lengths.tolist() == [40] and tokens.shape == (1, 48)
    assert tokens[0, 39] == tok("three").numpy()[0]  # the end of the prompt is kept
    with pytest.raises(ValueError, match="below the model's context"):
        generator.generate("x", max_new_tokens=48)


def naive_constrained_greedy(model, prompt, steps, penalty=1.0, ngram=0):
    """Uncached reference for greedy decoding with a repetition penalty and a no-repeat n-gram size: every token
    of the sequence so far counts (but the structural special tokens), written out with numpy."""
    ids = list(prompt)
    for _ in range(steps):
        logits = last_logits(model, ids)
        logits[list(SUPPRESSED_IDS)] += -1e9
        text = set(ids) - {0, 2, 3, 4, 5, 6}
        for t in text:
            logits[t] = logits[t] / penalty if logits[t] > 0 else logits[t] * penalty
        if ngram:
            suffix = ids[len(ids) - ngram + 1:] if ngram > 1 else []
            for p in range(ngram - 1, len(ids)):
                if ids[p - ngram + 1: p] == suffix and ids[p] in text:
                    logits[ids[p]] = -np.inf
        nxt = int(np.argmax(logits))
        ids.append(nxt)
        if nxt == EOS_ID:
            break
    return [t for t in ids[len(prompt):] if t != EOS_ID]


@pytest.mark.parametrize("kind,jit", [("transformer", False), ("transformer", True), ("gru", False)])
def test_greedy_with_penalty_and_no_repeat_ngrams_equals_the_uncached_reference(kind, jit):
    tok = word_tokenizer()
    model = make_model(kind, tok.vocabulary_size, seed=1)  # greedy loops on one token ("three three ...")
    generator = TextGenerator(model, tok, jit_compile=jit)
    prompts = ["red", "the dog sees", "one two one two"]
    for penalty, ngram in [(1.5, 0), (1.0, 2), (1.3, 3)]:
        got = generator.generate_ids(prompts, max_new_tokens=14, repetition_penalty=penalty, no_repeat_ngram_size=ngram)
        for prompt, ids in zip(prompts, got):
            assert ids == naive_constrained_greedy(model, [EOS_ID] + tok(prompt).numpy().tolist(), 14, penalty, ngram)


def repeated_ngrams(ids, n):
    grams = [tuple(ids[i: i + n]) for i in range(len(ids) - n + 1)]
    return len(grams) - len(set(grams))


@pytest.mark.parametrize("kind", ["transformer", "lstm"])
def test_no_repeat_ngrams_stop_a_greedy_loop(kind):
    tok = word_tokenizer()
    # Seeds whose untrained model loops under greedy decoding ("two two two ...", "eight eight ..."); the
    # initializers draw other numbers on JAX than on TensorFlow, so the transformer's seed depends on the backend.
    seed = {"transformer": 5 if keras.backend.backend() == "tensorflow" else 1, "lstm": 3}[kind]
    generator = TextGenerator(make_model(kind, tok.vocabulary_size, seed=seed), tok)
    prompts = ["red", "the dog", "one two"]
    starts = [[EOS_ID] + tok(p).numpy().tolist() for p in prompts]
    loops = generator.generate_ids(prompts, max_new_tokens=24)
    assert all(repeated_ngrams(s + ids, 2) > 5 for s, ids in zip(starts, loops))  # greedy alone loops
    for n in (2, 3):
        for s, ids in zip(starts, generator.generate_ids(prompts, max_new_tokens=24, no_repeat_ngram_size=n)):
            assert len(ids) >= 16 and repeated_ngrams(s + ids, n) == 0, (n, ids)
    sampled = generator.generate_ids(prompts, max_new_tokens=24, seed=3, no_repeat_ngram_size=2)
    assert all(repeated_ngrams(s + ids, 2) == 0 for s, ids in zip(starts, sampled))


def test_sampling_without_settings_is_seeded_top_p():
    tok = word_tokenizer()
    generator = TextGenerator(make_model("transformer", tok.vocabulary_size, seed=3), tok)  # not peaked
    prompts = ["the"] * 4 + ["red green"] * 2
    a = generator.generate(prompts, max_new_tokens=10, seed=11)
    assert a == generator.generate(prompts, max_new_tokens=10, sampler="top_p", top_p=0.9, temperature=0.8, seed=11)
    assert a == generator.generate(prompts, max_new_tokens=10, sampler="top_p", seed=11)
    assert a != generator.generate(prompts, max_new_tokens=10, seed=12)
    assert a != generator.generate(prompts, max_new_tokens=10, sampler="top_p", top_p=0.5, seed=11)
    assert len(set(a[:4])) > 1  # rows draw different numbers
    greedy = generator.generate(prompts, max_new_tokens=10, sampler="greedy")
    assert generator.generate(prompts, max_new_tokens=10) == greedy and len(set(greedy[:4])) == 1
    with pytest.raises(ValueError, match="beam search"):
        generator.generate(prompts, sampler="beam", no_repeat_ngram_size=3)
    with pytest.raises(ValueError, match="seed"):
        generator.generate(prompts, seed=-3)
