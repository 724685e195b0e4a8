"""Text in, text out for an encoder-decoder (`Seq2SeqTransformer`, `LSTMSeq2Seq`): translation."""
import numpy as np
from keras import ops

from keras_llm.generation.compiled import compile_function
from keras_llm.generation.model_limits import source_max_length
from keras_llm.generation.noise import uniform_noise
from keras_llm.generation.samplers import Sampler
from keras_llm.generation.seq2seq_decoding import translate_ids


class Translator:
    """Translates texts with a `Seq2SeqTransformer` or `LSTMSeq2Seq`.

    Sources keep their first `max_source_length` tokens (the model's limit with learned positions, else 512).

    Args:
        model: the encoder-decoder.
        source_tokenizer / target_tokenizer: tokenizers (the target one defaults to the source one).
        max_new_tokens: longest translation in tokens (`<eos>` included).
        beam_width: 1 for greedy (or sampling with `sampler`), more for beam search.
        sampler: a `Sampler` or a kind name ("greedy", "temperature", ...), for `beam_width=1`.
        jit_compile: compile the loop with XLA.

    Example:
        >>> from keras_llm.special_tokens import SPECIAL_TOKENS
        >>> from keras_llm.tokenizers import WordTokenizer
        >>> source_tok = WordTokenizer(list(SPECIAL_TOKENS) + "le chat voit".split())
        >>> target_tok = WordTokenizer(list(SPECIAL_TOKENS) + "the cat sees".split())
        >>> from keras_llm.models import Seq2SeqTransformer
        >>> model = Seq2SeqTransformer(source_tok.vocabulary_size, target_tok.vocabulary_size, num_encoder_layers=1,
        ...                            num_decoder_layers=1, hidden_dim=8, num_heads=2, intermediate_dim=16,
        ...                            max_source_length=16, max_target_length=16)
        >>> Translator(model, source_tok, target_tok, max_new_tokens=4).translate(["le chat"])  # trained: ['the cat']
        ['...']
    """

    def __init__(self, model, source_tokenizer, target_tokenizer=None, max_new_tokens=32, beam_width=1,
                 length_penalty=0.0, sampler=None, jit_compile=False):
        self.model = model
        self.source_tokenizer = source_tokenizer
        self.target_tokenizer = target_tokenizer or source_tokenizer
        self.max_new_tokens = int(max_new_tokens)
        self.max_source_length = source_max_length(model)
        self.beam_width = int(beam_width)
        self.length_penalty = float(length_penalty)
        self.sampler = Sampler(sampler) if isinstance(sampler, str) else (sampler or Sampler("greedy"))
        self._translate = compile_function(self._ids, jit_compile=jit_compile, model=model)

    def _ids(self, source_ids, noise):
        return translate_ids(self.model, source_ids, self.max_new_tokens, self.beam_width, self.length_penalty,
                             sampler=self.sampler, noise=noise)

    def encode(self, texts):
        """-> source ids int32 [batch, max(longest, 1)], padded with 0 (an empty text is one pad)."""
        rows = [row[: self.max_source_length] for row in self.source_tokenizer.tokenize(list(texts)).to_list()]
        ids = np.zeros((len(rows), max([1] + [len(r) for r in rows])), dtype="int32")
        for b, row in enumerate(rows):
            ids[b, : len(row)] = row
        return ids

    def translate_ids(self, texts, seed=None):
        """-> int32 [batch, max_new_tokens]: target ids, then `<eos>`, then `<pad>`."""
        source = self.encode(texts)
        noise = uniform_noise(self.max_new_tokens + 1, len(source), seed=seed)
        return np.asarray(ops.convert_to_numpy(self._translate(source, noise)))

    def translate(self, texts, seed=None):
        """-> the translations (strings)."""
        return [self.target_tokenizer.detokenize_one(row) for row in self.translate_ids(texts, seed=seed)]
