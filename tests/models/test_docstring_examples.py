"""The `>>>` examples in keras_llm.models's docstrings run and print what they say, on the backend under test."""
import pytest
from helpers import docstring_example_modules, run_docstring_examples

import keras_llm.models


@pytest.mark.parametrize("module", docstring_example_modules(keras_llm.models))
def test_docstring_examples_run(module):
    run_docstring_examples(module)
