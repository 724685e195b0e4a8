"""`GradientNormMonitor`: the global L2 norm of each step's gradients in the logs."""
import contextlib

import keras
from keras import ops


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

    TensorFlow backend only: Keras' JAX train step applies the optimizer statelessly and keeps only the
    optimizer's own variables, so a norm stored there would never come out (the logs read 0.0 every step). On
    other backends the callback adds nothing to the logs.
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
        """Installs the hook on `optimizer` (idempotent; nothing on a backend other than TensorFlow)."""
        if keras.backend.backend() != "tensorflow":
            return
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
