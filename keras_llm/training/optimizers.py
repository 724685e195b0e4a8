"""AdamW with warmup + decay and no weight decay on norms and biases."""
import keras

from keras_llm.backend.ops import apply_adam
from keras_llm.training.schedules import WarmupDecaySchedule

# Substrings of variable names (Keras 3 `Variable.name`, e.g. "bias", "gamma") that get no weight decay:
# biases and LayerNormalization scale/offset.
NO_DECAY_NAMES = ("bias", "gamma", "beta")


@keras.saving.register_keras_serializable(package="keras_llm")
class AdamWWithDecayExclusions(keras.optimizers.AdamW):
    """`keras.optimizers.AdamW` whose exclusion list is a constructor argument.

    `AdamW.exclude_from_weight_decay(var_names=...)` is not part of the optimizer's config, so an optimizer
    restored from a `.keras` file would decay every variable again; keeping the names in the config fixes that.

    On the TensorFlow backend each variable's Adam step runs as TF's fused `ResourceApplyAdam` kernel
    (`keras_llm.backend.ops.apply_adam`; same formula, one pass instead of about a dozen);
    other backends, `amsgrad`, sparse gradients and `tf.distribute` variables run Keras' own `update_step`,
    the reference the tests compare against. `fused=False` turns the kernel off.

    Args:
        no_decay_names: substrings of variable names excluded from weight decay.
        fused: use the backend's fused Adam kernel where there is one (TensorFlow).
        **kwargs: `keras.optimizers.AdamW` arguments.

    Example:
    >>> optimizer = AdamWWithDecayExclusions(learning_rate=1e-3, weight_decay=0.01)
    >>> optimizer.no_decay_names
    ('bias', 'gamma', 'beta')
    """

    def __init__(self, no_decay_names=NO_DECAY_NAMES, fused=True, **kwargs):
        super().__init__(**kwargs)
        self.no_decay_names = tuple(no_decay_names)
        self.fused = bool(fused)
        if self.no_decay_names:
            self.exclude_from_weight_decay(var_names=list(self.no_decay_names))

    def update_step(self, gradient, variable, learning_rate):
        if self.fused and not self.amsgrad:
            index = self._get_variable_index(variable)
            if apply_adam(gradient, variable, self._momentums[index], self._velocities[index], learning_rate,
                          self.iterations + 1, self.beta_1, self.beta_2, self.epsilon):
                return
        super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        config = super().get_config()
        config["no_decay_names"] = list(self.no_decay_names)
        config["fused"] = self.fused
        return config


def make_optimizer(
    learning_rate=3e-4,
    weight_decay=0.01,
    warmup_steps=0,
    total_steps=None,
    decay="cosine",
    final_learning_rate=0.0,
    beta_1=0.9,
    beta_2=0.999,
    epsilon=1e-8,
    global_clipnorm=1.0,
    clipnorm=None,
    no_decay_names=NO_DECAY_NAMES,
):
    """AdamW for language models: warmup + decay schedule, global-norm clipping, no decay on norms/biases.

    Args:
        learning_rate: peak learning rate (a float), or any `LearningRateSchedule` (then the schedule
            arguments below are ignored).
        weight_decay: decoupled weight decay coefficient.
        warmup_steps: linear warmup steps.
        total_steps: step where the decay ends (usually epochs x steps per epoch); None for no decay.
        decay: `"cosine"`, `"linear"` or `"constant"`.
        final_learning_rate: learning rate at `total_steps`.
        beta_1: Adam first-moment decay.
        beta_2: Adam second-moment decay.
        epsilon: Adam epsilon.
        global_clipnorm: clip the gradients' global norm to this (None: off). Ignored when `clipnorm` is set.
        clipnorm: clip each gradient's norm separately (Keras' per-variable `clipnorm`); None: off.
        no_decay_names: variable-name substrings excluded from weight decay.

    Returns:
        An `AdamWWithDecayExclusions` (a `keras.optimizers.AdamW`).

    Example:
    >>> optimizer = make_optimizer(1e-3, warmup_steps=100, total_steps=1000)
    >>> isinstance(optimizer, keras.optimizers.AdamW)
    True
    """
    if isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        schedule = learning_rate
    elif warmup_steps or total_steps is not None:
        schedule = WarmupDecaySchedule(
            learning_rate,
            warmup_steps=warmup_steps,
            total_steps=total_steps,
            decay=decay,
            final_learning_rate=final_learning_rate,
        )
    else:
        schedule = float(learning_rate)
    if clipnorm is not None:
        global_clipnorm = None
    return AdamWWithDecayExclusions(
        learning_rate=schedule,
        weight_decay=weight_decay,
        beta_1=beta_1,
        beta_2=beta_2,
        epsilon=epsilon,
        global_clipnorm=global_clipnorm,
        clipnorm=clipnorm,
        no_decay_names=no_decay_names,
    )
