"""Seq2SeqTransformer and LSTMSeq2Seq: training, incremental decoding, translate_ids, saving, presets."""
import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_llm.data import seq2seq_dataset
from keras_llm.datasets import grammar_translation_pairs
from keras_llm.generation.beam_search import beam_search_ids
from keras_llm.generation.decoding import SUPPRESSED_IDS
from keras_llm.generation.seq2seq_decoding import Seq2SeqDecoder, translate_ids
from keras_llm.models import LSTMSeq2Seq, Seq2SeqTransformer, from_preset, preset_config
from keras_llm.tokenizers import WordTokenizer
from keras_llm.training import compile_language_model

SOURCE_VOCAB, TARGET_VOCAB = 40, 48
BOS, EOS = 2, 3
TRANSFORMER = dict(num_encoder_layers=1, num_decoder_layers=1, hidden_dim=32, num_heads=2, intermediate_dim=64,
                   max_source_length=16, max_target_length=16)


def _reversal_task(rows=64, seed=0):
    """Source: 3-8 random ids; target: the source reversed and shifted by 10 (so vocabularies differ)."""
    rng = np.random.default_rng(seed)
    source = np.zeros((rows, 8), "int32")
    decoder_inputs = np.zeros((rows, 9), "int32")
    targets = np.zeros((rows, 9), "int32")
    for row in range(rows):
        tokens = rng.integers(7, 30, size=int(rng.integers(3, 9)))
        target = tokens[::-1] + 10
        source[row, : len(tokens)] = tokens
        decoder_inputs[row, : len(tokens) + 1] = [BOS, *target]
        targets[row, : len(tokens) + 1] = [*target, EOS]
    return {"encoder_inputs": source, "decoder_inputs": decoder_inputs}, targets


def _make(kind):
    keras.utils.set_random_seed(0)
    if kind == "transformer":
        return Seq2SeqTransformer(SOURCE_VOCAB, TARGET_VOCAB, **TRANSFORMER)
    cell, attention = kind.split("-")
    return LSTMSeq2Seq(SOURCE_VOCAB, TARGET_VOCAB, cell=cell, num_layers=2, hidden_dim=32, attention=attention)


@pytest.fixture(scope="module")
def translation_data():
    pairs = grammar_translation_pairs(400, seed=0)
    source_tokenizer = WordTokenizer.train(tf.data.Dataset.from_tensor_slices([s for s, _ in pairs]), vocab_size=200)
    target_tokenizer = WordTokenizer.train(tf.data.Dataset.from_tensor_slices([t for _, t in pairs]), vocab_size=200)
    dataset = seq2seq_dataset(
        tf.data.Dataset.from_tensor_slices((np.array([s for s, _ in pairs]), np.array([t for _, t in pairs]))),
        source_tokenizer, target_tokenizer, batch_size=32, max_source_len=24, max_target_len=24, seed=0,
    )
    return dataset, source_tokenizer, target_tokenizer


@pytest.fixture(scope="module")
def trained(translation_data):
    """{kind: (model, history, a batch of inputs)}: the LSTM trained on seq2seq_dataset batches, the
    Transformer on the fixed-shape reversal task (one trace of its train step instead of one per shape)."""
    dataset, source_tokenizer, target_tokenizer = translation_data
    keras.utils.set_random_seed(0)
    lstm = LSTMSeq2Seq(source_tokenizer.vocabulary_size, target_tokenizer.vocabulary_size, num_layers=1,
                       hidden_dim=32)
    compile_language_model(lstm, optimizer={"learning_rate": 1e-2})
    lstm_history = lstm.fit(dataset, epochs=3, verbose=0).history
    transformer = _make("transformer")
    compile_language_model(transformer, optimizer={"learning_rate": 1e-2})
    inputs, targets = _reversal_task(rows=64)
    transformer_history = transformer.fit(inputs, targets, batch_size=16, epochs=6, verbose=0).history
    return {
        "lstm-luong": (lstm, lstm_history, next(iter(dataset))[0]),
        "transformer": (transformer, transformer_history, inputs),
    }


@pytest.mark.parametrize("kind", ["transformer", "lstm-luong"])
def test_loss_falls(trained, kind):
    history = trained[kind][1]
    assert history["loss"][-1] < history["loss"][0] - 0.5, history
    assert history["perplexity"][-1] < history["perplexity"][0] / 2, history


