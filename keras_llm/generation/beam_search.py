"""Beam search over token ids, with the same prompt handling as `generate_ids`."""
import keras
from keras import ops

from keras_llm.generation.decoding import prefill
from keras_llm.special_tokens import EOS_ID, PAD_ID

_NEG = -1e9


def beam_search_ids(decoder, tokens, prompt_lengths, beam_width=4, length_penalty=0.0, max_new_tokens=None):
    """Keeps the `beam_width` most likely continuations per row; returns the best one.

    Beams are scored by the sum of token log-probabilities (divided by `generated_length ** length_penalty`
    when choosing the final beam). A beam that emits `<eos>` is finished: its score is frozen and it keeps
    competing with live beams. With `beam_width=1` this is greedy decoding.

    Args:
        decoder: a `keras_llm.generation.decoding.Decoder`.
        tokens: int32 `[batch, length]` with each row's prompt in `[:prompt_lengths[b]]`.
        prompt_lengths: int32 `[batch]`, each >= 1.
        max_new_tokens: per-row limit on generated tokens (default: fill the buffer).

    Returns:
        `(tokens, end)` like `generate_ids`.
    """
    batch, length = ops.shape(tokens)[0], ops.shape(tokens)[1]
    k = int(beam_width)
    flat = batch * k
    tokens = ops.repeat(ops.cast(tokens, "int32"), k, axis=0)  # [batch*k, length], beams of a row adjacent
    lengths = ops.repeat(ops.cast(prompt_lengths, "int32"), k, axis=0)
    state = decoder.init(flat, length)
    prepared = decoder.prepare()
    eos_id = getattr(decoder, "eos_id", EOS_ID)
    first_beam = ops.cast(ops.arange(flat) % k == 0, "float32")
    scores = (1.0 - first_beam) * _NEG  # only beam 0 is alive at first: the beams start identical
    done = ops.zeros((flat,), dtype="bool")
    end = ops.full((flat,), length, dtype="int32")
    limit = end if max_new_tokens is None else ops.minimum(lengths + max_new_tokens, length)
    row_offset = ops.repeat(ops.arange(batch, dtype="int32") * k, k, axis=0)

    def cond(i, tokens, state, scores, done, end):
        return ops.logical_and(i < length - 1, ops.logical_not(ops.all(done)))

    def body(i, tokens, state, scores, done, end):
        current = ops.slice(tokens, [0, i], [flat, 1])
        logits, state = decoder.step(current, state, i, prepared)
        logprobs = ops.log_softmax(ops.cast(logits, "float32"), axis=-1)
        vocab = ops.shape(logprobs)[-1]
        forced = (i + 1) < lengths
        prompt_next = ops.squeeze(ops.slice(tokens, [0, i + 1], [flat, 1]), axis=1)
        fixed_token = ops.where(forced, prompt_next, PAD_ID)
        one_hot = ops.one_hot(fixed_token, vocab, dtype="float32")
        only_fixed = (1.0 - one_hot) * _NEG  # 0 at the fixed token, very negative elsewhere
        frozen = ops.expand_dims(ops.logical_or(forced, done), 1)
        step_scores = ops.where(frozen, only_fixed, logprobs)
        total = ops.reshape(ops.expand_dims(scores, 1) + step_scores, (batch, k * vocab))
        best, index = ops.top_k(total, k)
        parent = ops.reshape(index // vocab, (flat,)) + row_offset
        token = ops.cast(ops.reshape(index % vocab, (flat,)), "int32")
        tokens = ops.take(tokens, parent, axis=0)
        state = keras.tree.map_structure(lambda s: ops.take(s, parent, axis=0), state)  # a cache: per-layer pairs
        done = ops.take(done, parent, axis=0)
        end = ops.take(end, parent, axis=0)
        was_forced = ops.take(forced, parent, axis=0)
        tokens = ops.slice_update(tokens, [0, i + 1], ops.expand_dims(token, 1))
        stop = i + 2 >= limit
        if eos_id is not None:
            stop = ops.logical_or(stop, token == eos_id)
        finished = ops.logical_and(ops.logical_not(done), ops.logical_and(ops.logical_not(was_forced), stop))
        end = ops.where(finished, i + 2, end)
        done = ops.logical_or(done, finished)
        return i + 1, tokens, state, ops.reshape(best, (flat,)), done, end

    # Skipping the forced prompt steps changes no score: they add 0 to the live beam and keep beams identical.
    i0, state = prefill(decoder, tokens, lengths, state, prepared)
    _, tokens, _, scores, _, end = ops.while_loop(cond, body, (i0, tokens, state, scores, done, end))
    generated = ops.cast(ops.maximum(end - lengths, 1), "float32")
    ranked = ops.reshape(scores / ops.power(generated, length_penalty), (batch, k))
    choice = ops.argmax(ranked, axis=-1) + ops.arange(batch) * k
    return ops.take(tokens, choice, axis=0), ops.take(end, choice, axis=0)
