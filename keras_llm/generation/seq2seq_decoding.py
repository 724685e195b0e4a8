"""Decoding for encoder-decoder models: encode the source once, then generate the target token by token.

`Seq2SeqDecoder` adapts a `Seq2SeqTransformer` (key/value cache) or an `LSTMSeq2Seq` (recurrent state) to
the `init` / `step` contract of `keras_llm.generation.decoding.Decoder`, so the same `keras.ops.while_loop`
loops run it: `generate_ids` (greedy) and `beam_search_ids`. The target prompt is `<bos>` alone.
"""
from keras import ops

from keras_llm.generation.beam_search import beam_search_ids
from keras_llm.generation.decoding import generate_ids, grow_cache, suppression_row
from keras_llm.special_tokens import BOS_ID, EOS_ID, PAD_ID


class Seq2SeqDecoder:
    """The decoder side of an encoder-decoder, bound to one batch of encoded sources.

    Args:
        model: a `Seq2SeqTransformer` (`encode`, `init_cache`, `call_with_cache`) or an `LSTMSeq2Seq`
            (`encode`, `call_with_state`).
        source_ids: int source ids `[batch, S]`, padded with 0.
        repeats: rows per source (`beam_width` for beam search: each source's outputs are repeated that many
            times, adjacent, matching `beam_search_ids`' layout).
    """

    def __init__(self, model, source_ids, repeats=1):
        self.model = model
        encoded = model.encode(ops.convert_to_tensor(source_ids, "int32"))
        if hasattr(model, "call_with_cache"):
            self.kind = "cache"
            outputs, mask = encoded
            self.initial_state = None
        elif hasattr(model, "call_with_state"):
            self.kind = "state"
            outputs, mask, state = encoded
            self.initial_state = ops.repeat(state, repeats, axis=0)
        else:
            raise TypeError(f"{type(model).__name__} has neither call_with_cache nor call_with_state")
        self.encoder_outputs = ops.repeat(outputs, repeats, axis=0)
        self.encoder_mask = ops.repeat(mask, repeats, axis=0)

    def init(self, batch_size, length):
        if self.kind == "cache":
            return self.model.init_cache(batch_size, length)
        return self.initial_state

    def grow(self, state, extra):
        """Room for `extra` more target positions (the `Decoder.grow` contract)."""
        return grow_cache(state, extra) if self.kind == "cache" else state

    def prepare(self):
        """Nothing loop-invariant beyond the encoder outputs held here (the `Decoder.prepare` contract)."""
        return {}

    def step(self, ids, state, index, prepared=None):
        if self.kind == "cache":
            logits, state = self.model.call_with_cache(ids, state, index, self.encoder_outputs, self.encoder_mask)
        else:
            logits, state = self.model.call_with_state(ids, state, self.encoder_outputs, self.encoder_mask)
        logits = ops.cast(logits[:, -1, :], "float32")
        return logits + suppression_row(logits.shape[-1]), state


def translate_ids(model, source_ids, max_length, beam_width=1, length_penalty=0.0, sampler=None, temperature=None,
                  noise=None, max_new_tokens=None):
    """Translates a batch of source ids into target ids.

    Greedy decoding or sampling (`beam_width=1`, `sampler`) or beam search (`beam_width > 1`, beams scored by summed
    log-probabilities divided by `length ** length_penalty`), starting from `<bos>` and stopping at `<eos>`
    or after `max_length` tokens. Written with `keras.ops` only (one `while_loop`), so it runs eagerly or
    inside `tf.function` / `jax.jit` (`keras_llm.generation.compiled.compile_function`).

    Args:
        model: a `Seq2SeqTransformer` or `LSTMSeq2Seq`.
        source_ids: int source ids `[batch, S]`, padded with 0 (as in `seq2seq_dataset`).
        max_length: most target tokens per row, `<eos>` included (a `Seq2SeqTransformer` with learned
            positions needs `max_length <= max_target_length`).
        beam_width: 1 for greedy decoding, more for beam search.
        length_penalty: beam search's length normalization exponent.
        sampler: a `keras_llm.generation.Sampler` for `beam_width=1` (default greedy).
        temperature: optional scalar tensor overriding the sampler's temperature.
        noise: float `[max_length + 1, batch]` uniform numbers for a sampling sampler (default zeros).
        max_new_tokens: optional (scalar tensor) limit below `max_length`, e.g. per request in a server.

    Returns:
        int32 `[batch, max_length]`: each row's target tokens, then `<eos>` (when emitted within
        `max_length`), then `<pad>` (0).

    Example:
    >>> from keras_llm.models import LSTMSeq2Seq
    >>> model = LSTMSeq2Seq(30, 40, num_layers=1, hidden_dim=8)
    >>> ids = translate_ids(model, ops.ones((2, 5), "int32"), max_length=6, beam_width=2)
    >>> tuple(ids.shape)  # detokenize with the target tokenizer: it drops <eos> and <pad>
    (2, 6)
    """
    limit = getattr(model, "max_target_length", None)
    if getattr(model, "position", None) == "learned" and limit is not None and max_length > limit:
        raise ValueError(f"max_length={max_length} exceeds the model's max_target_length={limit}")
    source_ids = ops.convert_to_tensor(source_ids, "int32")
    batch = ops.shape(source_ids)[0]
    tokens = ops.concatenate(
        [ops.full((batch, 1), BOS_ID, dtype="int32"), ops.full((batch, max_length), PAD_ID, dtype="int32")],
        axis=1,
    )
    prompt_lengths = ops.ones((batch,), dtype="int32")
    if beam_width > 1:
        decoder = Seq2SeqDecoder(model, source_ids, repeats=beam_width)
        tokens, _ = beam_search_ids(decoder, tokens, prompt_lengths, beam_width, length_penalty, max_new_tokens)
    else:
        decoder = Seq2SeqDecoder(model, source_ids)
        if noise is None:
            noise = ops.zeros((max_length + 1, batch), dtype="float32")  # greedy ignores it
        tokens, _ = generate_ids(decoder, tokens, prompt_lengths, noise, sampler, temperature, max_new_tokens)
    tokens = tokens[:, 1:]
    # Nothing after the first <eos>: greedy already pads there; a finished beam may not.
    after_eos = ops.cumsum(ops.cast(ops.equal(tokens, EOS_ID), "int32"), axis=1) - ops.cast(
        ops.equal(tokens, EOS_ID), "int32"
    )
    return ops.where(after_eos > 0, PAD_ID, tokens)
