"""Every public layer of keras_llm.layers goes through the shared contract (`helpers.run_layer_test`)."""
import inspect
import pathlib
import re

import keras

import keras_llm.layers


def test_every_public_layer_has_a_run_layer_test():
    public = [name for name, obj in inspect.getmembers(keras_llm.layers, inspect.isclass)
              if issubclass(obj, keras.layers.Layer)]
    sources = "\n".join(path.read_text() for path in pathlib.Path(__file__).parent.glob("test_*.py"))
    tested = set(re.findall(r"run_layer_test\(\s*(\w+)", sources))
    assert public and not set(public) - tested, f"no run_layer_test for {sorted(set(public) - tested)}"
