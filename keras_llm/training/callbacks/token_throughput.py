"""`TokenThroughput`: training tokens per second in the logs."""
import time

import keras


class TokenThroughput(keras.callbacks.Callback):
    """Adds `tokens_per_second` (training throughput) to the batch and epoch logs.

    Time is summed over the train steps themselves (from `on_train_batch_begin` to `on_train_batch_end`,
    which includes fetching the batch from the input pipeline) and excludes the first step of `fit` (it
    traces and compiles the train function) as well as validation, checkpoints and logging between steps.
    With a single step, that step's own time is used.

    Args:
        tokens_per_step: tokens consumed by one step over all replicas (global batch x sequence length).
    """

    def __init__(self, tokens_per_step):
        super().__init__()
        self.tokens_per_step = int(tokens_per_step)
        self.tokens_per_second = None
        self.steps = 0
        self.seconds = 0.0

    def on_train_begin(self, logs=None):
        self.steps, self.seconds = 0, 0.0

    def on_train_batch_begin(self, batch, logs=None):
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        elapsed = time.perf_counter() - self._start
        self.steps += 1
        if self.steps == 1:
            self.tokens_per_second = self.tokens_per_step / max(elapsed, 1e-9)
        else:
            self.seconds += elapsed
            self.tokens_per_second = (self.steps - 1) * self.tokens_per_step / max(self.seconds, 1e-9)
        if logs is not None:
            logs["tokens_per_second"] = self.tokens_per_second

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and self.tokens_per_second is not None:
            logs["tokens_per_second"] = self.tokens_per_second
