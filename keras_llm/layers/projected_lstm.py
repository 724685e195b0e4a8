"""An LSTM layer that multiplies the whole input sequence by its input kernel once, outside the time loop."""
import keras
from keras import ops

from keras_llm.backend.ops import cudnn_lstm_applies, lstm


@keras.saving.register_keras_serializable(package="keras_llm")
class ProjectedLSTM(keras.layers.LSTM):
    """`keras.layers.LSTM` with the same arguments, weights, config and outputs, and a faster loop.

    Keras' LSTM (without cuDNN) computes `inputs_t @ kernel + h_{t-1} @ recurrent_kernel + bias` at every time
    step. Only the second product depends on the previous step, so this layer computes the first one for all
    steps as a single `[batch * T, features] x [features, 4 * units]` matmul before the loop, and the loop
    (`keras_llm.backend.ops.lstm`) does the recurrent product and the gates. The backward pass gains the same
    way: the input kernel's gradient is one matmul instead of T accumulated ones. Where Keras' LSTM would run
    cuDNN (TensorFlow with a GPU), or with input or recurrent dropout on the cell (per-step masks), this runs
    Keras' own loop.

    Example:
    >>> layer = ProjectedLSTM(8, return_sequences=True)
    >>> tuple(layer(keras.ops.ones((2, 5, 4))).shape)
    (2, 5, 8)
    """

    def inner_loop(self, sequences, initial_state, mask, training=False):
        cell = self.cell
        cudnn = self.use_cudnn in ("auto", True) and cudnn_lstm_applies(
            cell.activation, cell.recurrent_activation, self.unroll, cell.use_bias)
        if cudnn or cell.dropout or cell.recurrent_dropout or getattr(cell, "implementation", 2) != 2:
            return super().inner_loop(sequences, initial_state, mask, training=training)
        if keras.tree.is_nested(mask):
            mask = mask[0]
        projected = ops.matmul(sequences, cell.kernel)  # [batch, T, 4 * units]: gates i, f, c, o
        if cell.use_bias:
            projected = projected + cell.bias
        return lstm(projected, initial_state[0], initial_state[1], cell.recurrent_kernel, cell.activation,
                    cell.recurrent_activation, mask=mask, go_backwards=self.go_backwards, unroll=self.unroll,
                    zero_output_for_mask=self.zero_output_for_mask, return_sequences=self.return_sequences)
