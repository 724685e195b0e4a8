"""Learning-rate warmup followed by cosine or linear decay."""
import math

import keras
from keras import ops

DECAYS = ("cosine", "linear", "constant")


@keras.saving.register_keras_serializable(package="keras_llm")
class WarmupDecaySchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warmup from 0 to `peak_learning_rate`, then decay to `final_learning_rate`.

    - step in `[0, warmup_steps]`: `peak * step / warmup_steps` (peak exactly at `warmup_steps`);
    - step in `[warmup_steps, total_steps]`: cosine (`final + (peak - final) * (1 + cos(pi * p)) / 2`) or
      linear (`peak + (final - peak) * p`), where `p` goes from 0 to 1;
    - after `total_steps`: `final_learning_rate`.
    With `decay="constant"` or `total_steps=None` the rate stays at the peak after warmup.

    Args:
        peak_learning_rate: rate reached at the end of warmup.
        warmup_steps: number of warmup steps (0: start at the peak).
        total_steps: step at which decay ends; None for no decay.
        decay: `"cosine"`, `"linear"` or `"constant"`.
        final_learning_rate: rate at and after `total_steps`.

    Example:
    >>> schedule = WarmupDecaySchedule(1e-3, warmup_steps=10, total_steps=110)
    >>> round(float(schedule(10)), 6), round(float(schedule(60)), 6), round(float(schedule(110)), 6)
    (0.001, 0.0005, 0.0)
    """

    def __init__(
        self,
        peak_learning_rate,
        warmup_steps=0,
        total_steps=None,
        decay="cosine",
        final_learning_rate=0.0,
    ):
        if decay not in DECAYS:
            raise ValueError(f"decay must be one of {DECAYS}, got {decay!r}")
        if total_steps is not None and total_steps < warmup_steps:
            raise ValueError(f"total_steps={total_steps} is smaller than warmup_steps={warmup_steps}.")
        self.peak_learning_rate = float(peak_learning_rate)
        self.warmup_steps = int(warmup_steps)
        self.total_steps = None if total_steps is None else int(total_steps)
        self.decay = decay
        self.final_learning_rate = float(final_learning_rate)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        peak = self.peak_learning_rate
        final = self.final_learning_rate
        if self.total_steps is None or self.decay == "constant":
            decayed = ops.full_like(step, peak)
        else:
            span = max(self.total_steps - self.warmup_steps, 1)
            progress = ops.clip((step - self.warmup_steps) / span, 0.0, 1.0)
            if self.decay == "cosine":
                decayed = final + (peak - final) * 0.5 * (1.0 + ops.cos(math.pi * progress))
            else:
                decayed = peak + (final - peak) * progress
        if self.warmup_steps == 0:
            return decayed
        warm = peak * step / self.warmup_steps
        return ops.where(step < self.warmup_steps, warm, decayed)

    def get_config(self):
        return {
            "peak_learning_rate": self.peak_learning_rate,
            "warmup_steps": self.warmup_steps,
            "total_steps": self.total_steps,
            "decay": self.decay,
            "final_learning_rate": self.final_learning_rate,
        }
