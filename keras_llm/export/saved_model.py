"""Write a TF SavedModel in TF Serving's layout (`BASE/VERSION/`), with warmup requests."""
import os
import shutil
import time

import keras
import tensorflow as tf

from keras_llm.tasks import task_of_model

WARMUP_FILE = "tf_serving_warmup_requests"


def serving_module_for(model, tokenizer, **options):
    """The serving module of the model's task (`keras_llm.tasks`: `Task.serving_module`), with its signatures:

    | model | signatures (`serving_default` forwards to the first) |
    |---|---|
    | `Seq2SeqTransformer`, `LSTMSeq2Seq` | generate, generate_with_options (options: `target_tokenizer`, ...) |
    | `TextClassifier` | classify, embed (options: `labels`, `stop_words`, ...) |
    | `BertMaskedLM` | fill_mask, embed (options: `top_k`, ...); a bare `BertEncoder`: embed |
    | causal LMs (`TransformerLanguageModel`, `RNNLanguageModel`) | generate, generate_with_options, score |
    """
    task = task_of_model(model)
    if task is None or task.serving_module is None:
        raise TypeError(f"no serving signatures for {type(model).__name__}")
    return task.resolve("serving_module")(model, tokenizer, **options)


def save_serving_model(model, tokenizer, path, **options):
    """Writes the SavedModel (signatures + warmup requests) to `path` itself, e.g. TFX's serving_model_dir.
    On another Keras backend (JAX), a child process on TensorFlow writes it (`keras_llm.export.on_tensorflow`)."""
    if keras.backend.backend() != "tensorflow":
        from keras_llm.export.on_tensorflow import save_in_tensorflow

        return save_in_tensorflow(model, tokenizer, path, **options)
    module = serving_module_for(model, tokenizer, **options)
    # Without the custom gradients (the fused kernels' backward passes): serving never differentiates, and
    # tracing them took a fifth of an export's time.
    save_options = tf.saved_model.SaveOptions(experimental_custom_gradients=False)
    tf.saved_model.save(module, path, signatures=module.signatures(), options=save_options)
    write_warmup_requests(path, module.warmup_inputs())
    return path


def export_saved_model(model, tokenizer, export_base, version=None, replace=False, **options):
    """Exports `model` + `tokenizer` to `export_base/<version>/` and returns that path.

    A local export is written to `export_base/.incoming-<version>/` and renamed into place when complete, so TF
    Serving (which loads numeric folders only) never sees a partial version, even after a kill.

    Args:
        model: a keras_llm model.
        tokenizer: its tokenizer.
        export_base: the model's base directory (TF Serving's `--model_base_path`).
        version: integer version; default: the current Unix time in seconds (increasing, as TF Serving wants).
        replace: replace an existing `export_base/<version>/` (the trainer does, when a run killed after its
            export writes its outputs again); else that is a FileExistsError.
        **options: options of the serving module (`max_new_tokens`, `sampler`, `max_batch_size`, ...; see
            `serving_module_for`).

    Example:
        >>> path = export_saved_model(model, tokenizer, "/models/lm")   # /models/lm/1795400000
        >>> tf.saved_model.load(path).signatures["generate"](prompts=tf.constant(["the"]))["text"]
    """
    version = int(time.time()) if version is None else int(version)
    if version < 0:
        raise ValueError(f"--version must be an integer >= 0, got {version}")
    path = os.path.join(export_base, str(version))
    if tf.io.gfile.exists(path) and not replace:
        raise FileExistsError(f"export version already exists: {path}")
    if "://" in os.fspath(export_base):  # a remote file system: no directory rename
        return save_serving_model(model, tokenizer, path, **options)
    staging = os.path.join(export_base, f".incoming-{version}")
    shutil.rmtree(staging, ignore_errors=True)
    save_serving_model(model, tokenizer, staging, **options)
    if os.path.isdir(path):  # replace: move the old version aside, then the new one into place
        old = os.path.join(export_base, f".replaced-{version}")
        shutil.rmtree(old, ignore_errors=True)
        os.rename(path, old)
        os.rename(staging, path)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(staging, path)
    return path


def write_warmup_requests(path, requests):
    """Writes TF Serving warmup records (`assets.extra/tf_serving_warmup_requests`): one PredictRequest per
    signature, so a server runs each graph once before taking traffic."""
    from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

    directory = os.path.join(path, "assets.extra")
    tf.io.gfile.makedirs(directory)
    with tf.io.TFRecordWriter(os.path.join(directory, WARMUP_FILE)) as writer:
        for signature, inputs in requests.items():
            request = predict_pb2.PredictRequest(model_spec=model_pb2.ModelSpec(signature_name=signature))
            for name, value in inputs.items():
                request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
            log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
            writer.write(log.SerializeToString())
