"""`StopAtStep`: ends training after a number of optimizer steps, counted across resumed runs."""
import keras

from keras_llm.training.callbacks.steps import global_step


class StopAtStep(keras.callbacks.Callback):
    """Ends training once the optimizer has taken `total_steps` steps (counted across resumed runs)."""

    def __init__(self, total_steps):
        super().__init__()
        self.total_steps = int(total_steps)

    def on_train_batch_end(self, batch, logs=None):
        if global_step(self.model) >= self.total_steps:
            self.model.stop_training = True
