"""Tests reuse the package's TF-only runner (see keras_llm/export/tf_only.py)."""
from keras_llm.export.tf_only import PRELUDE, run_tf_only  # noqa: F401
