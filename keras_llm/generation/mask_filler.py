"""Text in, predictions out for a masked LM: the tokens at `<mask>` positions.

Texts are framed `<cls> tokens <sep>` exactly as `keras_llm.data.masked_lm_dataset` and the exported
`fill_mask` signature frame them (`keras_llm.tokenizers.framing`, imported when a text is encoded: only a
tokenizer, itself TensorFlow, needs it).
"""
import numpy as np
from keras import ops

from keras_llm import special_tokens as st
from keras_llm.generation.model_limits import encoder_max_length


def softmax(logits):
    """Probabilities of numpy `logits` over the last axis, in their dtype (float64 here: exact enough to rank)."""
    logits = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(axis=-1, keepdims=True)


class MaskFiller:
    """Predicts the tokens at `<mask>` positions of texts with a masked LM (`BertMaskedLM`).

    Texts are framed `<cls> tokens <sep>` (the first `max_length - 2` tokens are kept; masks past the cut
    are not predicted). Special tokens are never predicted; scores are probabilities over the vocabulary.

    Example:
        >>> from keras_llm.special_tokens import SPECIAL_TOKENS
        >>> from keras_llm.tokenizers import WordTokenizer
        >>> tokenizer = WordTokenizer(list(SPECIAL_TOKENS) + "the dog sees a red ball .".split())
        >>> from keras_llm.models import BertMaskedLM
        >>> model = BertMaskedLM(dict(vocabulary_size=tokenizer.vocabulary_size, num_layers=1, hidden_dim=8,
        ...                           num_heads=2, intermediate_dim=16, max_sequence_length=16))
        >>> MaskFiller(model, tokenizer).fill_mask(["the <mask> sees"], top_k=2)  # trained: [[[('dog', 0.61), ...
        [[[('...', ...), ('...', ...)]]]
    """

    def __init__(self, model, tokenizer, max_length=None, mask_token=st.MASK):
        self.model = model
        self.tokenizer = tokenizer
        self.max_length = int(max_length or encoder_max_length(model))
        self.mask_token = mask_token

    def encode(self, texts):
        """-> (tokens int32 [batch, longest], lengths int32 [batch])."""
        from keras_llm.tokenizers.framing import frame_cls_sep, tokenize_with_masks  # TensorFlow, as the tokenizer

        ids = tokenize_with_masks(self.tokenizer, list(texts), self.mask_token)
        tokens, lengths = frame_cls_sep(ids, self.max_length)
        return tokens.numpy(), lengths.numpy()

    def fill_mask(self, texts, top_k=5):
        """-> per text, per mask (left to right), the `top_k` `(token string, probability)` pairs."""
        tokens, _ = self.encode(texts)
        logits = ops.convert_to_numpy(self.model(tokens, training=False)).astype("float64")
        logits[..., : st.NUM_SPECIAL_TOKENS] = -np.inf
        results = []
        for row, ids in enumerate(tokens):
            masks = []
            for position in np.flatnonzero(ids == st.MASK_ID):
                probabilities = softmax(logits[row, position])
                best = np.argsort(-probabilities, kind="stable")[:top_k]
                masks.append([(self.tokenizer.detokenize_one([int(t)]), float(probabilities[t])) for t in best])
            results.append(masks)
        return results
