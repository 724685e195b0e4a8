"""A classification head on any token encoder: BERT fine-tuning, feature extraction, ULMFiT-style LMs."""
import keras
from keras import ops

from keras_llm.models.freezing import freeze
from keras_llm.special_tokens import PAD_ID

POOLINGS = ("cls", "mean", "last")


def _token_ids(inputs):
    """The token ids of `inputs` (ids, or a dict with "token_ids"); also works on shapes."""
    return inputs["token_ids"] if isinstance(inputs, dict) else inputs


def masked_mean(sequence, mask):
    """Mean of `sequence` `[batch, T, dim]` over the positions where `mask` `[batch, T]` is True.

    Example:
    >>> x = keras.ops.reshape(keras.ops.arange(6, dtype="float32"), (1, 3, 2))
    >>> keras.ops.convert_to_numpy(masked_mean(x, keras.ops.array([[True, True, False]]))).tolist()
    [[1.0, 2.0]]
    """
    weights = ops.expand_dims(ops.cast(mask, sequence.dtype), -1)
    total = ops.sum(sequence * weights, axis=1)
    count = ops.maximum(ops.sum(weights, axis=1), ops.cast(1.0, sequence.dtype))
    return total / count


def last_real_position(sequence, mask):
    """`sequence[b, t_b]` where `t_b` is the last position where `mask[b]` is True (right padding).

    Example:
    >>> x = keras.ops.reshape(keras.ops.arange(6, dtype="float32"), (1, 3, 2))
    >>> keras.ops.convert_to_numpy(last_real_position(x, keras.ops.array([[True, True, False]]))).tolist()
    [[2.0, 3.0]]
    """
    lengths = ops.sum(ops.cast(mask, "int32"), axis=1)
    index = ops.maximum(lengths - 1, 0)
    one_hot = ops.one_hot(index, ops.shape(sequence)[1], dtype=sequence.dtype)  # [batch, T]
    return ops.einsum("bt,btd->bd", one_hot, sequence)


@keras.saving.register_keras_serializable(package="keras_llm")
class TextClassifier(keras.Model):
    """Token ids `[batch, T]` -> class logits `[batch, num_classes]` (float32) through an encoder.

    The encoder can be:
    - a `BertEncoder` (or any model returning a dict with `"sequence_output"` and optionally
      `"pooled_output"`);
    - a language model with a `hidden_states(token_ids, padding_mask=..., training=...)` method
      (`TransformerLanguageModel`, `RNNLanguageModel`: ULMFiT-style fine-tuning of a pretrained LM);
    - any Keras model/layer mapping ids to `[batch, T, dim]`, e.g. `keras.Sequential([Embedding,
      RecurrentStack("lstm", ...)])` for an LSTM encoder.

    Pooling: `"cls"` takes the first position (the `<cls>` token of `keras_llm.data.classification_dataset`;
    a `BertEncoder`'s `pooled_output`), `"mean"` averages the non-padding positions, `"last"` takes the last
    non-padding position (the natural choice for left-to-right encoders: LSTMs, causal LMs).

    `freeze_encoder=True` is feature extraction: the encoder's weights are not trained
    (`encoder.trainable = False`) and it runs in inference mode (no dropout); only the head learns.

    Args:
        encoder: the encoder model.
        num_classes: number of classes.
        dropout: dropout on the pooled features.
        pooling: `"cls"`, `"mean"` or `"last"`.
        freeze_encoder: keep the encoder fixed (feature extraction).
        **kwargs: base `keras.Model` arguments (`name`, `dtype`).

    Example:
    >>> from keras_llm.models import BertEncoder
    >>> encoder = BertEncoder(100, num_layers=1, hidden_dim=16, num_heads=2, intermediate_dim=32,
    ...                       max_sequence_length=8)
    >>> classifier = TextClassifier(encoder, num_classes=3, pooling="mean")
    >>> tuple(classifier(keras.ops.ones((2, 8), "int32")).shape)
    (2, 3)
    """

    def __init__(self, encoder, num_classes, dropout=0.1, pooling="cls", freeze_encoder=False, **kwargs):
        super().__init__(**kwargs)
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        self.encoder = encoder
        self.num_classes = int(num_classes)
        self.dropout = float(dropout)
        self.pooling = pooling
        self.freeze_encoder = bool(freeze_encoder)
        if self.freeze_encoder:
            freeze(self.encoder)
        self.feature_dropout = keras.layers.Dropout(dropout, dtype=self.dtype_policy, name="feature_dropout")
        self.classifier_head = keras.layers.Dense(self.num_classes, dtype=self.dtype_policy, name="classifier_head")

    def build(self, input_shape=(None, None)):
        if not self.encoder.built:
            self.encoder.build(input_shape)
        if not self.classifier_head.built:
            self.classifier_head.build((None, self._feature_dim(input_shape)))
        if self.freeze_encoder:  # again: the variables its build just created start out trainable
            freeze(self.encoder)

    def _feature_dim(self, input_shape):
        dim = getattr(self.encoder, "hidden_dim", None)  # BertEncoder and the language models
        if dim is None:  # any other encoder: trace it symbolically
            shape = tuple(2 if size is None else size for size in _token_ids(input_shape))
            outputs = self.encoder.compute_output_spec(keras.KerasTensor(shape, "int32"))
            dim = (outputs["sequence_output"] if isinstance(outputs, dict) else outputs).shape[-1]
        return int(dim)

    def _encode(self, inputs, training):
        """-> (sequence [batch, T, dim], pooled [batch, dim] or None, padding mask [batch, T])."""
        mask = ops.not_equal(_token_ids(inputs), PAD_ID)
        if hasattr(self.encoder, "hidden_states"):
            return self.encoder.hidden_states(inputs, padding_mask=mask, training=training), None, mask
        outputs = self.encoder(inputs, training=training)
        if isinstance(outputs, dict):
            return outputs["sequence_output"], outputs.get("pooled_output"), mask
        return outputs, None, mask

    def features(self, inputs, training=None):
        """The pooled encoder features `[batch, dim]` the head classifies (a text embedding)."""
        encoder_training = False if self.freeze_encoder else training
        sequence, pooled, mask = self._encode(inputs, encoder_training)
        if self.pooling == "cls":
            return pooled if pooled is not None else sequence[:, 0, :]
        if self.pooling == "mean":
            return masked_mean(sequence, mask)
        return last_real_position(sequence, mask)

    def call(self, inputs, training=None):
        features = self.feature_dropout(self.features(inputs, training=training), training=training)
        return ops.cast(self.classifier_head(features), "float32")

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "encoder": keras.saving.serialize_keras_object(self.encoder),
                "num_classes": self.num_classes,
                "dropout": self.dropout,
                "pooling": self.pooling,
                "freeze_encoder": self.freeze_encoder,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        return cls(**config)
