"""TensorBoard logging for language-model training: scalars, text samples, the embedding projector and an
optional profiler window.

This is the one module of `keras_llm.training` that imports TensorFlow, and only for `tf.summary` (the
writer of TensorBoard's event files: Keras 3 has no public API for text summaries, and its own
`keras.callbacks.TensorBoard` uses `tf.summary` on every backend) and `tf.profiler`. Everything it logs
comes from Keras objects; the projector files are plain TSV + a text protobuf.

Layout under `log_dir` (TensorBoard's runs are its subdirectories):
- `train/`: every `update_freq` steps, `loss`, `perplexity` (Keras' running values for the epoch so far),
  `learning_rate`, `tokens_per_second`, `gradient_norm`; at each epoch end `epoch_loss`, `epoch_perplexity`
  and the text summary `samples` (generations or fill-mask results for fixed prompts). Steps are global
  optimizer steps, so a resumed run continues the same curves.
- `validation/`: `epoch_loss`, `epoch_perplexity` (and other `val_` metrics) at each epoch end.
- `projector_config.pbtxt` + `embeddings/`: the token embedding table with the vocabulary as metadata,
  rewritten at each epoch end (TensorBoard's Projector tab).
- `train/plugins/profile/`: the profiler trace of the steps in `profile_steps`, if given.
"""
import os

import keras
import numpy as np
import tensorflow as tf

from keras_llm.training.callbacks.steps import global_step
from keras_llm.training.text_samples import token_embedding_matrix

SCALARS = ("loss", "perplexity", "learning_rate", "tokens_per_second", "gradient_norm")
PROJECTOR_CONFIG = "projector_config.pbtxt"
EMBEDDINGS_DIR = "embeddings"


def _tsv_label(token):
    """A vocabulary entry as one metadata line (tabs and newlines would break the TSV)."""
    return token.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r") or "<empty>"


def write_embedding_projector(log_dir, matrix, vocabulary, name="token_embedding"):
    """Writes the Projector files for an embedding table: vectors and metadata as TSV, and the config.

    Args:
        log_dir: TensorBoard log directory (the config goes to its root, which the Projector reads).
        matrix: `[vocabulary_size, dim]` array.
        vocabulary: list of `vocabulary_size` token strings (one metadata line each).
        name: the tensor's name in the Projector.
    """
    matrix = np.asarray(matrix, dtype="float32")
    if len(vocabulary) != matrix.shape[0]:
        raise ValueError(f"{len(vocabulary)} vocabulary entries for {matrix.shape[0]} embedding rows")
    directory = os.path.join(log_dir, EMBEDDINGS_DIR)
    os.makedirs(directory, exist_ok=True)
    tensor_file, metadata_file = f"{name}.tsv", f"{name}_vocabulary.tsv"
    np.savetxt(os.path.join(directory, tensor_file), matrix, delimiter="\t", fmt="%.6g")
    with open(os.path.join(directory, metadata_file), "w", encoding="utf-8") as f:
        f.writelines(_tsv_label(token) + "\n" for token in vocabulary)
    config = (
        "embeddings {\n"
        f'  tensor_name: "{name}"\n'
        f"  tensor_shape: {matrix.shape[0]}\n  tensor_shape: {matrix.shape[1]}\n"
        f'  tensor_path: "{EMBEDDINGS_DIR}/{tensor_file}"\n'
        f'  metadata_path: "{EMBEDDINGS_DIR}/{metadata_file}"\n'
        "}\n"
    )
    with open(os.path.join(log_dir, PROJECTOR_CONFIG), "w", encoding="utf-8") as f:
        f.write(config)


def _markdown_table(prompts, outputs):
    def cell(text):
        return (text or " ").replace("|", "\\|").replace("\n", " ")

    rows = [f"| {cell(repr(p))} | {cell(o)} |" for p, o in zip(prompts, outputs)]
    return "\n".join(["| input | model |", "|---|---|"] + rows)