@pytest.mark.parametrize("kind", ["transformer", "lstm-luong"])
def test_save_load_round_trip(trained, kind, tmp_path):
    model, _, inputs = trained[kind]
    path = os.path.join(tmp_path, f"{kind}.keras")
    model.save(path)
    restored = keras.saving.load_model(path, safe_mode=True)
    assert type(restored) is type(model)
    assert json.dumps(restored.get_config()) == json.dumps(model.get_config())
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(restored(inputs)), keras.ops.convert_to_numpy(model(inputs)))


def _step_by_step(model, inputs):
    source, decoder_inputs = inputs["encoder_inputs"], inputs["decoder_inputs"]
    steps = []
    if isinstance(model, Seq2SeqTransformer):
        outputs, mask = model.encode(source)
        cache = model.init_cache(len(source), max_length=decoder_inputs.shape[1])
        for t in range(decoder_inputs.shape[1]):
            logits, cache = model.call_with_cache(decoder_inputs[:, t : t + 1], cache, t, outputs, mask)
            steps.append(keras.ops.convert_to_numpy(logits))
    else:
        outputs, mask, state = model.encode(source)
        for t in range(decoder_inputs.shape[1]):
            logits, state = model.call_with_state(decoder_inputs[:, t : t + 1], state, outputs, mask)
            steps.append(keras.ops.convert_to_numpy(logits))
    return np.concatenate(steps, axis=1)


@pytest.mark.parametrize("kind", ["transformer", "lstm-luong", "gru-bahdanau"])
def test_incremental_decoding_equals_full_forward(kind):
    model = _make(kind)
    inputs, _ = _reversal_task(rows=4)
    full = keras.ops.convert_to_numpy(model(inputs))
    assert full.shape == (4, 9, TARGET_VOCAB)
    np.testing.assert_allclose(_step_by_step(model, inputs), full, atol=1e-5)


@pytest.mark.parametrize("kind", ["transformer", "lstm-luong"])
def test_source_padding_changes_nothing(kind):
    model = _make(kind)
    inputs, _ = _reversal_task(rows=4)
    padded = dict(inputs, encoder_inputs=np.pad(inputs["encoder_inputs"], ((0, 0), (0, 5))))
    np.testing.assert_allclose(model(padded), model(inputs), atol=1e-5)
    if kind != "transformer":
        _, _, state = model.encode(inputs["encoder_inputs"])
        _, _, padded_state = model.encode(padded["encoder_inputs"])
        np.testing.assert_allclose(padded_state, state, atol=1e-6)  # the state after the last real token


def _sequence_scores(model, source, hypotheses):
    """Teacher-forced per-row log-probability of `hypotheses` (up to and including <eos>), suppressed ids
    excluded as in decoding, and the argmax at each position."""
    decoder_inputs = np.concatenate([np.full((len(source), 1), BOS, "int32"), hypotheses[:, :-1]], axis=1)
    logits = keras.ops.convert_to_numpy(model({"encoder_inputs": source, "decoder_inputs": decoder_inputs}))
    logits[..., list(SUPPRESSED_IDS)] = -1e9
    logprobs = logits - np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1, keepdims=True)) - logits.max(
        -1, keepdims=True)
    chosen = np.take_along_axis(logprobs, hypotheses[..., None], axis=-1)[..., 0]
    eos_seen = np.cumsum(hypotheses == EOS, axis=1) - (hypotheses == EOS)
    live = (eos_seen == 0) & (hypotheses != 0)
    return (chosen * live).sum(axis=1), logits.argmax(-1), live


@pytest.mark.parametrize("kind", ["transformer", "lstm-luong"])
def test_translate_ids_greedy(trained, kind):
    model, _, inputs = trained[kind]
    source = np.asarray(inputs["encoder_inputs"])[:6]
    greedy = keras.ops.convert_to_numpy(translate_ids(model, source, max_length=12))
    assert greedy.shape == (6, 12)
    # every greedy token is the argmax of the full model fed the greedy prefix
    _, argmax, live = _sequence_scores(model, source, greedy)
    np.testing.assert_array_equal(np.where(live, greedy, 0), np.where(live, argmax, 0))
    # nothing but padding after <eos>
    after_eos = np.cumsum(greedy == EOS, axis=1) - (greedy == EOS)
    assert np.all(greedy[after_eos > 0] == 0)


FORWARD_ROWS, FORWARD_WIDTH = 3, 11  # the widest written-out beam search; <bos> + its 10 steps


