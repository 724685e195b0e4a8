"""Serving a `TextClassifier`: `classify` (probabilities and class name) and `embed` (the pooled features)."""
import tensorflow as tf

from keras_llm.export.base import STRINGS
from keras_llm.export.batching import chunked, trim_padding
from keras_llm.export.encoder_module import EncoderInputs
from keras_llm.generation.labeler import class_names
from keras_llm.generation.model_limits import encoder_max_length


class ClassifierServingModule(EncoderInputs):
    """`classify`, `embed` and `serving_default` (-> classify) of a `TextClassifier`.

    Args:
        model: a `TextClassifier`.
        tokenizer: its tokenizer.
        labels: class names (index = class id); default "0", "1", ...
        max_length: longest framed input (default: the encoder's context, else 512).
        max_batch_size: requests are processed in chunks of this many rows.
        stop_words: the `StopWordFilter` used in training, if any (runs in the graph).
        feature_name: the tf.Example feature `serving_default` reads.
    """

    def __init__(self, model, tokenizer, labels=None, max_length=None, max_batch_size=64, stop_words=None,
                 feature_name="text"):
        super().__init__(model, tokenizer, max_length or encoder_max_length(model.encoder), max_batch_size,
                         feature_name, name="classifier_serving")
        self.labels = tf.constant(class_names(model, labels))
        self.stop_words = stop_words
        self._embedding_dim = int(model.classifier_head.kernel.shape[0])

    def frame(self, texts):
        if self.stop_words is not None:
            texts = self.stop_words(texts)
        return super().frame(texts)

    @tf.function(input_signature=[STRINGS])
    def classify(self, texts):
        """texts string[None] -> `probabilities` float32 [batch, classes], `label` string [batch] (the class
        name), `label_id` int32 [batch]."""
        tokens, lengths = self.frame(texts)
        out = chunked(lambda t, n: {"p": tf.nn.softmax(tf.cast(self.model(trim_padding(t, n), training=False), tf.float32))},
                      (tokens, lengths), self.max_batch_size, {"p": tf.float32})
        probabilities = tf.reshape(out["p"], [-1, self.model.num_classes])
        label_id = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
        return {"probabilities": probabilities, "label": tf.gather(self.labels, label_id), "label_id": label_id}

    @tf.function(input_signature=[STRINGS])
    def embed(self, texts):
        """texts string[None] -> `embedding` float32 [batch, dim]: the pooled features the head reads."""
        return self._embed(texts, lambda t: self.model.features(t, training=False))

    @tf.function(input_signature=[STRINGS])
    def serving_default(self, examples):
        """Serialized tf.Example -> `classify`'s outputs."""
        return self.classify(self.parse_texts(examples))

    def signatures(self):
        return {"serving_default": self.serving_default, "classify": self.classify, "embed": self.embed}

    def warmup_inputs(self):
        return {"classify": {"texts": ["", "the"]}, "embed": {"texts": ["the"]}}
