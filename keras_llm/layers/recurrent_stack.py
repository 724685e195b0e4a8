"""Stacked SimpleRNN / LSTM / GRU layers whose states go in and come out as one tensor."""
import keras
from keras import ops

from keras_llm.layers.projected_lstm import ProjectedLSTM

# cell name -> (Keras layer class, number of state tensors per layer)
CELLS = {
    "rnn": (keras.layers.SimpleRNN, 1),
    "gru": (keras.layers.GRU, 1),
    "lstm": (ProjectedLSTM, 2),
}


@keras.saving.register_keras_serializable(package="keras_llm")
class RecurrentStack(keras.layers.Layer):
    """`num_layers` recurrent layers of the same width, with dropout between them.

    The layers are Keras' own `SimpleRNN`/`GRU` and `ProjectedLSTM` (Keras' `LSTM` with the input projection
    taken out of the time loop; same weights and outputs), default activations, no recurrent dropout, so on
    the TensorFlow backend with a GPU, LSTM and GRU run on cuDNN. What this layer adds is a single state
    tensor of shape `[batch, num_layers, num_states, units]` (`num_states` is 2 for LSTM: `h` then `c`; 1 for
    GRU/SimpleRNN), which the decoding loop and truncated backpropagation through time carry from one call
    to the next.

    Args:
        cell: `"lstm"`, `"gru"` or `"rnn"` (SimpleRNN).
        units: width of every layer.
        num_layers: number of stacked layers.
        dropout: dropout rate between consecutive layers (not on the recurrent connections, following
            Zaremba et al., 2014).
        return_state: whether `call` also returns the final state tensor.
        kernel_initializer: initializer of the input kernels.
        **kwargs: base `keras.layers.Layer` arguments.

    Call args:
        inputs: `[batch, T, features]`.
        initial_state: optional `[batch, num_layers, num_states, units]`; zeros when omitted.
        mask: optional `[batch, T]` boolean, False at (right-)padding steps: those steps leave the state
            unchanged, so the final state is the one after each row's last real step.
        training: whether dropout is active.

    Returns:
        `[batch, T, units]`, or `(outputs, final_state)` when `return_state=True`.

    Example:
    >>> stack = RecurrentStack("lstm", units=8, num_layers=2, return_state=True)
    >>> outputs, state = stack(keras.ops.ones((3, 5, 4)))
    >>> tuple(outputs.shape), tuple(state.shape)
    ((3, 5, 8), (3, 2, 2, 8))
    """

    def __init__(
        self,
        cell="lstm",
        units=128,
        num_layers=1,
        dropout=0.0,
        return_state=False,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {sorted(CELLS)}, got {cell!r}")
        self.cell = cell
        self.units = int(units)
        self.num_layers = int(num_layers)
        self.dropout = float(dropout)
        self.return_state = bool(return_state)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    @property
    def num_states(self):
        """State tensors per layer: 2 for LSTM (`h`, `c`), 1 otherwise."""
        return CELLS[self.cell][1]

    def build(self, input_shape):
        layer_class = CELLS[self.cell][0]
        self.recurrent_layers = []
        shape = tuple(input_shape)
        for index in range(self.num_layers):
            layer = layer_class(
                self.units,
                return_sequences=True,
                return_state=True,
                kernel_initializer=self.kernel_initializer.__class__.from_config(
                    self.kernel_initializer.get_config()
                ),
                dtype=self.dtype_policy,
                name=f"{self.cell}_{index}",
            )
            layer.build(shape)
            self.recurrent_layers.append(layer)
            shape = shape[:-1] + (self.units,)
        self.between_layers_dropout = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)

    def get_initial_state(self, batch_size):
        """Zeros of shape `[batch_size, num_layers, num_states, units]` in the compute dtype."""
        return ops.zeros((batch_size, self.num_layers, self.num_states, self.units), self.compute_dtype)

    def call(self, inputs, initial_state=None, mask=None, training=None):
        x = inputs
        final_states = []
        for index, layer in enumerate(self.recurrent_layers):
            if index > 0:
                x = self.between_layers_dropout(x, training=training)
            layer_state = None
            if initial_state is not None:
                layer_state = [
                    ops.cast(initial_state[:, index, k], x.dtype) for k in range(self.num_states)
                ]
            x, *states = layer(x, initial_state=layer_state, mask=mask, training=training)
            final_states.append(ops.stack(states, axis=1))
        if self.return_state:
            return x, ops.stack(final_states, axis=1)
        return x

    def compute_mask(self, inputs, mask=None):
        # The mask is used up here (it gates the state updates); the outputs carry none.
        return None

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "cell": self.cell,
                "units": self.units,
                "num_layers": self.num_layers,
                "dropout": self.dropout,
                "return_state": self.return_state,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            }
        )
        return config
