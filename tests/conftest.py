import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import importlib.util  # noqa: E402

import pytest  # noqa: E402

# The longest test files (worker seconds, measured with --durations on 2 cores), started first: pytest-xdist's
# --dist loadfile hands out files in collection order, so a long file collected last would run alone at the end
# while the other worker idles. Files not listed keep their order, after these.
LONGEST_FIRST = [
    # TFX stack (TFX and slow tests)
    "test_model_examples.py", "test_cli_resume.py", "test_benchmarks_run.py", "tfx_components/test_pipeline.py",
    "test_cli_run_safety.py", "tfx_components/test_beam_multi_processing.py",
    "tfx_components/test_text_trainer.py", "tfx_components/test_model_stage_executors.py", "test_cli_train.py",
    "tfx_components/test_local_run.py",
    # latest stack, TensorFlow and JAX
    "generation/test_generation.py", "export/test_export.py", "training/test_trainer.py", "test_cross_backend.py",
    "models/test_model_saving.py", "training/test_init_from.py", "models/test_transformer_lm.py",
    "export/test_task_export.py", "training/test_precision_and_xla.py", "test_console.py",
]


_START_RANK = {f"tests/{name}": rank for rank, name in enumerate(LONGEST_FIRST)}


def _start_rank(item):
    return _START_RANK.get(item.nodeid.split("::")[0], len(LONGEST_FIRST))

def pytest_collection_modifyitems(config, items):
    if importlib.util.find_spec("tfx") is None:
        skip = pytest.mark.skip(reason="TFX is not installed on this stack")
        for item in items:
            if "tfx" in item.keywords:
                item.add_marker(skip)
    items.sort(key=_start_rank)  # stable: tests keep their order within a file
