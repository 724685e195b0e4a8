"""`LanguageModelProgbar`: Keras' progress bar with the current loss, perplexity and tokens per second."""
import keras

PROGBAR_KEYS = ("loss", "perplexity", "tokens_per_second", "val_loss", "val_perplexity")


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
