"""Run code in a fresh process that has only TensorFlow and tensorflow-text's ops: no Keras, no keras_llm.

`import tensorflow_text` itself imports Keras (its Keras layers go through `tf.keras`), and so does
`import tensorflow` when Keras is installed. To prove that a SavedModel needs neither, the child process
makes keras, tf_keras, keras_hub, keras_nlp and keras_llm unimportable, imports tensorflow, and registers
tensorflow-text's kernels by loading its op libraries directly -- exactly what a serving binary links in.
"""
import json
import os
import subprocess
import sys
import textwrap

BLOCKED = ("keras", "tf_keras", "keras_hub", "keras_nlp", "keras_llm")

PRELUDE = textwrap.dedent(
    f"""
    import glob, importlib.util, json, os, sys
    for _name in {BLOCKED!r}:
        sys.modules[_name] = None  # import fails as if not installed
    import tensorflow as tf
    _ops = os.path.join(os.path.dirname(importlib.util.find_spec("tensorflow_text").origin), "python", "ops")
    for _lib in sorted(glob.glob(os.path.join(_ops, "_*.so"))):
        tf.load_op_library(_lib)
    """
)

EPILOGUE = textwrap.dedent(
    f"""
    _loaded = sorted(m for m, v in sys.modules.items() if m.split(".")[0] in {BLOCKED!r} + ("tensorflow_text",) and v is not None)
    assert not _loaded, _loaded
    """
)


def run_tf_only(body, timeout=300):
    """Runs `body` (which must print one JSON line last) TF-only; returns the decoded JSON."""
    script = PRELUDE + textwrap.dedent(body) + EPILOGUE
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=timeout)
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])
