"""The position-wise feed-forward network of a transformer block."""
import keras

from keras_llm.backend.ops import gelu
from keras_llm.layers.activations import get_activation
from keras_llm.layers.flat_positions import on_flat_positions


@keras.saving.register_keras_serializable(package="keras_llm")
class FeedForward(keras.layers.Layer):
    """`Dense(intermediate_dim, activation) -> Dense(dim)`, applied to every position independently.

    Written here (not taken from keras-hub, whose transformer layers inline it) because both of our
    transformer blocks share it.

    Args:
        intermediate_dim: width of the hidden layer (4 x the model width in GPT-2).
        activation: activation of the hidden layer, any `keras.activations` name.
        kernel_initializer: initializer of both kernels.
        bias_initializer: initializer of both biases.
        **kwargs: base `keras.layers.Layer` arguments.

    Example:
    >>> tuple(FeedForward(32)(keras.ops.ones((2, 3, 8))).shape)
    (2, 3, 8)
    """

    def __init__(
        self,
        intermediate_dim,
        activation="gelu",
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.intermediate_dim = int(intermediate_dim)
        self.activation = get_activation(activation)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def _dense(self, units, activation, name):
        return keras.layers.Dense(
            units,
            activation=activation,
            kernel_initializer=self.kernel_initializer.__class__.from_config(
                self.kernel_initializer.get_config()
            ),
            bias_initializer=self.bias_initializer.__class__.from_config(self.bias_initializer.get_config()),
            dtype=self.dtype_policy,
            name=name,
        )

    def build(self, input_shape):
        # Keras' exact GELU as `keras_llm.backend.ops.gelu` (as our `gelu_approximate` is): the same values, and
        # on TensorFlow a written-out gradient.
        activation = gelu if self.activation is keras.activations.gelu else self.activation
        self.intermediate_dense = self._dense(self.intermediate_dim, activation, "intermediate_dense")
        self.intermediate_dense.build(input_shape)
        self.output_dense = self._dense(input_shape[-1], None, "output_dense")
        self.output_dense.build(tuple(input_shape[:-1]) + (self.intermediate_dim,))

    def call(self, inputs):
        # One 2-D matmul per Dense over all positions (see `on_flat_positions`).
        return on_flat_positions(lambda x: self.output_dense(self.intermediate_dense(x)), inputs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "intermediate_dim": self.intermediate_dim,
                "activation": keras.activations.serialize(self.activation),
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            }
        )
        return config
