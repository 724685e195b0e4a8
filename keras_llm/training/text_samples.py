"""What a model makes of a few fixed inputs, for watching training: greedy continuations (causal LMs),
greedy translations (encoder-decoders) and fill-mask predictions (masked LMs). Pure Keras 3.

These are deliberately simple -- one full forward pass per new token, no cache -- because they run on a
handful of prompts once per epoch, and because `training` sits to the left of `keras_llm.generation` (the
fast, cached decoder) in the package's import direction. To log the real decoder's output instead, pass
`sample_fn=lambda prompts: TextGenerator(model, tokenizer).generate(prompts)` to the TensorBoard callback.
"""
import numpy as np
from keras import ops

# Fixed ids of every keras_llm vocabulary (keras_llm/tokenizers/special_tokens.py). Repeated, like
# training/losses.py does for PAD_ID, because importing keras_llm.tokenizers imports TensorFlow.
PAD_ID, UNK_ID, BOS_ID, EOS_ID, MASK_ID, CLS_ID, SEP_ID = range(7)
NEVER_SAMPLED = (PAD_ID, BOS_ID, MASK_ID, CLS_ID, SEP_ID)


def _token_ids(tokenizer, texts):
    return [list(row) for row in tokenizer.tokenize(list(texts)).to_list()]


def greedy_continuations(model, tokenizer, prompts, max_new_tokens=16):
    """Greedy continuation of each prompt (a string), as text.

    Each prompt is prefixed with `<eos>` (the document separator of packed training data), cut from the
    left to the model's context (`max_sequence_length`, if it has one) and extended token by token with
    the most likely next token, never a structural special token, until `<eos>` or `max_new_tokens`.

    Example:
        >>> greedy_continuations(model, tokenizer, ["the dog"], max_new_tokens=4)
        ['sees a red ball']
    """
    context = getattr(model, "max_sequence_length", None)
    results = []
    for ids in _token_ids(tokenizer, prompts):
        ids, generated = [EOS_ID] + ids, []
        for _ in range(max_new_tokens):
            window = ids[-context:] if context else ids
            logits = ops.convert_to_numpy(model(np.array([window], dtype="int32"), training=False))[0, -1]
            logits[list(NEVER_SAMPLED)] = -np.inf
            token = int(np.argmax(logits))
            if token == EOS_ID:
                break
            ids.append(token)
            generated.append(token)
        results.append(tokenizer.detokenize_one(generated) if generated else "")
    return results


def greedy_translations(model, tokenizer, sources, max_new_tokens=16):
    """Greedy target text for each source string, from an encoder-decoder taking
    `{"encoder_inputs", "decoder_inputs"}` (the layout of `keras_llm.data.seq2seq_dataset`): the decoder
    starts from `<bos>` and appends the most likely token until `<eos>`, `max_new_tokens` or its context."""
    source_limit = getattr(model, "max_source_length", None)
    target_limit = getattr(model, "max_target_length", None)
    if target_limit:
        max_new_tokens = min(max_new_tokens, target_limit - 1)
    results = []
    for ids in _token_ids(tokenizer, sources):
        encoder_inputs = np.array([(ids[:source_limit] if source_limit else ids) or [PAD_ID]], dtype="int32")
        decoded = [BOS_ID]
        for _ in range(max_new_tokens):
            inputs = {"encoder_inputs": encoder_inputs, "decoder_inputs": np.array([decoded], dtype="int32")}
            logits = ops.convert_to_numpy(model(inputs, training=False))[0, -1]
            logits[list(NEVER_SAMPLED)] = -np.inf
            token = int(np.argmax(logits))
            if token == EOS_ID:
                break
            decoded.append(token)
        results.append(tokenizer.detokenize_one(decoded[1:]) if len(decoded) > 1 else "")
    return results


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
        inputs = [CLS_ID] + ids[:position] + [MASK_ID] + ids[position + 1 :] + [SEP_ID]
        logits = ops.convert_to_numpy(model(np.array([inputs], dtype="int32"), training=False))[0, position + 1]
        logits[:7] = -np.inf
        predicted = int(np.argmax(logits))
        left = tokenizer.detokenize_one(ids[:position]) if position else ""
        right = tokenizer.detokenize_one(ids[position + 1 :])
        guess = f"[{tokenizer.detokenize_one([predicted])} (was {tokenizer.detokenize_one([original])})]"
        results.append(" ".join(part for part in (left, guess, right) if part))
    return results


def token_embedding_matrix(model):
    """The model's token embedding table as a numpy array `[vocabulary_size, dim]`, or None.

    Found by shape and name, so it works for every keras_llm model: the first 2-D variable whose path
    mentions "embedding" (and not "position" or "segment") and whose first dimension is the model's
    vocabulary size."""
    vocabulary_size = getattr(model, "vocabulary_size", None)
    for variable in model.weights:
        path = getattr(variable, "path", variable.name).lower()
        if len(variable.shape) != 2 or "embedding" not in path or "position" in path or "segment" in path:
            continue
        if vocabulary_size is None or variable.shape[0] == vocabulary_size:
            return ops.convert_to_numpy(variable).astype("float32")
    return None
