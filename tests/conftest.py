import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import importlib.util  # noqa: E402

import pytest  # noqa: E402


def pytest_collection_modifyitems(config, items):
    if importlib.util.find_spec("tfx") is None:
        skip = pytest.mark.skip(reason="TFX is not installed on this stack")
        for item in items:
            if "tfx" in item.keywords:
                item.add_marker(skip)
