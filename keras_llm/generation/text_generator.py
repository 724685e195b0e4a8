"""Text in, text out: binds a tokenizer to a causal LM and a decoding strategy."""
import numpy as np
from keras import ops

from keras_llm.generation import samplers
from keras_llm.generation.beam_search import beam_search_ids
from keras_llm.generation.compiled import compile_function
from keras_llm.generation.decoding import Decoder, generate_ids, uniform_noise
from keras_llm.generation.scoring import score_ids
from keras_llm.tokenizers.special_tokens import EOS_ID, PAD_ID


class TextGenerator:
    """Generates continuations of string prompts.

    Prompts are tokenized, prefixed with `<eos>` (the token that precedes every document in packed training
    data, so an empty prompt means "start of a document"), truncated from the left to leave room for
    `max_new_tokens` inside the model's context, and decoded in one compiled loop.

    Args:
        model: `TransformerLanguageModel` or `RNNLanguageModel` (anything `Decoder` adapts).
        tokenizer: the `keras_llm.tokenizers.Tokenizer` the model was trained with.
        jit_compile: compile the loop with XLA (TensorFlow backend; JAX always jits).

    Example:
        >>> generator = TextGenerator(model, tokenizer)
        >>> generator.generate(["the dog"], max_new_tokens=8)
        ['sees a red ball .']
    """

    def __init__(self, model, tokenizer, jit_compile=False):
        self.model = model
        self.tokenizer = tokenizer
        self.decoder = Decoder(model)
        self.jit_compile = jit_compile
        self._compiled = {}

    def _function(self, key, fn):
        if key not in self._compiled:
            self._compiled[key] = compile_function(fn, jit_compile=self.jit_compile)
        return self._compiled[key]

    def encode_prompts(self, prompts, max_new_tokens):
        """-> (tokens int32 [batch, longest + max_new_tokens], prompt_lengths int32 [batch])."""
        prompts = [prompts] if isinstance(prompts, str) else list(prompts)
        ids = [[EOS_ID] + row for row in self.tokenizer.tokenize(prompts).to_list()]
        limit = self.decoder.max_length
        if limit is not None:
            if max_new_tokens >= limit:
                raise ValueError(f"max_new_tokens ({max_new_tokens}) must be below the model's context ({limit})")
            ids = [row[-(limit - max_new_tokens):] for row in ids]  # keep the end of long prompts
        longest = max(len(row) for row in ids)
        tokens = np.full((len(ids), longest + max_new_tokens), PAD_ID, dtype="int32")
        for b, row in enumerate(ids):
            tokens[b, : len(row)] = row
        return tokens, np.array([len(row) for row in ids], dtype="int32")

    def generate_ids(self, prompts, max_new_tokens=32, sampler="greedy", temperature=None, top_k=None, top_p=None,
                     beam_width=None, length_penalty=0.0, seed=None):
        """Like `generate` but returns the generated ids per prompt (without the final `<eos>`)."""
        tokens, lengths = self.encode_prompts(prompts, max_new_tokens)
        if sampler == "beam" or beam_width:
            width = int(beam_width or 4)
            fn = self._function(("beam", width, length_penalty, max_new_tokens),
                                lambda t, n: beam_search_ids(self.decoder, t, n, width, length_penalty, max_new_tokens))
            out, end = fn(tokens, lengths)
        else:
            chosen = samplers.get(sampler, temperature=temperature, top_k=top_k, top_p=top_p)
            noise = uniform_noise(tokens.shape[1], tokens.shape[0], seed=seed)
            fn = self._function(("sample", repr(chosen.get_config()), max_new_tokens),
                                lambda t, n, u: generate_ids(self.decoder, t, n, u, chosen, max_new_tokens=max_new_tokens))
            out, end = fn(tokens, lengths, noise)
        out, end = ops.convert_to_numpy(out), ops.convert_to_numpy(end)
        results = []
        for row, start, stop in zip(out, lengths, end):
            generated = row[start:stop]
            results.append([int(t) for t in generated if t not in (EOS_ID, PAD_ID)])
        return results

    def generate(self, prompts, max_new_tokens=32, sampler="greedy", **settings):
        """Continuations (strings) of the prompts.

        Args:
            prompts: a string or a list of strings.
            max_new_tokens: at most this many tokens per continuation (fewer if `<eos>` comes first).
            sampler: "greedy", "temperature", "top_k", "top_p" or "beam", or a `Sampler`.
            **settings: `temperature`, `top_k`, `top_p`, `beam_width`, `length_penalty`, `seed`.
        """
        single = isinstance(prompts, str)
        ids = self.generate_ids(prompts, max_new_tokens, sampler, **settings)
        texts = [self.tokenizer.detokenize_one(row) for row in ids]
        return texts[0] if single else texts

    def score(self, texts):
        """Per text: log-likelihood of its tokens and the closing `<eos>` given a document start, the number
        of tokens scored, and perplexity = exp(-log_likelihood / num_tokens)."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        rows = [[EOS_ID] + row + [EOS_ID] for row in self.tokenizer.tokenize(texts).to_list()]
        limit = self.decoder.max_length
        if limit is not None:
            rows = [row[-limit:] for row in rows]
        ids = np.zeros((len(rows), max(map(len, rows))), dtype="int32")
        for b, row in enumerate(rows):
            ids[b, : len(row)] = row
        lengths = np.array([len(r) for r in rows], dtype="int32")
        ll, n = (ops.convert_to_numpy(t) for t in score_ids(self.model, ids, lengths))
        return {"log_likelihood": ll, "num_tokens": n, "perplexity": np.exp(-ll / np.maximum(n, 1))}