def _next_logprobs(model, source_row, prefixes):
    """Full-forward log-probabilities `[len(prefixes), vocab]` of the token after `<bos> + prefix` (all prefixes
    of one length), with the suppressed ids at about -1e9 as in decoding. The forward pass always has
    `FORWARD_ROWS` rows of `FORWARD_WIDTH` decoder positions (right-padded: later positions cannot change a
    causal decoder's logits, nor other rows a row's), so `predict_on_batch` compiles once."""
    length = len(prefixes[0]) + 1
    decoder_inputs = np.zeros((max(FORWARD_ROWS, len(prefixes)), max(FORWARD_WIDTH, length)), "int32")
    decoder_inputs[: len(prefixes), :length] = [[BOS, *prefix] for prefix in prefixes]
    encoder_inputs = np.repeat(source_row[None, :], len(decoder_inputs), axis=0)
    logits = np.asarray(model.predict_on_batch({"encoder_inputs": encoder_inputs, "decoder_inputs": decoder_inputs}))
    logits = logits[: len(prefixes), length - 1, :].astype("float64")
    logits[:, list(SUPPRESSED_IDS)] = -1e9
    return logits - logits.max(-1, keepdims=True) - np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1,
                                                                                                         keepdims=True))


def _reference_beam_search(model, source_row, max_length, width, length_penalty):
    """Beam search written out over full forward passes, as `beam_search_ids` documents it: the `width` best
    (summed log-probability) of the finished beams and the live beams' one-token extensions survive each step; a
    beam ends at `<eos>` or at `max_length` tokens; the result maximizes score / tokens ** length_penalty.
    Returns `(tokens padded to max_length, the kept beams [(tokens, score)])`."""
    beams = [((), 0.0, False)]  # (tokens, summed log-probability, finished)
    for step in range(max_length):
        live = [beam for beam in beams if not beam[2]]
        if not live:
            break
        candidates = [beam for beam in beams if beam[2]]
        for (tokens, score, _), row in zip(live, _next_logprobs(model, source_row, [beam[0] for beam in live])):
            for token in np.flatnonzero(row > -1e8):
                candidates.append((tokens + (int(token),), score + row[token], token == EOS or step == max_length - 1))
        beams = sorted(candidates, key=lambda beam: -beam[1])[:width]
    best = max(beams, key=lambda beam: beam[1] / len(beam[0]) ** length_penalty)
    return np.array(list(best[0]) + [0] * (max_length - len(best[0])), "int32"), [(b[0], b[1]) for b in beams]


def _beam_search(model, source, max_length, width, length_penalty=0.0):
    """`beam_search_ids` itself (any width, 1 included) on a `Seq2SeqDecoder`, shaped like `translate_ids`."""
    tokens = np.zeros((len(source), max_length + 1), "int32")
    tokens[:, 0] = BOS
    decoder = Seq2SeqDecoder(model, source, repeats=width)
    ids, _ = beam_search_ids(decoder, tokens, np.ones(len(source), "int32"), width, length_penalty)
    ids = keras.ops.convert_to_numpy(ids)[:, 1:]
    return np.where(np.cumsum(ids == EOS, axis=1) - (ids == EOS) > 0, 0, ids)


def _normalized(beams, length_penalty):
    """{tokens: score / len(tokens) ** length_penalty}, the final ranking of `beam_search_ids`."""
    return {tokens: score / len(tokens) ** length_penalty for tokens, score in beams}


@pytest.mark.parametrize("kind", ["transformer", "lstm-luong"])
def test_beam_search_of_width_one_is_greedy(trained, kind):
    """beam_search_ids with one beam (not translate_ids' greedy path, which beam_width=1 takes) picks the argmax
    at each step."""
    model, _, inputs = trained[kind]
    source = np.asarray(inputs["encoder_inputs"])[:6]
    np.testing.assert_array_equal(_beam_search(model, source, 12, width=1),
                                  keras.ops.convert_to_numpy(translate_ids(model, source, max_length=12)))


