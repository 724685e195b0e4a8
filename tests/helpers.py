"""Shared test helpers."""
import os
import socket
import tempfile

import keras
import numpy as np


def run_layer_test(
    layer_cls,
    init_kwargs,
    input_data,
    call_kwargs=None,
    expected_output_shape=None,
    run_training=True,
    run_saving=True,
    run_mixed_precision=True,
):
    """Checks what every keras_llm layer must support; returns the layer built in the first step.

    - `from_config(get_config())` rebuilds an equal config;
    - an eager call and a symbolic (functional) call give the expected shape;
    - one `fit` step on a functional model around the layer runs;
    - a `.keras` save/load (safe_mode=True) round trip gives identical outputs;
    - under the `mixed_bfloat16` policy the layer computes in bfloat16 (the global policy is restored).

    Args:
        layer_cls: the layer class.
        init_kwargs: constructor arguments.
        input_data: one numpy array (batch first), the layer's first call argument; or a dict of them, passed
            as keyword arguments (a layer with two inputs, e.g. `{"query": ..., "memory": ...}`).
        call_kwargs: extra call arguments for the eager call (tensors/values, not symbolic).
        expected_output_shape: expected eager output shape; defaults to no check.
        run_training: whether to run the fit step.
        run_saving: whether to run the save/load round trip.
        run_mixed_precision: whether to run the bfloat16 check.
    """
    call_kwargs = call_kwargs or {}

    def call(layer, data, **kwargs):
        return layer(**data, **kwargs) if isinstance(data, dict) else layer(data, **kwargs)

    layer = layer_cls(**init_kwargs)
    config = layer.get_config()
    assert layer_cls.from_config(config).get_config() == config

    output = call(layer, input_data, **call_kwargs)
    if expected_output_shape is not None:
        assert tuple(output.shape) == tuple(expected_output_shape)

    def symbolic_input(x, name=None):
        return keras.Input(shape=x.shape[1:], dtype=str(x.dtype), name=name)

    if isinstance(input_data, dict):
        inputs = {name: symbolic_input(x, name) for name, x in input_data.items()}
    else:
        inputs = symbolic_input(input_data)
    symbolic = call(layer_cls(**init_kwargs), inputs)
    assert tuple(symbolic.shape[1:]) == tuple(output.shape[1:])
    model = keras.Model(inputs, call(layer_cls(**init_kwargs), inputs))
    batch_size = len(next(iter(input_data.values())) if isinstance(input_data, dict) else input_data)

    if run_training:
        model.compile(optimizer="sgd", loss="mse")
        targets = np.zeros(output.shape, dtype="float32")
        history = model.fit(input_data, targets, batch_size=batch_size, epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"][0])

    if run_saving:
        expected = keras.ops.convert_to_numpy(model(input_data))
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "layer.keras")
            model.save(path)
            restored = keras.saving.load_model(path, safe_mode=True)
        assert [type(x) for x in restored.layers] == [type(x) for x in model.layers]
        np.testing.assert_allclose(keras.ops.convert_to_numpy(restored(input_data)), expected, atol=1e-6)

    if run_mixed_precision:
        previous = keras.config.dtype_policy()
        keras.config.set_dtype_policy("mixed_bfloat16")
        try:
            mixed = layer_cls(**init_kwargs)
            mixed_output = call(mixed, input_data, **call_kwargs)
            assert mixed.compute_dtype == "bfloat16"
            assert keras.backend.standardize_dtype(mixed_output.dtype) == "bfloat16"
            assert np.all(np.isfinite(keras.ops.convert_to_numpy(keras.ops.cast(mixed_output, "float32"))))
        finally:
            keras.config.set_dtype_policy(previous)
    return layer


# Runs in a fresh interpreter that imports nothing of the tests: argv[1] is the folder `run_model_saving_test`
# wrote; what the loaded models compute goes to `loaded.npz` and their classes to `loaded_classes.json`.
_LOAD_IN_A_FRESH_PROCESS = r"""
import json, sys
import keras, keras_llm
import numpy as np

folder, names = sys.argv[1], sys.argv[2].split(",")
inputs = np.load(f"{folder}/inputs.npz")
outputs, classes = {}, {}
for name in names:
    model = keras.saving.load_model(f"{folder}/{name}.keras")  # safe_mode=True
    classes[name] = type(model).__module__ + "." + type(model).__name__
    x = {k[len(name) + 1:]: inputs[k] for k in inputs.files if k.startswith(name + ":")} or inputs[name]
    result = model(x, training=False)
    for key, value in (result.items() if isinstance(result, dict) else [("", result)]):
        outputs[f"{name}:{key}"] = keras.ops.convert_to_numpy(value)
np.savez(f"{folder}/loaded.npz", **outputs)
with open(f"{folder}/loaded_classes.json", "w") as f:
    json.dump(classes, f)
"""


