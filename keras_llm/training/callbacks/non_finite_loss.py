"""`NonFiniteLossGuard`: stops training at the first NaN or infinite loss by raising `NonFiniteLossError`."""
import math

import keras

from keras_llm.training.callbacks.steps import global_step


class NonFiniteLossError(RuntimeError):
    """Raised by `NonFiniteLossGuard`; `step` is the 1-based global step whose loss was NaN or infinite.

    `note` is appended to the one-line message (the trainer names the checkpoint it kept)."""

    def __init__(self, step, epoch, batch, value, note=None):
        self.step, self.epoch, self.batch, self.value = step, epoch, batch, value
        message = f"loss is {value} at step {step} (epoch {epoch + 1}, batch {batch + 1}); training stopped"
        super().__init__(f"{message}; {note}" if note else message)


class NonFiniteLossGuard(keras.callbacks.Callback):
    """Stops training at the first NaN or infinite loss by raising `NonFiniteLossError`.

    Unlike `keras.callbacks.TerminateOnNaN` (which sets `stop_training`, so `fit` ends normally and
    `BackupAndRestore.on_train_end` deletes its checkpoint), raising leaves the last checkpoint written
    before the bad step in place, and, placed before `BackupAndRestore`, keeps it from saving the bad state.
    Keras' batch `loss` is the running mean of the epoch, so it turns NaN/Inf exactly at the first bad step.
    """

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        value = (logs or {}).get("loss")
        if value is not None and not math.isfinite(float(value)):
            raise NonFiniteLossError(global_step(self.model), getattr(self, "_epoch", 0), batch, float(value))
