"""Text in, text out for the non-causal models: translate (seq2seq), fill masks (MLM), classify and embed.

Each helper binds a model to its tokenizer(s) and frames inputs exactly as the training data builders do
(`keras_llm.data`) and as the exported SavedModels do (`keras_llm.export`), so Python and serving agree.
"""
import numpy as np
from keras import ops

from keras_llm.generation.compiled import compile_function
from keras_llm.generation.noise import uniform_noise
from keras_llm.generation.samplers import Sampler
from keras_llm.generation.seq2seq_decoding import translate_ids
from keras_llm.tokenizers import special_tokens as st
from keras_llm.tokenizers.framing import frame_cls_sep, tokenize_with_masks

DEFAULT_MAX_LENGTH = 512  # encoders without a positional limit (recurrent ones)


def encoder_max_length(model, default=DEFAULT_MAX_LENGTH):
    """The longest input an encoder-based model takes: its (or its encoder's) `max_sequence_length`."""
    for candidate in (model, getattr(model, "encoder", None)):
        limit = getattr(candidate, "max_sequence_length", None)
        if limit:
            return int(limit)
    return default


def source_max_length(model, default=DEFAULT_MAX_LENGTH):
    """The longest source a seq2seq model encodes (`max_source_length` with learned positions)."""
    if getattr(model, "position", None) == "learned" and getattr(model, "max_source_length", None):
        return int(model.max_source_length)
    return default


def class_names(model, labels=None):
    """The class names of a classifier: `labels` as strings (one per class), default "0", "1", ..."""
    names = [str(i) for i in range(model.num_classes)] if labels is None else [str(x) for x in labels]
    if len(names) != model.num_classes:
        raise ValueError(f"{len(names)} labels given for a {model.num_classes}-class model")
    return names


def _softmax(logits):
    logits = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(axis=-1, keepdims=True)


class MaskFiller:
    """Predicts the tokens at `<mask>` positions of texts with a masked LM (`BertMaskedLM`).

    Texts are framed `<cls> tokens <sep>` (the first `max_length - 2` tokens are kept; masks past the cut
    are not predicted). Special tokens are never predicted; scores are probabilities over the vocabulary.

    Example:
        >>> MaskFiller(model, tokenizer).fill_mask(["the <mask> sat"], top_k=2)
        [[[('cat', 0.61), ('dog', 0.2)]]]
    """

    def __init__(self, model, tokenizer, max_length=None, mask_token=st.MASK):
        self.model = model
        self.tokenizer = tokenizer
        self.max_length = int(max_length or encoder_max_length(model))
        self.mask_token = mask_token

    def encode(self, texts):
        """-> (tokens int32 [batch, longest], lengths int32 [batch])."""
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
                probabilities = _softmax(logits[row, position])
                best = np.argsort(-probabilities, kind="stable")[:top_k]
                masks.append([(self.tokenizer.detokenize_one([int(t)]), float(probabilities[t])) for t in best])
            results.append(masks)
        return results


class Labeler:
    """Classifies texts with a `TextClassifier` and embeds them (its pooled features).

    Texts are framed `<cls> tokens <sep>` like `keras_llm.data.classification_dataset` (first
    `max_length - 2` tokens kept).

    Args:
        model: a `TextClassifier`.
        tokenizer: its tokenizer.
        labels: class names, index = class id (default "0", "1", ...).
        max_length: longest input (default: the encoder's context, else 512).
        stop_words: the `StopWordFilter` used in training, if any.
    """

    def __init__(self, model, tokenizer, labels=None, max_length=None, stop_words=None):
        self.model = model
        self.tokenizer = tokenizer
        self.labels = class_names(model, labels)
        self.max_length = int(max_length or encoder_max_length(model.encoder))
        self.stop_words = stop_words

    def encode(self, texts):
        texts = list(texts)
        if self.stop_words is not None:
            texts = self.stop_words(texts)
        tokens, _ = frame_cls_sep(self.tokenizer.tokenize(texts), self.max_length)
        return tokens.numpy()

    def classify(self, texts):
        """-> {"probabilities": float [batch, num_classes], "label": list of class names}."""
        logits = ops.convert_to_numpy(self.model(self.encode(texts), training=False)).astype("float64")
        probabilities = _softmax(logits)
        return {"probabilities": probabilities, "label": [self.labels[i] for i in probabilities.argmax(axis=-1)]}

    def embed(self, texts):
        """-> float32 [batch, dim]: the pooled features the classifier head reads."""
        return ops.convert_to_numpy(self.model.features(self.encode(texts), training=False)).astype("float32")


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
        >>> Translator(model, source_tok, target_tok).translate(["le chat"])
        ['the cat']
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
