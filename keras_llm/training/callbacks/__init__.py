"""Training callbacks for language models, one per file (pure Keras 3 but `tensorboard`, which uses `tf.summary`):

| callback | file | what it does |
|---|---|---|
| `NonFiniteLossGuard` (`NonFiniteLossError`) | `non_finite_loss.py` | raises at the first NaN/Inf loss |
| `StopAtStep` | `stop_at_step.py` | ends training after N optimizer steps, across resumed runs |
| `TokenThroughput` | `token_throughput.py` | `tokens_per_second` in the logs |
| `GradientNormMonitor` | `gradient_norm.py` | `gradient_norm` (global L2) in the logs |
| `BackupAndRestore` | `backup_and_restore.py` | Keras' resumable checkpoints, with the random state |
| `BestCheckpoint` | `best_checkpoint.py` | keeps the weights of the best validation loss |
| `LanguageModelTensorBoard` | `tensorboard.py` | scalars, text samples, the embedding projector |
| `LanguageModelProgbar` | `progbar.py` | progress bar with loss, perplexity and tokens per second |

Order matters, because Keras hands one `logs` dict to every callback in turn: put `NonFiniteLossGuard`
first (it raises before anything after it -- notably `BackupAndRestore` -- can save a broken state), then
`TokenThroughput` and `GradientNormMonitor` (they add `tokens_per_second` and `gradient_norm` to `logs`), then
the loggers (`LanguageModelTensorBoard`, `LanguageModelProgbar`). `keras_llm.training.trainer` builds exactly
that list.

The names load on first use (PEP 562), so importing one callback does not import TensorFlow for the
TensorBoard one.
"""
from keras_llm._lazy import lazy_attributes

_EXPORTS = {
    "BackupAndRestore": "backup_and_restore",
    "BestCheckpoint": "best_checkpoint",
    "GradientNormMonitor": "gradient_norm",
    "LanguageModelProgbar": "progbar",
    "LanguageModelTensorBoard": "tensorboard",
    "NonFiniteLossError": "non_finite_loss",
    "NonFiniteLossGuard": "non_finite_loss",
    "PROGBAR_KEYS": "progbar",
    "StopAtStep": "stop_at_step",
    "TokenThroughput": "token_throughput",
    "global_step": "steps",
    "random_state_variables": "backup_and_restore",
    "write_embedding_projector": "tensorboard",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_attributes(__name__, globals(), {name: f".{module}" for name, module in _EXPORTS.items()})
