"""The decoding loop over token ids: one token per step, key/value cache or recurrent state carried along.

All rows of a batch advance together, one position per step. A row whose prompt is longer than the current
position is fed its own next prompt token (teacher-forced), so prompts of different lengths need no padding
inside the sequence; once past its prompt a row samples, and it stops at `<eos>`. The loop is a
`keras.ops.while_loop` with fixed shapes, so it compiles as one graph (TensorFlow, XLA) or one `jax.jit`.
"""
import functools

import keras
import numpy as np
from keras import ops

from keras_llm.generation.logits_processors import check_settings, constrain_logits
from keras_llm.generation.noise import uniform_noise  # noqa: F401  (its historical home)
from keras_llm.generation.samplers import Sampler
from keras_llm.special_tokens import BOS_ID, CLS_ID, EOS_ID, MASK_ID, PAD_ID, SEP_ID

# Never generated: structural tokens that carry no text (<eos> stays: it ends a continuation).
SUPPRESSED_IDS = (PAD_ID, BOS_ID, MASK_ID, CLS_ID, SEP_ID)


class Decoder:
    """Adapts a causal language model to `init(batch, length) -> state` and
    `step(ids [batch, 1], state, index) -> (logits [batch, vocab], state)`; the step's logits exclude the
    structural special tokens (`SUPPRESSED_IDS`), which a sampler then never picks.

    Models provide either `init_cache` / `call_with_cache` (Transformer: key/value cache) or `init_state` /
    `call_with_state` (recurrent: hidden state)."""

    def __init__(self, model):
        if not model.built:  # now, not on the first step: a JAX loop body must not create the variables
            model.build()
        self.model = model
        # A model over another vocabulary layout (GPT-2's, from `from_pretrained`) says which id ends a
        # continuation (None: none does) and which ids are never generated.
        conventions = getattr(model, "token_conventions", None)
        self.eos_id = EOS_ID if conventions is None else conventions["eos_id"]
        self.suppressed_ids = SUPPRESSED_IDS if conventions is None else tuple(conventions["suppressed_ids"])
        if hasattr(model, "call_with_cache"):
            self.kind = "cache"
        elif hasattr(model, "call_with_state"):
            self.kind = "state"
        else:
            raise TypeError(f"{type(model).__name__} has neither call_with_cache nor call_with_state")

    @property
    def max_length(self):
        """Longest sequence the model can decode (None: unbounded, as for recurrent models)."""
        return getattr(self.model, "max_sequence_length", None) if self.kind == "cache" else None

    def init(self, batch_size, length):
        if self.kind == "cache":
            return self.model.init_cache(batch_size, length)
        return self.model.init_state(batch_size)

    def grow(self, state, extra):
        """`state` with room for `extra` more positions: a cache's tensors padded along their positions axis
        (every cache of ours is per-layer `[batch, heads, positions, head_dim]` pairs); a recurrent state is
        unchanged."""
        return grow_cache(state, extra) if self.kind == "cache" else state

    def prepare(self):
        """Loop-invariant tensors for `step` (the model's `output_kernel()`, when it has one), computed once
        per decoding run, before the loop: XLA does not hoist them out of the loop by itself."""
        if self.kind == "cache" and hasattr(self.model, "output_kernel"):
            return {"output_kernel": self.model.output_kernel()}
        return {}

    def step(self, ids, state, index, prepared=None):
        """`prepared`: what `prepare()` returned (optional)."""
        if self.kind == "cache":
            logits, state = self.model.call_with_cache(ids, state, index, **(prepared or {}))
        else:
            logits, state = self.model.call_with_state(ids, state)
        logits = ops.cast(logits[:, -1, :], "float32")
        if not self.suppressed_ids:
            return logits, state
        return logits + suppression_row(logits.shape[-1], self.suppressed_ids), state


def grow_cache(cache, extra):
    """Pads every `[batch, heads, positions, head_dim]` tensor of a key/value cache with `extra` zero positions
    at the end (the slots `init_cache` would have given a longer cache)."""
    return keras.tree.map_structure(lambda t: ops.pad(t, [[0, 0], [0, 0], [0, extra], [0, 0]]), cache)


