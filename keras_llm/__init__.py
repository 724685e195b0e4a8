"""keras_llm: language models for Keras 3 and TensorFlow.

Flow: tokenizers -> data -> layers/models -> training -> generation -> export -> tfx_components.

`import keras_llm` registers every Keras-serializable class of the package (layers, models, losses, metrics,
optimizers, learning-rate schedules; `keras_llm/_registration.py` lists the modules), so a saved model loads
with nothing else imported, with Keras' default `safe_mode=True`:

    import keras, keras_llm
    model = keras.saving.load_model("model.keras")

This imports Keras and so its backend (TensorFlow: ~7 s, which any program that loads a model pays anyway), so
set `KERAS_BACKEND` before `import keras_llm`, as before `import keras`.

The exceptions are the `keras-llm` command and the repository's `examples/*.py` scripts (which quiet TensorFlow's
start-up lines before importing it: `keras_llm.console`). The command (its console script, or
`python -m keras_llm.cli`): its `--help`,
`--version` and argument errors come back in ~0.05 s because nothing imports TensorFlow before the arguments
are parsed. Every `keras_llm.*` import runs this file first, so the command cannot opt out afterwards; this file
recognises it from the process's own command line (`sys.argv[0]` named `keras-llm`, or `-m keras_llm.cli`) and
leaves the registration to it: the commands that build or load models import `keras_llm.training.trainer`,
which imports `keras_llm.models` and `keras_llm.training` (all that `register_serializables()` imports).
(A hook that registers when `keras` is first imported would also keep the command fast, but it runs our imports
inside someone else's `import keras`; the command-line check is plainer.)
"""
import os
import sys

from keras_llm.version import __version__

__all__ = ["__version__", "register_serializables"]


def register_serializables():
    """Registers every Keras-serializable keras_llm class for `keras.saving.load_model`; idempotent.

    `import keras_llm` calls it, except in the `keras-llm` command (see the module docstring).

    Returns:
        The sorted names registered under the `keras_llm` package, e.g. `"keras_llm>RNNLanguageModel"`.

    Example:
    >>> "keras_llm>AdamWWithDecayExclusions" in register_serializables()
    True
    """
    import keras

    from keras_llm import _registration  # noqa: F401 - imported for its registration decorators

    return sorted(name for name in keras.saving.get_custom_objects() if name.startswith("keras_llm>"))


# The repository's examples call `keras_llm.console.quiet_console()` before TensorFlow is imported, so they are
# not registered here: one that loads a `.keras` file calls `register_serializables()` first (keras_llm.training
# loads lazily, so importing `make_optimizer` does not register the losses and metrics a file names).
_EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")


def _is_keras_llm_command():
    """Whether this process is the `keras-llm` command, told from its command line while the package is
    imported: the console script's path, or `python -m keras_llm.cli` (`sys.argv[0]` is `"-m"` until the
    module is found; `sys.orig_argv` holds its name)."""
    argv = getattr(sys, "argv", None) or [""]
    if os.path.splitext(os.path.basename(argv[0]))[0] in ("keras-llm", "keras-llm-script"):
        return True
    if argv[0].endswith(".py") and os.path.dirname(os.path.abspath(argv[0])) == _EXAMPLES:
        return True
    if argv[0] != "-m":
        return False
    interpreter_args = list(getattr(sys, "orig_argv", ()))[1:]
    if "-m" not in interpreter_args:
        return False
    position = interpreter_args.index("-m") + 1
    return interpreter_args[position:position + 1] == ["keras_llm.cli"]


if not _is_keras_llm_command():
    register_serializables()
