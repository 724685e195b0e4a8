"""An LSTM layer that multiplies the whole input sequence by its input kernel once, outside the time loop."""
import keras
from keras import ops

# `rnn` (the backend's loop over time steps, with masks) and `lstm` (cuDNN) have no public alias in Keras 3;
# `keras.layers.RNN` itself calls them this way.
from keras.src import backend as keras_backend


@keras.saving.register_keras_serializable(package="keras_llm")
class ProjectedLSTM(keras.layers.LSTM):
    """`keras.layers.LSTM` with the same arguments, weights, config and outputs, and a faster loop.

    Keras' LSTM (without cuDNN) computes `inputs_t @ kernel + h_{t-1} @ recurrent_kernel + bias` at every time
    step. Only the second product depends on the previous step, so this layer computes the first one for all
    steps as a single `[batch * T, features] x [features, 4 * units]` matmul before the loop, and the loop does
    the recurrent product and the gates. The backward pass gains the same way: the input kernel's gradient is one
    matmul instead of T accumulated ones. Where the backend offers cuDNN (TensorFlow with a GPU) it is used as
    in `keras.layers.LSTM`; with input or recurrent dropout on the cell (per-step masks) this falls back to
    Keras' own loop.

    Example:
    >>> layer = ProjectedLSTM(8, return_sequences=True)
    >>> tuple(layer(keras.ops.ones((2, 5, 4))).shape)
    (2, 5, 8)
    """

    def inner_loop(self, sequences, initial_state, mask, training=False):
        cell = self.cell
        if keras.tree.is_nested(mask):
            mask = mask[0]
        if cell.dropout or cell.recurrent_dropout or getattr(cell, "implementation", 2) != 2:
            return super().inner_loop(sequences, initial_state, mask, training=training)
        if self.use_cudnn in ("auto", True):
            try:
                out = keras_backend.lstm(
                    sequences, initial_state[0], initial_state[1], mask, kernel=cell.kernel,
                    recurrent_kernel=cell.recurrent_kernel, bias=cell.bias, activation=cell.activation,
                    recurrent_activation=cell.recurrent_activation, return_sequences=self.return_sequences,
                    go_backwards=self.go_backwards, unroll=self.unroll,
                )
                if keras_backend.backend() == "tensorflow":
                    self.supports_jit = False  # cuDNN ops are not XLA-compatible
                return out
            except NotImplementedError:
                pass

        projected = ops.matmul(sequences, cell.kernel)  # [batch, T, 4 * units]: gates i, f, c, o
        if cell.use_bias:
            projected = projected + cell.bias

        def step(projected_t, states):
            h, c = states
            z = projected_t + ops.matmul(h, cell.recurrent_kernel)
            z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
            c = cell.recurrent_activation(z_f) * c + cell.recurrent_activation(z_i) * cell.activation(z_c)
            h = cell.recurrent_activation(z_o) * cell.activation(c)
            return h, [h, c]

        return keras_backend.rnn(
            step,
            projected,
            list(initial_state),
            go_backwards=self.go_backwards,
            mask=mask,
            unroll=self.unroll,
            input_length=sequences.shape[1],
            zero_output_for_mask=self.zero_output_for_mask,
            return_all_outputs=self.return_sequences,
        )
