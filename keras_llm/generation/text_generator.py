"""Text in, text out: binds a tokenizer to a causal LM and a decoding strategy."""
import numpy as np
from keras import ops

from keras_llm.generation import samplers
from keras_llm.generation.beam_search import beam_search_ids
from keras_llm.generation.compiled import compile_function
from keras_llm.generation.decoding import Decoder, generate_ids, start_token_id
from keras_llm.generation.logits_processors import check_settings
from keras_llm.generation.noise import random_seed, seeded_uniform
from keras_llm.generation.scoring import score_ids
from keras_llm.special_tokens import PAD_ID


class TextGenerator:
    """Generates continuations of string prompts.

    Prompts are tokenized, prefixed with the end-of-text token (`<eos>`, or the model's own such as GPT-2's
    `<|endoftext|>`: the token that precedes every document in packed training data, so an empty prompt
    means "start of a document"), truncated from the left to leave room for
    `max_new_tokens` inside the model's context, and decoded in one compiled loop.

    Decoding is greedy unless asked to sample: by a `sampler` name, or by a sampling setting without one
    (`temperature`, `top_p` or `seed`: top-p; `top_k`: top-k). Sampling settings not given default to top_p 0.9
    at temperature 0.8. A repetition penalty and a no-repeat n-gram size apply to greedy and sampled decoding
    alike. Sampling is seeded (`seed`, default a fresh one): the same seed gives the same text, here and in
    the exported SavedModel's `generate_with_options` (`keras_llm.generation.noise`).

    Args:
        model: `TransformerLanguageModel` or `RNNLanguageModel` (anything `Decoder` adapts).
        tokenizer: the `keras_llm.tokenizers.Tokenizer` the model was trained with.
        jit_compile: compile the loop with XLA (TensorFlow backend; JAX always jits).

    Example:
        >>> from keras_llm.special_tokens import SPECIAL_TOKENS
        >>> from keras_llm.tokenizers import WordTokenizer
        >>> tokenizer = WordTokenizer(list(SPECIAL_TOKENS) + "the dog sees a red ball .".split())
        >>> from keras_llm.models import TransformerLanguageModel
        >>> model = TransformerLanguageModel(tokenizer.vocabulary_size, num_layers=1, hidden_dim=8, num_heads=2,
        ...                                  intermediate_dim=16, max_sequence_length=16)
        >>> generator = TextGenerator(model, tokenizer)
        >>> generator.generate(["the dog"], max_new_tokens=5)  # untrained: any words; trained: ['sees a red ball .']
        ['...']
        >>> generator.generate(["the dog"], max_new_tokens=5, seed=1)  # a seed alone samples: top-p 0.9, T 0.8
        ['...']
    """

    def __init__(self, model, tokenizer, jit_compile=False):
        self.model = model
        self.tokenizer = tokenizer
        self.decoder = Decoder(model)
        self.start_id = start_token_id(self.decoder, tokenizer)
        # ids never shown in a continuation: the end of text, and <pad> where the model uses keras_llm's ids
        self._hidden = {self.start_id} | ({PAD_ID} if getattr(model, "token_conventions", None) is None else set())
        self.jit_compile = jit_compile
        self._compiled = {}

    def _function(self, key, fn):
        if key not in self._compiled:
            self._compiled[key] = compile_function(fn, jit_compile=self.jit_compile, model=self.model)
        return self._compiled[key]

    def encode_prompts(self, prompts, max_new_tokens):
        """-> (tokens int32 [batch, longest + max_new_tokens], prompt_lengths int32 [batch])."""
        prompts = [prompts] if isinstance(prompts, str) else list(prompts)
        ids = [[self.start_id] + row for row in self.tokenizer.tokenize(prompts).to_list()]
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

    def generate_ids(self, prompts, max_new_tokens=32, sampler=None, temperature=None, top_k=None, top_p=None,
                     beam_width=None, length_penalty=0.0, seed=None, repetition_penalty=None,
                     no_repeat_ngram_size=None):
        """Like `generate` but returns the generated ids per prompt (without the final `<eos>`)."""
        check_settings(repetition_penalty, no_repeat_ngram_size)
        tokens, lengths = self.encode_prompts(prompts, max_new_tokens)
        if sampler == "beam" or beam_width:
            if repetition_penalty not in (None, 1) or no_repeat_ngram_size:
                raise ValueError("beam search takes no repetition_penalty or no_repeat_ngram_size")
            width = int(beam_width or 4)
            fn = self._function(("beam", width, length_penalty, max_new_tokens),
                                lambda t, n: beam_search_ids(self.decoder, t, n, width, length_penalty, max_new_tokens))
            out, end = fn(tokens, lengths)
        else:
            if sampler is None:
                sampler = samplers.default_kind(temperature, top_k, top_p, seed)
            chosen = samplers.get(sampler, temperature=temperature, top_k=top_k, top_p=top_p)
            noise = seeded_uniform(tokens.shape[1], tokens.shape[0], random_seed() if seed is None else seed)
            constraints = {"repetition_penalty": repetition_penalty, "no_repeat_ngram_size": no_repeat_ngram_size}
            key = ("sample", repr(chosen.get_config()), max_new_tokens, repetition_penalty, no_repeat_ngram_size)
            fn = self._function(key, lambda t, n, u: generate_ids(self.decoder, t, n, u, chosen,
                                                                  max_new_tokens=max_new_tokens, **constraints))
            out, end = fn(tokens, lengths, noise)
        out, end = ops.convert_to_numpy(out), ops.convert_to_numpy(end)
        results = []
        for row, start, stop in zip(out, lengths, end):
            generated = row[start:stop]
            results.append([int(t) for t in generated if int(t) not in self._hidden])
        return results

    def generate(self, prompts, max_new_tokens=32, sampler=None, **settings):
        """Continuations (strings) of the prompts.

        Args:
            prompts: a string or a list of strings.
            max_new_tokens: at most this many tokens per continuation (fewer if `<eos>` comes first).
            sampler: "greedy", "temperature", "top_k", "top_p" or "beam", or a `Sampler`. Default: greedy, or
                top-p when `temperature`, `top_p` or `seed` is given (top-k when `top_k` is).
            **settings: `temperature` (default 0.8 when sampling), `top_k`, `top_p` (default 0.9), `seed` (an
                int in [0, 2**31 - 1]), `repetition_penalty` (> 1 discourages tokens already in the sequence,
                prompt included; default off), `no_repeat_ngram_size` (n: no n-gram occurs twice in
                prompt + continuation; default off), `beam_width`, `length_penalty`.
        """
        single = isinstance(prompts, str)
        ids = self.generate_ids(prompts, max_new_tokens, sampler, **settings)
        texts = [self.tokenizer.detokenize_one(row) for row in ids]
        return texts[0] if single else texts

    def score(self, texts):
        """Per text: log-likelihood of its tokens and the closing `<eos>` given a document start, the number
        of tokens scored, and perplexity = exp(-log_likelihood / num_tokens)."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        rows = [[self.start_id] + row + [self.start_id] for row in self.tokenizer.tokenize(texts).to_list()]
        limit = self.decoder.max_length
        if limit is not None:
            rows = [row[-limit:] for row in rows]
        ids = np.zeros((len(rows), max(map(len, rows))), dtype="int32")
        for b, row in enumerate(rows):
            ids[b, : len(row)] = row
        lengths = np.array([len(r) for r in rows], dtype="int32")
        ll, n = (ops.convert_to_numpy(t) for t in score_ids(self.model, ids, lengths))
        return {"log_likelihood": ll, "num_tokens": n, "perplexity": np.exp(-ll / np.maximum(n, 1))}