def _numpy_outputs(result):
    items = result.items() if isinstance(result, dict) else [("", result)]
    return {key: keras.ops.convert_to_numpy(value) for key, value in items}


def run_model_saving_test(models, directory):
    """Saves each model to `.keras`, loads them all in ONE fresh Python process that imports only `keras` and
    `keras_llm` (so loading relies on `import keras_llm` registering every class, nothing else), and calls each
    loaded model on the same inputs.

    One process for all the models because starting one (importing Keras and its backend) costs seconds.
    Returns `{name: {"class": (saved, loaded) class paths, "expected": {key: array}, "loaded": {key: array}}}`,
    the outputs keyed by a dict output's key ("" for a single tensor); `assert_model_saved_and_loaded` checks
    one entry, so each model can be its own test.

    Args:
        models: `{name: (model, inputs)}`; inputs a numpy array or a dict of them (the model's call input),
            names usable as file names.
        directory: an empty folder for the files.
    """
    import json
    import pathlib
    import subprocess
    import sys

    directory = pathlib.Path(directory)
    inputs, expected = {}, {}
    for name, (model, x) in models.items():
        expected[name] = _numpy_outputs(model(x, training=False))
        model.save(directory / f"{name}.keras")
        inputs.update({f"{name}:{k}": v for k, v in x.items()} if isinstance(x, dict) else {name: x})
    np.savez(directory / "inputs.npz", **inputs)
    process = subprocess.run(
        [sys.executable, "-c", _LOAD_IN_A_FRESH_PROCESS, str(directory), ",".join(models)],
        capture_output=True, text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"), timeout=300,
    )
    assert process.returncode == 0, process.stderr[-4000:]
    loaded = dict(np.load(directory / "loaded.npz"))
    classes = json.loads((directory / "loaded_classes.json").read_text())
    return {
        name: {
            "class": (type(model).__module__ + "." + type(model).__name__, classes[name]),
            "expected": expected[name],
            "loaded": {key[len(name) + 1:]: v for key, v in loaded.items() if key.split(":")[0] == name},
        }
        for name, (model, _) in models.items()
    }


def assert_model_saved_and_loaded(result, atol=1e-5):
    """Checks one entry of `run_model_saving_test`: the same class, the same output keys and values."""
    saved_class, loaded_class = result["class"]
    assert loaded_class == saved_class
    assert sorted(result["loaded"]) == sorted(result["expected"])
    for key, value in result["expected"].items():
        np.testing.assert_allclose(result["loaded"][key], value, rtol=1e-5, atol=atol, err_msg=key)


class CrashAt(keras.callbacks.Callback):
    """Simulates a crash (without the process dying) after `step` optimizer steps."""

    def __init__(self, step):
        super().__init__()
        self.step = step

    def on_train_batch_end(self, batch, logs=None):
        from keras_llm.training.callbacks import global_step

        if global_step(self.model) == self.step:
            raise KeyboardInterrupt("simulated crash")


def free_ports(count):
    """`count` ports free on 127.0.0.1 now (the OS picks them; a worker binds its port moments later)."""
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def docstring_example_modules(package):
    """The names of `package` and of every module in it (the parametrization of a docstring-example test)."""
    import pkgutil

    return [package.__name__] + sorted(info.name for info in pkgutil.walk_packages(package.__path__,
                                                                                  package.__name__ + "."))


def run_docstring_examples(module_name):
    """Runs the `>>>` examples in a module's docstrings with doctest (the module's globals, as
    `pytest --doctest-modules` would) and fails with doctest's report; returns how many examples ran."""
    import doctest
    import importlib

    module = importlib.import_module(module_name)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report = []
    for test in doctest.DocTestFinder(exclude_empty=True).find(module, module_name):  # objects defined there
        runner.run(test, out=report.append)
    failed, attempted = runner.summarize(verbose=False)
    assert not failed, "".join(report)
    return attempted
