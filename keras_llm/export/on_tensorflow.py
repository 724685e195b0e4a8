"""The serving export from a process on another Keras backend (JAX): traced in a child process on TensorFlow.

A SavedModel's signatures are TensorFlow functions that call the model, so they are traced with Keras on its
TensorFlow backend, and `KERAS_BACKEND` is read once per process. `save_serving_model` on JAX therefore writes
the model (`model.keras`, which loads on either backend with the same logits: `tests/test_cross_backend.py`) and
the tokenizer to a temporary folder, and a child process on TensorFlow loads them and writes the SavedModel. So a
run trained on JAX (`KERAS_BACKEND=jax keras-llm train ...`) ends with the same `serving/<version>/` as one
trained on TensorFlow.

The child sees no GPU (`CUDA_VISIBLE_DEVICES=""`): tracing needs none, and the parent's JAX holds most of the
GPU's memory. It costs a TensorFlow start-up per export (about 10 s of a tiny run's export on a 2-core CPU).
"""
import json
import os
import subprocess
import sys
import tempfile


class ExportError(RuntimeError):
    """The export process on TensorFlow failed; the message ends with its last error line."""


def save_in_tensorflow(model, tokenizer, path, timeout=3600, **options):
    """`keras_llm.export.save_serving_model(model, tokenizer, path, **options)` run by a child process on the
    TensorFlow backend, from a `.keras` copy of `model` and a saved copy of `tokenizer`. `options` must be JSON
    values (as the serving modules' options are: lengths, sampler names, labels). Raises ValueError (one line)
    for a model that was never built (no weights to copy) and ExportError (one line) when the child fails."""
    if not model.built:  # its .keras copy would hold no weights: the child would draw new random ones
        raise ValueError(f"{type(model).__name__} has no weights yet (never called or built): call it once before "
                         f"exporting from the {_backend()} backend, where the export copies the weights to a "
                         f"TensorFlow process")
    try:
        encoded = json.dumps(options)
    except TypeError as e:
        raise ValueError(f"serving options must be JSON values to export from the {_backend()} backend ({e})") \
            from None
    with tempfile.TemporaryDirectory(prefix="keras_llm_export_") as folder:
        model.save(os.path.join(folder, "model.keras"))
        tokenizer.save(os.path.join(folder, "tokenizer"))
        env = dict(os.environ, KERAS_BACKEND="tensorflow", CUDA_VISIBLE_DEVICES="")
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        # the child imports this package from where the parent did (a source checkout need not be installed)
        source = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env["PYTHONPATH"] = os.pathsep.join(p for p in (source, env.get("PYTHONPATH")) if p)
        try:
            result = subprocess.run([sys.executable, "-m", __name__, folder, os.fspath(path), encoded],
                                    capture_output=True, text=True, env=env, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ExportError(f"the SavedModel export on TensorFlow did not finish in {timeout} s") from None
    if result.returncode != 0:
        lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
        raise ExportError(f"the SavedModel export on TensorFlow failed: {lines[-1] if lines else 'no message'}")
    return os.fspath(path)


def _backend():
    import keras

    return keras.backend.backend()


def main(argv):
    folder, path, encoded = argv
    if _backend() != "tensorflow":
        raise SystemExit(f"this export runs on KERAS_BACKEND=tensorflow, not {_backend()}")
    import keras

    from keras_llm.export.saved_model import save_serving_model
    from keras_llm.tokenizers import load_tokenizer

    model = keras.saving.load_model(os.path.join(folder, "model.keras"), compile=False)
    tokenizer = load_tokenizer(os.path.join(folder, "tokenizer"))
    save_serving_model(model, tokenizer, path, **json.loads(encoded))


if __name__ == "__main__":
    main(sys.argv[1:])
