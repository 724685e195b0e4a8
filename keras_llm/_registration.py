"""Imports every module that defines a class a `.keras` file can name, so its registration decorator has run.

Each such class carries `@keras.saving.register_keras_serializable(package="keras_llm")`, which adds it to
Keras' global custom objects as `keras_llm>ClassName` when its module is imported. `keras.saving.load_model`
looks classes up there (with the default `safe_mode=True` too), so these imports are all it needs:

- layers: `keras_llm.layers` (attention, Transformer blocks, embeddings, recurrent stacks, layer norm);
- models: `keras_llm.models` (every model family; it imports the layers it uses);
- training: `keras_llm.training`'s losses, metrics, optimizers, learning-rate schedules: what a compiled model's
  `.keras` file names in its compile config and optimizer.

All of them are pure Keras 3 (`keras.ops`, no `tensorflow` import), so this works on every Keras backend.
Not imported here: `keras_llm.generation` (its `Sampler` is registered but no model file names it) and the
TensorFlow-only packages (tokenizers, data, export).
Callbacks need no registration: Keras never saves them.
"""
import keras_llm.layers  # noqa: F401
import keras_llm.models  # noqa: F401
import keras_llm.training.losses  # noqa: F401 - keras_llm.training itself loads its names lazily
import keras_llm.training.metrics  # noqa: F401
import keras_llm.training.optimizers  # noqa: F401
import keras_llm.training.schedules  # noqa: F401
