"""Run code in a fresh process that has only TensorFlow and tensorflow-text's ops: no Keras, no keras_llm.

This is how we prove that an exported SavedModel needs neither, as TF Serving (which links TensorFlow and
the tensorflow-text kernels, nothing else) will load it. `import tensorflow_text` itself imports Keras (its
Keras layers go through `tf.keras`), and so does `import tensorflow` when Keras is installed. So the child
process makes keras, tf_keras, keras_hub, keras_nlp and keras_llm unimportable, imports tensorflow, and
registers tensorflow-text's kernels by loading its op libraries directly; at the end it asserts that none of
those packages was loaded.
"""
import json
import os
import subprocess
import sys
import textwrap

BLOCKED = ("keras", "tf_keras", "keras_hub", "keras_nlp", "keras_llm", "tfx_components")

PRELUDE = textwrap.dedent(
    f"""
    import glob, importlib.util, json, os, sys, time
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
    _loaded = sorted(m for m, v in sys.modules.items()
                     if m.split(".")[0] in {BLOCKED!r} + ("tensorflow_text",) and v is not None)
    assert not _loaded, _loaded
    """
)


class TFOnlyError(RuntimeError):
    """The TF-only child process failed; the message ends with its last error line."""


def run_tf_only(body, timeout=300, python=None):
    """Runs `body` (Python source whose last printed line is JSON) TF-only and returns the decoded JSON."""
    script = PRELUDE + textwrap.dedent(body) + EPILOGUE
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run([python or sys.executable, "-c", script], capture_output=True, text=True, env=env,
                            timeout=timeout)
    if result.returncode != 0:
        lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
        raise TFOnlyError(f"TF-only process failed (exit {result.returncode}): {lines[-1] if lines else ''}\n"
                          + result.stderr[-4000:])
    return json.loads(result.stdout.strip().splitlines()[-1])
