"""A finished run folder, read back: `load_trained` checks what it loads and says what is wrong in one line.

Checks: `model.keras` present and a complete archive ("corrupt or truncated" otherwise, not TensorFlow's "File
not found"); `train_config.json` readable; the loaded class is the one the config's `--model` kind trains; the
tokenizer's vocabulary matches the model's.
"""
import json
import os
import zipfile

import keras

from keras_llm.tasks import TASKS, task_of_kind, task_of_model
from keras_llm.tokenizers import load_tokenizer
from keras_llm.training.model_registry import MODEL_KINDS
from keras_llm.training.train_config import TrainConfig


def _task(model, config=None):
    """The `keras_llm.tasks.Task` of a trained model: its run's `--model` kind when the config is known, else
    what the model is (`task_of_model`); None for a model no task serves."""
    return task_of_kind(config.model) if config is not None else task_of_model(model)


def is_causal_lm(model, config=None):
    """Whether `model` is a causal LM (what `TextGenerator` and the serving export take): by the run's
    `--model` kind when its config is known, else by the model (`keras_llm.tasks.task_of_model`: its class, or
    for a model outside keras_llm its decoding methods; an encoder-decoder also decodes, but it encodes a
    source first)."""
    return _task(model, config) is TASKS["causal"]


def export_options(model, config=None, max_new_tokens=None):
    """The serving-export options of a trained model: generation length for the tasks that generate
    (`Task.generates`: causal LMs, below the context; seq2seq models, within `max_target_length`); none for
    the others (masked LMs)."""
    task = _task(model, config)
    if task is None or not task.generates:
        return {}
    requested = max_new_tokens or (config.max_new_tokens if config else 32)
    limit = getattr(model, "max_sequence_length", None)
    limit = limit - 1 if limit else getattr(model, "max_target_length", None)
    return {"max_new_tokens": min(requested, limit) if limit and max_new_tokens is None else requested}


def _read_config(model_dir):
    path = os.path.join(model_dir, "train_config.json")
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            return TrainConfig.from_dict(json.load(f))
    except (ValueError, TypeError) as e:
        raise ValueError(f"{path} is unreadable ({str(e).splitlines()[0]})") from None


def _load_model(model_path):
    try:
        with zipfile.ZipFile(model_path) as archive:
            damaged = archive.testzip()
    except (zipfile.BadZipFile, EOFError, OSError):
        damaged = "the archive"
    if damaged is not None:
        raise ValueError(f"{model_path} is corrupt or truncated ({damaged} does not read back); train again or "
                         f"restore the file")
    try:
        return keras.saving.load_model(model_path, compile=False)
    except Exception as e:  # noqa: BLE001 - a complete archive Keras cannot load: say which file
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ValueError(f"{model_path} cannot be loaded: {first}") from None


def load_trained(model_dir):
    """`(model, tokenizer, config)` of a run directory written by `train_language_model` (`config` is None
    for a folder without train_config.json). Raises FileNotFoundError / ValueError (one line) for a missing,
    damaged or inconsistent folder (see the module docstring)."""
    model_path = os.path.join(model_dir, "model.keras")
    if not os.path.isfile(model_path):
        raise FileNotFoundError(f"no trained model in {model_dir}: model.keras is missing")
    config = _read_config(model_dir)
    tokenizer_dir = os.path.join(model_dir, "tokenizer")
    if not os.path.isdir(tokenizer_dir):
        raise FileNotFoundError(f"no tokenizer in {model_dir}: tokenizer/ is missing")
    tokenizer = load_tokenizer(tokenizer_dir)
    model = _load_model(model_path)
    if config is not None:
        kind = MODEL_KINDS[config.model]
        expected = kind.model_class()
        if not isinstance(model, expected):
            raise ValueError(f"{model_dir}: train_config.json says --model {config.model} ({expected.__name__}), "
                             f"but model.keras holds a {type(model).__name__}")
    model_vocabulary = getattr(model, "vocabulary_size", None)
    if isinstance(model_vocabulary, int) and model_vocabulary != tokenizer.vocabulary_size:
        raise ValueError(f"{model_dir}: tokenizer/ has {tokenizer.vocabulary_size} tokens but model.keras was "
                         f"built for {model_vocabulary}")
    return model, tokenizer, config
