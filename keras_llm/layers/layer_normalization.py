"""Layer normalization over the last axis through `keras_llm.backend.ops.layer_norm`."""
import keras
from keras import ops

from keras_llm.backend.ops import layer_norm


@keras.saving.register_keras_serializable(package="keras_llm")
class LayerNormalization(keras.layers.LayerNormalization):
    """`keras.layers.LayerNormalization` (same arguments, weights, config and values) whose usual case, centered
    and scaled over the last axis, runs `keras_llm.backend.ops.layer_norm` (on TensorFlow its gradient is written
    out). Other axes, `center=False`, `scale=False` and `rms_scaling` run Keras' own code.

    Example:
    >>> norm = LayerNormalization(epsilon=1e-5)
    >>> y = norm(keras.ops.convert_to_tensor([[1.0, 2.0, 3.0]]))
    >>> [round(float(v), 4) for v in y[0]]
    [-1.2247, 0.0, 1.2247]
    """

    def call(self, inputs):
        rank = len(inputs.shape)
        axes = [axis % rank for axis in (self.axis if isinstance(self.axis, list) else [self.axis])]
        if axes != [rank - 1] or not self.center or not self.scale or getattr(self, "rms_scaling", False):
            return super().call(inputs)
        return ops.cast(layer_norm(inputs, self.gamma, self.beta, self.epsilon), self.compute_dtype)
