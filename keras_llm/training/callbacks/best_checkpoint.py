"""Keep the weights of the best validation epoch and stop early: a callback whose state survives `kill -9`."""
import json
import os

import keras


class BestCheckpoint(keras.callbacks.Callback):
    """Saves the weights of the epoch with the lowest `monitor` value (default `val_loss`), stops training
    after `patience` epochs without an improvement larger than `min_delta`, and loads the best weights back
    into the model when training ends.

    Its state (every epoch's value, the best epoch, whether it stopped) is a JSON file next to the weights
    in `directory`, so a resumed run continues it: call `resume(completed_epochs)` with the number of epochs
    the restored checkpoint holds; records of later epochs (written before the process died, but after the
    checkpoint it resumes from) are dropped and re-made. The weights of the best and of the previous best
    epoch are kept, since the best may be such a dropped epoch. Place it before
    `keras.callbacks.BackupAndRestore`, so that a checkpoint never holds an epoch this callback has not
    recorded.

    Args:
        directory: folder of the state file and weights (created when needed).
        monitor: the epoch-end log key to minimize.
        patience: epochs without improvement before stopping; 0 never stops early.
        min_delta: smallest decrease that counts as an improvement.
        verbose: print a line when stopping early and when restoring the best weights.

    Example:
        >>> best = BestCheckpoint("runs/lm/backup/best", patience=3)
        >>> model.fit(train, validation_data=valid, epochs=20, callbacks=[best])
        >>> best.best_epoch, best.best_value   # the weights now in `model` are that epoch's
    """

    STATE_FILE = "best.json"

    def __init__(self, directory, monitor="val_loss", patience=0, min_delta=0.0, verbose=0):
        super().__init__()
        self.directory = os.fspath(directory)
        self.monitor = monitor
        self.patience = int(patience)
        self.min_delta = float(min_delta)
        self.verbose = verbose
        self.values = {}  # epoch (0-based) -> monitored value
        self.stopped_epoch = None

    @property
    def _state_path(self):
        return os.path.join(self.directory, self.STATE_FILE)

    def _weights_path(self, epoch):
        return os.path.join(self.directory, f"epoch-{epoch}.weights.h5")

    @property
    def best_epoch(self):
        """The 0-based epoch of the lowest value so far, or None before the first validation."""
        best = None
        for epoch in sorted(self.values):
            if best is None or self.values[epoch] < self.values[best] - self.min_delta:
                best = epoch
        return best

    @property
    def best_value(self):
        epoch = self.best_epoch
        return None if epoch is None else self.values[epoch]

    @property
    def stopped(self):
        """Whether an earlier run (or this one) stopped early: a resumed run then has nothing left to train."""
        return self.stopped_epoch is not None

    def _epochs_since_best(self):
        best = self.best_epoch
        return 0 if best is None else sum(1 for epoch in self.values if epoch > best)

    def resume(self, completed_epochs):
        """Loads the state of an interrupted run whose restored checkpoint holds `completed_epochs` epochs."""
        if not os.path.isfile(self._state_path):
            return self
        with open(self._state_path, encoding="utf-8") as f:
            state = json.load(f)
        self.values = {int(e): float(v) for e, v in state["values"].items() if int(e) < completed_epochs}
        stopped = state.get("stopped_epoch")
        self.stopped_epoch = stopped if stopped is not None and stopped < completed_epochs else None
        return self

    def _save_state(self):
        state = {"monitor": self.monitor, "values": {str(e): v for e, v in sorted(self.values.items())},
                 "best_epoch": self.best_epoch, "stopped_epoch": self.stopped_epoch}
        temporary = self._state_path + ".tmp"
        with open(temporary, "w", encoding="utf-8") as f:
            json.dump(state, f, indent=2)
        os.replace(temporary, self._state_path)  # atomic: a kill leaves the old or the new state, never half

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            return
        os.makedirs(self.directory, exist_ok=True)
        previous_best = self.best_epoch
        self.values[epoch] = float(value)
        if self.best_epoch == epoch:
            self.model.save_weights(self._weights_path(epoch), overwrite=True)
            keep = {epoch, previous_best}
            for name in os.listdir(self.directory):
                if name.startswith("epoch-") and name.endswith(".weights.h5"):
                    if int(name[len("epoch-"):-len(".weights.h5")]) not in keep:
                        os.remove(os.path.join(self.directory, name))
        if self.patience and self._epochs_since_best() >= self.patience:
            self.stopped_epoch = epoch
            self.model.stop_training = True
            if self.verbose:
                print(f"stopping early after epoch {epoch + 1}: {self.monitor} has not improved for "
                      f"{self.patience} epochs (best {self.best_value:.4f} at epoch {self.best_epoch + 1})",
                      flush=True)
        self._save_state()

    def restore_best(self):
        """Loads the best epoch's weights into the model; returns that epoch (None when there is none)."""
        epoch = self.best_epoch
        if epoch is None or not os.path.isfile(self._weights_path(epoch)):
            return None
        optimizer = getattr(self.model, "optimizer", None)
        steps = None if optimizer is None else keras.ops.convert_to_numpy(optimizer.iterations)
        self.model.load_weights(self._weights_path(epoch))  # the optimizer's state too, with its step count,
        if steps is not None:  # ... which keeps counting the steps trained (metrics.json's `steps`)
            optimizer.iterations.assign(steps)
        if self.verbose:
            print(f"keeping the weights of epoch {epoch + 1} ({self.monitor} {self.values[epoch]:.4f})", flush=True)
        return epoch

    def on_train_end(self, logs=None):
        self.restore_best()