@pytest.mark.parametrize("length_penalty", [0.0, 1.0])
@pytest.mark.parametrize("kind", ["transformer", "lstm-luong"])
def test_beam_search_equals_the_written_out_search(trained, kind, length_penalty):
    """The same hypotheses as a beam search written out over full forward passes (widths 2 and 3), and what it
    returns scores at least as well as every beam it kept. (Beam search need not beat greedy: the greedy
    prefix can fall off the beam.)"""
    model, _, inputs = trained[kind]
    source = np.asarray(inputs["encoder_inputs"])[:4]
    translated = keras.ops.convert_to_numpy(translate_ids(model, source, 10, beam_width=3,
                                                          length_penalty=length_penalty))
    for width in (2, 3):
        got = _beam_search(model, source, 10, width, length_penalty)
        for row in range(len(source)):
            expected, kept = _reference_beam_search(model, source[row], 10, width, length_penalty)
            np.testing.assert_array_equal(got[row], expected)
            hypothesis = tuple(int(t) for t in got[row][: int(np.sum(got[row] != 0))])
            scores = _normalized(kept, length_penalty)
            assert len(kept) == width and scores[hypothesis] >= max(scores.values()) - 1e-9
    np.testing.assert_array_equal(translated, got)  # translate_ids(beam_width=3) is this search


def _all_hypotheses(generated_ids, max_length):
    """Every output of at most `max_length` tokens: words then `<eos>`, or `max_length` words."""
    words = [t for t in generated_ids if t != EOS]
    hypotheses = []
    for length in range(max_length + 1):
        for combination in np.ndindex(*([len(words)] * length)):
            prefix = tuple(words[i] for i in combination)
            hypotheses.append(prefix + (EOS,) if length < max_length else prefix)
    return [h for h in hypotheses if len(h) <= max_length]


@pytest.mark.parametrize("length_penalty", [0.0, 1.0])
@pytest.mark.parametrize("kind", ["transformer", "lstm-luong"])
def test_beam_search_wide_enough_is_exact_search(kind, length_penalty):
    """An untrained model with 9 target ids (4 generatable: <unk>, <eos>, 7, 8) and 3 output steps has 40
    possible outputs (1 + 3 + 9 ending in <eos>, 27 cut at the limit); 40 beams keep them all, so beam search
    must return the argmax of score / length ** length_penalty over all of them, scored by teacher forcing."""
    keras.utils.set_random_seed(1)
    model = (Seq2SeqTransformer(16, 9, num_encoder_layers=1, num_decoder_layers=1, hidden_dim=16, num_heads=2,
                                intermediate_dim=32, max_source_length=8, max_target_length=8)
             if kind == "transformer" else LSTMSeq2Seq(16, 9, num_layers=1, hidden_dim=16))
    source = np.random.default_rng(0).integers(7, 16, size=(3, 5)).astype("int32")
    generated = [t for t in range(9) if t not in SUPPRESSED_IDS]
    assert generated == [1, 3, 7, 8]
    hypotheses = _all_hypotheses(generated, 3)
    assert len(hypotheses) == 40
    got = _beam_search(model, source, 3, width=40, length_penalty=length_penalty)
    for row in range(len(source)):
        padded = np.array([list(h) + [0] * (3 - len(h)) for h in hypotheses], "int32")
        scores, _, _ = _sequence_scores(model, np.repeat(source[row : row + 1], len(hypotheses), axis=0), padded)
        normalized = scores / np.array([len(h) for h in hypotheses]) ** length_penalty
        order = np.argsort(-normalized)
        assert normalized[order[0]] - normalized[order[1]] > 1e-4  # a clear winner: no tie for float noise to break
        np.testing.assert_array_equal(got[row], padded[order[0]])


def test_translate_ids_checks_the_target_length():
    with pytest.raises(ValueError, match="max_target_length"):
        translate_ids(_make("transformer"), np.ones((1, 4), "int32"), max_length=40)


def test_seq2seq_presets():
    config = preset_config("seq2seq-small")
    assert (config["num_encoder_layers"], config["num_decoder_layers"], config["hidden_dim"], config["num_heads"]) == (
        3, 3, 256, 4)
    model = from_preset("seq2seq-small", vocabulary_size=(100, 120), hidden_dim=32, intermediate_dim=64)
    assert isinstance(model, Seq2SeqTransformer)
    assert (model.source_vocabulary_size, model.target_vocabulary_size) == (100, 120)
    shared = from_preset("lstm-seq2seq-small", vocabulary_size=90, hidden_dim=16)
    assert isinstance(shared, LSTMSeq2Seq) and shared.target_vocabulary_size == 90
    with pytest.raises(ValueError, match="vocabulary size"):
        from_preset("seq2seq-small", vocabulary_size=(1, 2, 3))