@functools.lru_cache(maxsize=8)
def suppression_row(vocabulary_size, suppressed_ids=SUPPRESSED_IDS):
    """A `[vocab]` float32 numpy row, -1e9 at `suppressed_ids`, added to step logits. A constant built once,
    not rebuilt with ops at every step (see benchmarks/README.md, Performance notes)."""
    row = np.zeros((vocabulary_size,), dtype="float32")
    row[list(suppressed_ids)] = -1e9
    row.flags.writeable = False
    return row


# Prompt tokens fed per prefill call. Static (the loop body keeps fixed shapes for XLA); a chunk costs about one
# single-token step at batch 1 (both stream the weights once), so a 9-token prompt takes 2 calls instead of 9.
PREFILL_CHUNK = 8


def prefill(decoder, tokens, prompt_lengths, state, prepared=None, chunk=PREFILL_CHUNK, start=0, stop=None):
    """Feeds the prompt positions that every row teacher-forces, `chunk` tokens per model call, and returns
    `(index, state)`: the decoding loop goes on from position `index` (a multiple of `chunk` past `start`, at
    most the shortest prompt's length - 1). Their logits are not needed, and compiled graphs drop them.
    `start` is the first position to feed; `stop` (static) bounds the positions written (the state's length
    when decoding in attention windows)."""
    batch, length = ops.shape(tokens)[0], ops.shape(tokens)[1]
    start = ops.convert_to_tensor(start, dtype="int32")
    if any(isinstance(bound, int) and bound < chunk for bound in (length, stop)):
        # No whole chunk fits (the loop below would not run), and JAX rejects the body's static slice of a
        # chunk wider than the buffer or the state even so.
        return start, state
    forced = ops.min(prompt_lengths) - 1  # steps 0 .. forced-1 feed a prompt token and force the next one
    if stop is not None:
        forced = ops.minimum(forced, stop)

    def cond(i, state):
        return i + chunk <= forced

    def body(i, state):
        _, state = decoder.step(ops.slice(tokens, [0, i], [batch, chunk]), state, i, prepared)
        return i + chunk, state

    return ops.while_loop(cond, body, (start, state))


# Positions in the first attention window of a key/value-cache decoding loop (see `attention_windows`). 16
# rather than 32: exported generate, 4 x 256 model, 9-token prompts + 64 new tokens (a 96-position buffer),
# batch 16 on 2 CPU cores: ~4,000 tok/s with one full cache, ~4,500 with windows from 32, ~5,300 from 16.
ATTENTION_WINDOW = 16


def attention_windows(length, first=ATTENTION_WINDOW):
    """Cache lengths of the successive segments of a decoding loop over `length` positions: `first`, doubling,
    then `length` (a single segment when `length` is not static or `first` is None).

    Attention reads the whole cache at every step, so a loop whose cache has room for all `length` positions
    from the start attends over unwritten slots (masked, but read and multiplied). Decoding in segments whose
    cache is grown between them keeps the attended positions within 2x of those written. The segments are
    static shapes (XLA compiles each); doubling keeps their number logarithmic in `length`.

    Example:
    >>> attention_windows(96)
    [16, 32, 64, 96]
    >>> attention_windows(12)
    [12]
    """
    if first is None or not isinstance(length, int):
        return [length]
    windows, window = [], int(first)
    while window < length:
        windows.append(window)
        window *= 2
    return windows + [length]


