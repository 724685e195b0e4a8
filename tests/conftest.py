import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import collections  # noqa: E402
import importlib.util  # noqa: E402

import pytest  # noqa: E402


# Test files whose few tests run for minutes (pipelines, CLI runs in subprocesses, kill-and-resume), longest
# first as measured (`--durations`). scripts/test.sh runs pytest-xdist with `--dist loadfile
# --no-loadscope-reorder`, so a worker takes whole files in the order below; xdist's own reorder (most tests
# first) left these for last, and one worker then ran the pipeline files alone while the other sat idle.
LONGEST_FILES_FIRST = (
    "tests/test_cli_resume.py",
    "tests/tfx_components/test_pipeline.py",
    "tests/test_model_examples.py",
    "tests/test_benchmarks_run.py",
    "tests/test_cross_backend.py",
    "tests/test_cli_run_safety.py",
    "tests/test_cli_train.py",
    "tests/training/test_trainer.py",
    "tests/test_console.py",
    "tests/tfx_components/test_local_run.py",
    "tests/export/test_export.py",
    "tests/training/test_precision_and_xla.py",
    "tests/tfx_components/test_beam_multi_processing.py",
    "tests/models/test_model_saving.py",
    "tests/tfx_components/test_text_trainer.py",
    "tests/tfx_components/test_model_stage_executors.py",
    "tests/test_examples.py",
    "tests/distribute/test_multi_worker.py",
)


def _order_files_longest_first(items):
    """Listed files first (in the list's order), then the rest with the most tests first (what xdist's own
    reorder does); the tests of one file keep their order."""
    def path(item):
        return item.nodeid.split("::")[0]

    counts = collections.Counter(path(item) for item in items)
    rank = {name: index for index, name in enumerate(LONGEST_FILES_FIRST)}
    first_seen = {name: index for index, name in enumerate(dict.fromkeys(path(item) for item in items))}
    items.sort(key=lambda item: (rank.get(path(item), len(rank)), -counts[path(item)], first_seen[path(item)]))


def pytest_collection_modifyitems(config, items):
    _order_files_longest_first(items)
    if importlib.util.find_spec("tfx") is None:
        skip = pytest.mark.skip(reason="TFX is not installed on this stack")
        for item in items:
            if "tfx" in item.keywords:
                item.add_marker(skip)
