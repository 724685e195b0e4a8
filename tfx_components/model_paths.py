"""Where things live inside TFX's model artifacts (shared by the evaluator and the serving validator)."""
import glob
import os

from tfx.utils import path_utils


def serving_model_path(model_uri):
    """The SavedModel directory inside a `Model` artifact written by the trainer."""
    return path_utils.serving_model_path(model_uri)


def keras_run_path(model_uri):
    """The Keras run directory inside a `Model` artifact written by the trainer (`model.keras`, `tokenizer/`,
    `train_config.json`, `metrics.json`: what `keras_llm.training.trainer.load_trained` reads)."""
    return os.path.join(model_uri, "keras_llm")


def split_files(examples_uri, split):
    """The TFRecord files of one split of an `Examples` artifact; an error naming the split if none."""
    files = sorted(glob.glob(os.path.join(examples_uri, f"Split-{split}", "*")))
    if not files:
        raise ValueError(f"{examples_uri}: split {split!r} has no files")
    return files


def sample_texts(examples_uri, split, feature, limit):
    """Up to `limit` texts of one split (bytes), in file order."""
    from keras_llm.data import tfrecord_dataset

    return list(tfrecord_dataset(split_files(examples_uri, split), feature=feature).take(limit).as_numpy_iterator())
