"""Write a TF SavedModel in TF Serving's layout (`BASE/VERSION/`), with warmup requests."""
import os
import time

import tensorflow as tf

from keras_llm.export.causal_lm_module import CausalLMServingModule
from keras_llm.export.task_modules import (
    ClassifierServingModule,
    EncoderServingModule,
    MaskedLMServingModule,
    Seq2SeqServingModule,
)

WARMUP_FILE = "tf_serving_warmup_requests"


def serving_module_for(model, tokenizer, **options):
    """The serving module that fits the model, with its signatures:

    | model | signatures (`serving_default` forwards to the first) |
    |---|---|
    | `Seq2SeqTransformer`, `LSTMSeq2Seq` | generate, generate_with_options (options: `target_tokenizer`, ...) |
    | `TextClassifier` | classify, embed (options: `labels`, `stop_words`, ...) |
    | `BertMaskedLM` | fill_mask, embed (options: `top_k`, ...); a bare `BertEncoder`: embed |
    | causal LMs (`TransformerLanguageModel`, `RNNLanguageModel`) | generate, generate_with_options, score |
    """
    from keras_llm.models import BertEncoder, BertMaskedLM, TextClassifier

    if hasattr(model, "encode") and (hasattr(model, "call_with_cache") or hasattr(model, "call_with_state")):
        return Seq2SeqServingModule(model, tokenizer, **options)
    if isinstance(model, TextClassifier):
        return ClassifierServingModule(model, tokenizer, **options)
    if isinstance(model, BertMaskedLM):
        return MaskedLMServingModule(model, tokenizer, **options)
    if isinstance(model, BertEncoder):
        return EncoderServingModule(model, tokenizer, **options)
    if hasattr(model, "call_with_cache") or hasattr(model, "call_with_state"):
        return CausalLMServingModule(model, tokenizer, **options)
    raise TypeError(f"no serving signatures for {type(model).__name__}")


def save_serving_model(model, tokenizer, path, **options):
    """Writes the SavedModel (signatures + warmup requests) to `path` itself, e.g. TFX's serving_model_dir."""
    module = serving_module_for(model, tokenizer, **options)
    tf.saved_model.save(module, path, signatures=module.signatures())
    write_warmup_requests(path, module.warmup_inputs())
    return path


def export_saved_model(model, tokenizer, export_base, version=None, **options):
    """Exports `model` + `tokenizer` to `export_base/<version>/` and returns that path.

    Args:
        model: a keras_llm model.
        tokenizer: its tokenizer.
        export_base: the model's base directory (TF Serving's `--model_base_path`).
        version: integer version; default: the current Unix time in seconds (increasing, as TF Serving wants).
        **options: options of the serving module (`max_new_tokens`, `sampler`, `max_batch_size`, ...; see
            `serving_module_for`).

    Example:
        >>> path = export_saved_model(model, tokenizer, "/models/lm")   # /models/lm/1795400000
        >>> tf.saved_model.load(path).signatures["generate"](prompts=tf.constant(["the"]))["text"]
    """
    version = int(time.time()) if version is None else int(version)
    path = os.path.join(export_base, str(version))
    if tf.io.gfile.exists(path):
        raise FileExistsError(f"export version already exists: {path}")
    return save_serving_model(model, tokenizer, path, **options)


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
