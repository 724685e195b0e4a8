"""Training callbacks for language models (pure Keras 3): throughput, gradient norm, a NaN/Inf stop,
a step budget and a progress bar that shows tokens per second and perplexity.

Order matters, because Keras hands one `logs` dict to every callback in turn: put `NonFiniteLossGuard`
first (it raises before anything after it -- notably `keras.callbacks.BackupAndRestore` -- can save a
broken state), then `TokenThroughput` and `GradientNormMonitor` (they add `tokens_per_second` and
`gradient_norm` to `logs`), then the loggers (`LanguageModelTensorBoard`, `LanguageModelProgbar`).
`keras_llm.training.trainer` builds exactly that list.
"""
import contextlib
import math
import time

import keras
from keras import ops

PROGBAR_KEYS = ("loss", "perplexity", "tokens_per_second", "val_loss", "val_perplexity")


def global_step(model):
    """Optimizer steps taken so far (`optimizer.iterations`, restored with the weights on resume)."""
    return int(ops.convert_to_numpy(model.optimizer.iterations))


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


class StopAtStep(keras.callbacks.Callback):
    """Ends training once the optimizer has taken `total_steps` steps (counted across resumed runs)."""

    def __init__(self, total_steps):
        super().__init__()
        self.total_steps = int(total_steps)

    def on_train_batch_end(self, batch, logs=None):
        if global_step(self.model) >= self.total_steps:
            self.model.stop_training = True


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


def _gradient_norm(grads):
    squares = [ops.sum(ops.square(ops.cast(g, "float32"))) for g in grads if g is not None]
    return ops.sqrt(ops.sum(ops.stack(squares))) if squares else ops.zeros((), "float32")


class GradientNormMonitor(keras.callbacks.Callback):
    """Adds `gradient_norm`, the global L2 norm of each step's gradients, to the batch logs.

    How: it wraps the optimizer's `apply` (on the instance; the inner optimizer of a `LossScaleOptimizer`)
    so that every step also stores `sqrt(sum of squared gradient entries)` in a scalar variable, computed in
    the train step on the gradients the optimizer receives -- before clipping, after loss-scale unscaling.
    The cost is one reduction over the gradients per step; nothing is recomputed. It must be attached
    before the train function is traced: the callback does it in `set_model` (which `fit` calls first) and
    drops an already traced train function.

    Under a data-parallel `tf.distribute` strategy with N replicas, Keras hands the optimizer each
    replica's own gradient (of its share of the batch, loss scaled by 1/N) and all-reduces later, so the
    value logged is replica 0's -- the same quantity Keras' `global_clipnorm` clips. With one replica it
    is exactly the gradient norm of the training batch.
    """

    def __init__(self):
        super().__init__()
        self.variable = None
        self._optimizer = None

    def set_model(self, model):
        super().set_model(model)
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None and optimizer is not self._optimizer:
            self.attach(optimizer, model)

    def attach(self, optimizer, model=None):
        """Installs the hook on `optimizer` (idempotent)."""
        inner = getattr(optimizer, "inner_optimizer", optimizer)
        self._optimizer = optimizer
        existing = getattr(inner.apply, "gradient_norm_variable", None)
        if existing is not None:
            self.variable = existing
            return
        strategy = getattr(model, "distribute_strategy", None)  # TensorFlow backend only
        with strategy.scope() if strategy is not None else contextlib.nullcontext():
            self.variable = keras.Variable(0.0, dtype="float32", trainable=False, name="gradient_norm",
                                           aggregation="only_first_replica")
        variable, original_apply = self.variable, inner.apply

        def apply(grads, trainable_variables=None):
            grads = list(grads)
            variable.assign(_gradient_norm(grads))
            return original_apply(grads, trainable_variables)

        # The variable hangs off the wrapper function, not the optimizer: an optimizer attribute holding a
        # variable would be tracked, saved with the optimizer state, and break restoring older checkpoints.
        apply.gradient_norm_variable = variable
        inner.apply = apply
        if model is not None and getattr(model, "train_function", None) is not None:
            model.train_function = None  # traced without the hook: trace again

    def on_train_batch_end(self, batch, logs=None):
        if logs is not None and self.variable is not None:
            logs["gradient_norm"] = float(ops.convert_to_numpy(self.variable))


class LanguageModelProgbar(keras.callbacks.ProgbarLogger):
    """Keras' progress bar showing the current loss, perplexity and tokens per second (not averages).

    Being a `ProgbarLogger`, it replaces the default one. Values are shown as logged (Keras 3.12's default
    bar averages every metric again over the epoch, although `loss` and `perplexity` already are running
    epoch values).

    Args:
        verbose: 1 for an interactive bar, 2 for one line per epoch, 0 for silence.
        keys: log entries to show, in order.
    """

    def __init__(self, verbose=1, keys=PROGBAR_KEYS):
        super().__init__()
        self.verbose = verbose
        self.keys = tuple(keys)
        self.progbar = None
        self.seen = 0

    def set_params(self, params):
        self.params = params
        self.epochs = params.get("epochs") or 1
        self.target = params.get("steps")

    def _shown(self, logs):
        return [(key, logs[key]) for key in self.keys if key in (logs or {})]

    def on_train_begin(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        self.seen = 0
        self.progbar = keras.utils.Progbar(self.target, verbose=self.verbose, stateful_metrics=self.keys,
                                           unit_name="step")
        if self.verbose and self.epochs > 1:
            print(f"Epoch {epoch + 1}/{self.epochs}", flush=True)

    def on_train_batch_end(self, batch, logs=None):
        self.seen = batch + 1
        if self.verbose == 1 and self.progbar is not None:
            self.progbar.update(self.seen, self._shown(logs), finalize=False)

    def on_epoch_end(self, epoch, logs=None):
        if self.progbar is not None:
            self.progbar.update(self.seen, self._shown(logs), finalize=True)

    def on_test_begin(self, logs=None):
        pass

    def on_test_batch_end(self, batch, logs=None):
        pass

    def on_test_end(self, logs=None):
        pass

    def on_predict_begin(self, logs=None):
        pass

    def on_predict_batch_end(self, batch, logs=None):
        pass

    def on_predict_end(self, logs=None):
        pass
