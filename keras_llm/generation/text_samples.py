"""What a model makes of a few fixed inputs, for watching training: greedy continuations (causal LMs), greedy
translations (encoder-decoders) and fill-mask predictions (masked LMs).

The continuations and translations come from the package's one decoder (`TextGenerator`, `Translator`: the
cached, compiled loop of `keras_llm.generation.decoding`), greedy. Each `*_sampler(model, tokenizer,
max_new_tokens)` builds its helper once and returns `prompts -> texts`, so a callback that samples every epoch
compiles the loop once (the compiled loop reads the model's current weights); the trainer's TensorBoard
callback calls them.

Example:
    >>> from keras_llm.special_tokens import SPECIAL_TOKENS
    >>> from keras_llm.tokenizers import WordTokenizer
    >>> tokenizer = WordTokenizer(list(SPECIAL_TOKENS) + "the dog sees a red ball".split())
    >>> from keras_llm.models import RNNLanguageModel
    >>> model = RNNLanguageModel(tokenizer.vocabulary_size, num_layers=1, hidden_dim=8)
    >>> continuation_sampler(model, tokenizer, max_new_tokens=4)(["the dog"])  # trained: ['sees a red ball']
    ['...']
"""
import numpy as np
from keras import ops

from keras_llm import special_tokens as st
from keras_llm.generation.text_generator import TextGenerator
from keras_llm.generation.translator import Translator


def continuation_sampler(model, tokenizer, max_new_tokens=16):
    """`prompts -> texts`: the greedy continuation of each prompt (see `greedy_continuations`)."""
    generator = TextGenerator(model, tokenizer)
    limit = generator.decoder.max_length
    if limit is not None:
        max_new_tokens = min(max_new_tokens, limit - 1)  # TextGenerator keeps the prompt's end within the context

    def sample(prompts):
        return generator.generate(list(prompts), max_new_tokens=max_new_tokens, sampler="greedy")

    return sample


def translation_sampler(model, tokenizer, max_new_tokens=16):
    """`sources -> texts`: the greedy translation of each source (see `greedy_translations`)."""
    target_limit = getattr(model, "max_target_length", None)
    if target_limit:
        max_new_tokens = min(max_new_tokens, target_limit - 1)
    translator = Translator(model, tokenizer, max_new_tokens=max_new_tokens)
    # One source per call: an empty source is one <pad>, which the decoder attends over (all of it masked), so
    # its translation depends on the padded width a batch would give it.
    return lambda sources: [translator.translate([source])[0] for source in sources]


def fill_mask_sampler(model, tokenizer, max_new_tokens=None):
    """`texts -> strings`: each text with its middle token masked and predicted (see `fill_mask_predictions`);
    `max_new_tokens` is not used (one prediction per text)."""
    return lambda texts: fill_mask_predictions(model, tokenizer, texts)


def greedy_continuations(model, tokenizer, prompts, max_new_tokens=16):
    """Greedy continuation of each prompt (a string), as text.

    Each prompt is prefixed with the end-of-text token (`<eos>`: the document separator of packed training
    data), cut from the left to leave `max_new_tokens` within the model's context (`max_sequence_length`, if
    it has one; `max_new_tokens` is capped below it) and extended with the most likely next token, never a
    structural special token, until `<eos>` or `max_new_tokens`: `TextGenerator(model, tokenizer)`'s greedy
    decoding.
    """
    return continuation_sampler(model, tokenizer, max_new_tokens)(prompts)


def greedy_translations(model, tokenizer, sources, max_new_tokens=16):
    """Greedy target text for each source string, from an encoder-decoder (`Seq2SeqTransformer`,
    `LSTMSeq2Seq`): the decoder starts from `<bos>` and appends the most likely token until `<eos>`,
    `max_new_tokens` or its context (`max_target_length - 1` tokens): `Translator`'s greedy decoding."""
    return translation_sampler(model, tokenizer, max_new_tokens)(sources)


def _token_ids(tokenizer, texts):
    return [list(row) for row in tokenizer.tokenize(list(texts)).to_list()]


def fill_mask_predictions(model, tokenizer, texts):
    """Masks the middle token of each text and returns `"text with [prediction] in place"` strings.

    The input is `<cls> tokens <sep>` as `keras_llm.data.masked_lm_dataset` builds it; the prediction is
    the most likely non-special token at the masked position, shown as `[predicted (was original)]`.
    """
    results = []
    for ids in _token_ids(tokenizer, texts):
        if not ids:
            results.append("")
            continue
        position = len(ids) // 2
        original = ids[position]
        inputs = [st.CLS_ID] + ids[:position] + [st.MASK_ID] + ids[position + 1 :] + [st.SEP_ID]
        logits = ops.convert_to_numpy(model(np.array([inputs], dtype="int32"), training=False))[0, position + 1]
        logits[: st.NUM_SPECIAL_TOKENS] = -np.inf
        predicted = int(np.argmax(logits))
        left = tokenizer.detokenize_one(ids[:position]) if position else ""
        right = tokenizer.detokenize_one(ids[position + 1 :])
        guess = f"[{tokenizer.detokenize_one([predicted])} (was {tokenizer.detokenize_one([original])})]"
        results.append(" ".join(part for part in (left, guess, right) if part))
    return results
