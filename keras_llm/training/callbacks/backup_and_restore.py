"""`keras.callbacks.BackupAndRestore` that also restores the random state `model.save_weights` leaves out."""
import json
import os

import keras
import numpy as np

from keras_llm.training.callbacks.steps import global_step

SEEDS_PREFIX = "seeds-"


def random_state_variables(model):
    """The variables of `model` that `model.save_weights` does not save: the states of its
    `keras.random.SeedGenerator`s (one per dropout layer), which pick each step's dropout masks.

    Args:
        model: a built Keras model.

    Example:
        >>> [v.name for v in random_state_variables(model)]   # ['seed_generator_state', ...]
    """
    saved = {id(v) for v in model.weights}
    return [v for v in model.variables if id(v) not in saved]


class BackupAndRestore(keras.callbacks.BackupAndRestore):
    """Keras' `BackupAndRestore` (same arguments), plus the model's random-seed states.

    Keras' checkpoint holds the weights and the optimizer, not the seed generators' states, so a run resumed
    from it draws the dropout masks of its first steps again and ends with other weights than an
    uninterrupted run. This one writes the states to `seeds-<step>.json` in `backup_dir` before each
    checkpoint and keeps the last two files, so whichever checkpoint Keras restores -- the latest or, when
    that one was left half-written, the previous one -- finds the states of its own step. A checkpoint
    without a seeds file (written by Keras' own callback) restores as Keras' does.

    Args:
        backup_dir, save_freq, double_checkpoint, delete_checkpoint: as for `keras.callbacks.BackupAndRestore`.

    Example:
        >>> backup = BackupAndRestore("runs/lm/backup", save_freq=100, double_checkpoint=True)
        >>> model.fit(train, epochs=3, callbacks=[backup])   # kill it, run again: same weights at the end
    """

    def _seeds_path(self, step):
        return os.path.join(self.backup_dir, f"{SEEDS_PREFIX}{step}.json")

    def _seed_files(self):
        names = os.listdir(self.backup_dir) if os.path.isdir(self.backup_dir) else []
        return sorted(int(n[len(SEEDS_PREFIX):-len(".json")]) for n in names
                      if n.startswith(SEEDS_PREFIX) and n.endswith(".json"))

    def _save_model(self):
        variables = random_state_variables(self.model)
        if variables:
            os.makedirs(self.backup_dir, exist_ok=True)
            step = global_step(self.model)
            path = self._seeds_path(step)
            with open(f"{path}.tmp", "w", encoding="utf-8") as f:
                json.dump([keras.ops.convert_to_numpy(v).tolist() for v in variables], f)
            os.replace(f"{path}.tmp", path)
            # Keep this step's and the previous checkpoint's; later steps are a killed run's, never restored.
            kept = [s for s in self._seed_files() if s <= step][-2:]
            for old in set(self._seed_files()) - set(kept):
                os.remove(self._seeds_path(old))
        super()._save_model()

    def _load_model(self):
        super()._load_model()
        variables = random_state_variables(self.model)
        path = self._seeds_path(global_step(self.model))
        if not variables or not os.path.isfile(path):
            return
        with open(path, encoding="utf-8") as f:
            states = json.load(f)
        if len(states) != len(variables):
            raise ValueError(f"{path} holds {len(states)} random states, the model has {len(variables)}")
        for variable, state in zip(variables, states):
            variable.assign(np.asarray(state, dtype=keras.backend.standardize_dtype(variable.dtype)))