class LanguageModelTensorBoard(keras.callbacks.Callback):
    """Writes a language model's training curves, text samples and token embeddings for TensorBoard.

    Place it after `TokenThroughput` and `GradientNormMonitor` (keras_llm.training.callbacks), which put
    `tokens_per_second` and `gradient_norm` into the logs it reads.

    Args:
        log_dir: TensorBoard log directory.
        update_freq: write the step scalars every this many optimizer steps.
        tokenizer: the model's tokenizer (for the projector's vocabulary); None skips the projector.
        prompts: fixed inputs for the per-epoch text summary.
        sample_fn: `sample_fn(prompts) -> list of str`; None skips the text summary.
        embeddings: write the embedding projector.
        profile_steps: `(first, last)` global steps (1-based, inclusive) to trace with the TF profiler.

    Example:
        >>> from keras_llm.training.text_samples import greedy_continuations
        >>> tb = LanguageModelTensorBoard("runs/lm", tokenizer=tok, prompts=["the"],
        ...                               sample_fn=lambda p: greedy_continuations(model, tok, p))
    """

    def __init__(self, log_dir, update_freq=10, tokenizer=None, prompts=(), sample_fn=None, embeddings=True,
                 profile_steps=None):
        super().__init__()
        self.log_dir = os.fspath(log_dir)
        self.update_freq = max(int(update_freq), 1)
        self.tokenizer = tokenizer
        self.prompts = list(prompts)
        self.sample_fn = sample_fn
        self.embeddings = embeddings
        self.profile_steps = tuple(profile_steps) if profile_steps else None
        steps = self.profile_steps
        if steps and (len(steps) != 2 or not 1 <= steps[0] <= steps[1]):
            raise ValueError(f"profile steps must be two steps FIRST <= LAST (1-based), got {profile_steps}")
        self._writers = {}
        self._profiling = False

    def _writer(self, run):
        if run not in self._writers:
            self._writers[run] = tf.summary.create_file_writer(os.path.join(self.log_dir, run))
        return self._writers[run]

    def _learning_rate(self):
        optimizer = self.model.optimizer
        return float(keras.ops.convert_to_numpy(optimizer.learning_rate))

    def on_train_begin(self, logs=None):
        os.makedirs(self.log_dir, exist_ok=True)

    def on_train_batch_begin(self, batch, logs=None):
        if self.profile_steps and not self._profiling and global_step(self.model) + 1 == self.profile_steps[0]:
            tf.profiler.experimental.start(os.path.join(self.log_dir, "train"))
            self._profiling = True

    def on_train_batch_end(self, batch, logs=None):
        step = global_step(self.model)
        if self._profiling and step >= self.profile_steps[1]:
            self._stop_profiler()
        if step % self.update_freq:
            return
        values = {key: (logs or {}).get(key) for key in SCALARS}
        values["learning_rate"] = self._learning_rate()
        with self._writer("train").as_default(step=step):
            for key, value in values.items():
                if value is not None:
                    tf.summary.scalar(key, float(value))

    def on_epoch_end(self, epoch, logs=None):
        step = global_step(self.model)
        logs = logs or {}
        train = {k: v for k, v in logs.items() if not k.startswith("val_") and k in ("loss", "perplexity")}
        validation = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        with self._writer("train").as_default(step=step):
            for key, value in train.items():
                tf.summary.scalar(f"epoch_{key}", float(value))
            tf.summary.scalar("epoch", epoch + 1)
            if self.sample_fn is not None and self.prompts:
                outputs = self.sample_fn(self.prompts)
                tf.summary.text("samples", _markdown_table(self.prompts, outputs))
        if validation:
            with self._writer("validation").as_default(step=step):
                for key, value in validation.items():
                    tf.summary.scalar(f"epoch_{key}", float(value))
        if self.embeddings and self.tokenizer is not None:
            matrix = token_embedding_matrix(self.model)
            if matrix is not None:
                write_embedding_projector(self.log_dir, matrix, self.tokenizer.get_vocabulary())
        self.flush()

    def _stop_profiler(self):
        tf.profiler.experimental.stop()
        self._profiling = False

    def flush(self):
        for writer in self._writers.values():
            writer.flush()

    def close(self):
        """Stops a running profiler and closes the event files (also done at the end of `fit`)."""
        if self._profiling:
            self._stop_profiler()
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    def on_train_end(self, logs=None):
        self.close()
