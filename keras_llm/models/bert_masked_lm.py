"""BERT's masked-language-model pretraining model: a `BertEncoder` plus a tied masked-LM head."""
import keras
from keras import ops

from keras_llm.layers.layer_normalization import LayerNormalization
from keras_llm.models.bert_encoder import BertEncoder


def as_bert_encoder(encoder):
    """A `BertEncoder` instance, a dict of its constructor arguments, or its `serialize_keras_object` form
    -> a `BertEncoder` (or the given model).

    Example:
    >>> as_bert_encoder(dict(vocabulary_size=50, num_layers=1, hidden_dim=8, num_heads=2,
    ...                      intermediate_dim=16)).num_layers
    1
    """
    if isinstance(encoder, dict):
        if "class_name" in encoder and "config" in encoder:
            return keras.saving.deserialize_keras_object(encoder)
        return BertEncoder(**encoder)
    return encoder


@keras.saving.register_keras_serializable(package="keras_llm")
class BertMaskedLM(keras.Model):
    """Token ids `[batch, T]` (with `<mask>` corruptions) -> logits `[batch, T, vocabulary_size]`.

    The head is BERT's: `Dense(hidden_dim, gelu)` -> layer norm -> product with the encoder's token embedding
    table (tied weights) + a per-token output bias. Logits are float32 also under mixed precision.

    Train it on `keras_llm.data.masked_lm_dataset`, whose batches are `(inputs, labels, sample_weight)` with
    `sample_weight = 1` at the masked positions. `keras_llm.training.compile_language_model` uses
    `MaskedSparseCategoricalCrossentropy`, which multiplies its per-token losses by the sample weights, so the
    loss is the mean over the masked tokens only. Keras hands sample weights to `weighted_metrics` only (not
    to `metrics`), so for a `BertMaskedLM` it compiles `metrics=[]` and
    `weighted_metrics=[MaskedTokenAccuracy(), Perplexity()]`: the metrics score the masked positions only
    (do the same when compiling by hand). The encoder's pooler (if any) gets no gradient from this task.

    Args:
        encoder: a `BertEncoder`, or a dict of `BertEncoder` constructor arguments.
        **kwargs: base `keras.Model` arguments (`name`, `dtype`).

    Call args:
        inputs: token ids `[batch, T]` or the dict a `BertEncoder` takes.
        training: whether dropout is active.

    Example:
    >>> model = BertMaskedLM(dict(vocabulary_size=100, num_layers=1, hidden_dim=16, num_heads=2,
    ...                           intermediate_dim=32, max_sequence_length=8))
    >>> tuple(model(keras.ops.ones((2, 8), "int32")).shape)
    (2, 8, 100)
    """

    def __init__(self, encoder, **kwargs):
        super().__init__(**kwargs)
        self.output_bias = None
        self.encoder = as_bert_encoder(encoder)
        policy = self.dtype_policy
        hidden_dim = self.encoder.hidden_dim
        self.head_dense = keras.layers.Dense(hidden_dim, activation="gelu", dtype=policy, name="head_dense")
        self.head_norm = LayerNormalization(
            epsilon=self.encoder.layer_norm_epsilon, dtype=policy, name="head_norm"
        )

    @property
    def vocabulary_size(self):
        return self.encoder.vocabulary_size

    def build(self, input_shape=(None, None)):
        if not self.encoder.built:
            self.encoder.build(input_shape)
        if isinstance(input_shape, dict):
            input_shape = input_shape["token_ids"]
        hidden_shape = tuple(input_shape) + (self.encoder.hidden_dim,)
        for layer in (self.head_dense, self.head_norm):
            if not layer.built:
                layer.build(hidden_shape)
        if getattr(self, "output_bias", None) is not None:
            return
        self.output_bias = self.add_weight(
            shape=(self.vocabulary_size,), initializer="zeros", dtype=self.variable_dtype, name="output_bias"
        )

    def call(self, inputs, training=None):
        hidden = self.encoder(inputs, training=training)["sequence_output"]
        hidden = self.head_norm(self.head_dense(hidden))
        table = ops.cast(self.encoder.token_embeddings, hidden.dtype)
        logits = ops.matmul(hidden, ops.transpose(table))
        return ops.cast(logits, "float32") + ops.cast(self.output_bias, "float32")

    def get_config(self):
        config = super().get_config()
        config["encoder"] = keras.saving.serialize_keras_object(self.encoder)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        return cls(**config)