def generate_ids(decoder, tokens, prompt_lengths, noise, sampler=None, temperature=None, max_new_tokens=None,
                 stop_at_eos=True, window=ATTENTION_WINDOW, top_p=None, repetition_penalty=None,
                 no_repeat_ngram_size=None):
    """Extends each row of `tokens` past its prompt.

    Args:
        decoder: a `Decoder`.
        tokens: int32 `[batch, length]`: row b holds its prompt in `[:prompt_lengths[b]]` (anything after is
            overwritten); `length` = longest prompt + new tokens.
        prompt_lengths: int32 `[batch]`, each >= 1.
        noise: float `[length, batch]` uniform numbers, one per step and row (ignored by greedy).
        sampler: a `Sampler` (greedy when None).
        temperature: optional number or scalar tensor overriding the sampler's temperature (<= 0: greedy).
        max_new_tokens: per-row limit on generated tokens (default: fill the buffer).
        stop_at_eos: rows stop after emitting `<eos>`; the loop ends when every row has stopped.
        window: first attention window (`attention_windows`) for decoders that can `grow` their state; None
            decodes with a cache of `length` positions from the start. Same tokens either way.
        top_p: optional number or scalar tensor overriding a top_p sampler's top_p.
        repetition_penalty: None / 1: off; > 1 discourages tokens already in the row (prompt included), see
            `logits_processors.apply_repetition_penalty`. Number or scalar tensor.
        no_repeat_ngram_size: None / 0: off; n: no n-gram occurs twice in a row (prompt included), see
            `logits_processors.repeated_ngram_bans`. Int or scalar tensor.

    Returns:
        `(tokens, end)`: the filled `[batch, length]` ids (PAD after a row's `<eos>`) and, per row, the
        position just past its last generated token.
    """
    sampler = sampler or Sampler("greedy")
    eos_id = getattr(decoder, "eos_id", EOS_ID)
    check_settings(repetition_penalty, no_repeat_ngram_size)
    batch, length = ops.shape(tokens)[0], ops.shape(tokens)[1]
    tokens = ops.cast(tokens, "int32")
    prompt_lengths = ops.cast(prompt_lengths, "int32")
    noise = ops.convert_to_tensor(noise, "float32")  # indexed by the loop's traced step (a numpy array is not, on JAX)
    windows = attention_windows(length, window) if hasattr(decoder, "grow") else [length]
    state = decoder.init(batch, windows[0])
    prepared = decoder.prepare()
    done = ops.zeros_like(prompt_lengths, dtype="bool")
    end = ops.full_like(prompt_lengths, length)
    limit = end if max_new_tokens is None else ops.minimum(prompt_lengths + max_new_tokens, length)

    def cond(stop, i, tokens, state, done, end):  # bound per segment with functools.partial
        return ops.logical_and(i < stop, ops.logical_not(ops.all(done)))

    def body(i, tokens, state, done, end):  # writes cache slot i, fills tokens[:, i + 1]
        current = ops.slice(tokens, [0, i], [batch, 1])
        logits, state = decoder.step(current, state, i, prepared)
        logits = constrain_logits(logits, tokens, i, repetition_penalty, no_repeat_ngram_size)
        chosen = sampler(logits, noise[i], temperature, top_p)
        forced = (i + 1) < prompt_lengths
        prompt_next = ops.squeeze(ops.slice(tokens, [0, i + 1], [batch, 1]), axis=1)
        nxt = ops.where(forced, prompt_next, ops.where(done, PAD_ID, chosen))
        tokens = ops.slice_update(tokens, [0, i + 1], ops.expand_dims(nxt, 1))
        stop = i + 2 >= limit
        if stop_at_eos and eos_id is not None:
            stop = ops.logical_or(stop, nxt == eos_id)
        finished = ops.logical_and(ops.logical_not(done), ops.logical_and(ops.logical_not(forced), stop))
        end = ops.where(finished, i + 2, end)
        done = ops.logical_or(done, finished)
        return i + 1, tokens, state, done, end

    i = 0
    for k, size in enumerate(windows):  # static segments: positions [previous window, size) of the cache
        if k:
            state = decoder.grow(state, size - windows[k - 1])
        i, state = prefill(decoder, tokens, prompt_lengths, state, prepared, start=i, stop=size)
        segment_cond = functools.partial(cond, ops.minimum(size, length - 1))
        i, tokens, state, done, end = ops.while_loop(segment_cond, body, (i, tokens, state, done, end))
    return tokens, end


def start_token_id(decoder, tokenizer=None):
    """The id generation prefixes to prompts: the model's end-of-text id, else the tokenizer's, else `<eos>`."""
    for candidate in (decoder.eos_id, getattr(tokenizer, "eos_id", None)):
        if candidate is not None:
            return int(candidate)
    return EOS_ID
