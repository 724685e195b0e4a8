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
        input_data: one numpy array (batch first), the layer's first call argument.
        call_kwargs: extra call arguments for the eager call (tensors/values, not symbolic).
        expected_output_shape: expected eager output shape; defaults to no check.
        run_training: whether to run the fit step.
        run_saving: whether to run the save/load round trip.
        run_mixed_precision: whether to run the bfloat16 check.
    """
    call_kwargs = call_kwargs or {}
    layer = layer_cls(**init_kwargs)
    config = layer.get_config()
    assert layer_cls.from_config(config).get_config() == config

    output = layer(input_data, **call_kwargs)
    if expected_output_shape is not None:
        assert tuple(output.shape) == tuple(expected_output_shape)

    inputs = keras.Input(shape=input_data.shape[1:], dtype=str(input_data.dtype))
    symbolic = layer_cls(**init_kwargs)(inputs)
    assert tuple(symbolic.shape[1:]) == tuple(output.shape[1:])
    model = keras.Model(inputs, layer_cls(**init_kwargs)(inputs))

    if run_training:
        model.compile(optimizer="sgd", loss="mse")
        targets = np.zeros(output.shape, dtype="float32")
        history = model.fit(input_data, targets, batch_size=len(input_data), epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"][0])

    if run_saving:
        expected = keras.ops.convert_to_numpy(model(input_data))
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "layer.keras")
            model.save(path)
            restored = keras.saving.load_model(path, safe_mode=True)
        np.testing.assert_allclose(keras.ops.convert_to_numpy(restored(input_data)), expected, atol=1e-6)

    if run_mixed_precision:
        previous = keras.config.dtype_policy()
        keras.config.set_dtype_policy("mixed_bfloat16")
        try:
            mixed = layer_cls(**init_kwargs)
            mixed_output = mixed(input_data, **call_kwargs)
            assert mixed.compute_dtype == "bfloat16"
            assert keras.backend.standardize_dtype(mixed_output.dtype) == "bfloat16"
            assert np.all(np.isfinite(keras.ops.convert_to_numpy(keras.ops.cast(mixed_output, "float32"))))
        finally:
            keras.config.set_dtype_policy(previous)
    return layer


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
