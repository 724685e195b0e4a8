"""Text in, label and embedding out for a `TextClassifier`; texts are framed `<cls> tokens <sep>` like
`keras_llm.data.classification_dataset` and the exported `classify` signature frame them."""
from keras import ops

from keras_llm.generation.mask_filler import softmax
from keras_llm.generation.model_limits import encoder_max_length


def class_names(model, labels=None):
    """The class names of a classifier: `labels` as strings (one per class), default "0", "1", ..."""
    names = [str(i) for i in range(model.num_classes)] if labels is None else [str(x) for x in labels]
    if len(names) != model.num_classes:
        raise ValueError(f"{len(names)} labels given for a {model.num_classes}-class model")
    return names


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
        from keras_llm.tokenizers.framing import frame_cls_sep  # TensorFlow, as the tokenizer

        tokens, _ = frame_cls_sep(self.tokenizer.tokenize(texts), self.max_length)
        return tokens.numpy()

    def classify(self, texts):
        """-> {"probabilities": float [batch, num_classes], "label": list of class names}."""
        logits = ops.convert_to_numpy(self.model(self.encode(texts), training=False)).astype("float64")
        probabilities = softmax(logits)
        return {"probabilities": probabilities, "label": [self.labels[i] for i in probabilities.argmax(axis=-1)]}

    def embed(self, texts):
        """-> float32 [batch, dim]: the pooled features the classifier head reads."""
        return ops.convert_to_numpy(self.model.features(self.encode(texts), training=False)).astype("float32")
