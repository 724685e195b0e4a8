#!/usr/bin/env bash
# The test command: the whole suite on the TFX stack; on the latest stack everything but the TFX tests and
# the slow end-to-end ones (examples, multi-process, kill-and-resume), which keeps CI under 30 minutes; then the
# layer, model and generation tests again on the JAX backend (the TensorFlow-only fast paths fall back to plain
# keras.ops there), with the tests of .keras files moving between the two backends.
# Creates both virtual environments when missing (scripts/ensure_env.sh). Extra args go to pytest.
# Tests run in one pytest-xdist worker per core, a test file per worker (module fixtures are built once):
# most of a test's time is single-threaded (tracing, XLA compiles, subprocess start-up), so two workers on
# two cores take the TFX suite from ~22 to ~13 minutes. `-n 0` (after the command) runs serially.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
tfx_venv=$(scripts/ensure_env.sh tfx)
latest_venv=$(scripts/ensure_env.sh latest)
export KERAS_BACKEND=tensorflow TF_CPP_MIN_LOG_LEVEL=2
# Python's bytecode caches are written again where the environment turned them off (PYTHONDONTWRITEBYTECODE,
# set on these machines): the suite starts a few hundred Python processes (pytest workers, CLI runs, TF-only
# loaders), and without the caches each one recompiles the sources it imports that the wheels ship no bytecode
# for (all of keras-hub, half of Keras, this package): `import keras_llm.cli` 5.5 -> 3.8 s once compiled.
unset PYTHONDONTWRITEBYTECODE
echo "== TFX stack (Python 3.10, TF 2.16, TFX 1.16): whole suite"
"$tfx_venv/bin/python" -m pytest -n auto --dist loadfile "$@"
echo "== latest stack (Python 3.11, newest TF / Keras): everything but TFX and slow end-to-end tests"
# (tests/test_cross_backend.py runs in the JAX run below: its processes use both backends whichever runs pytest.)
"$latest_venv/bin/python" -m pytest -n auto --dist loadfile -m "not tfx and not slow" \
    --ignore=tests/test_cross_backend.py "$@"
echo "== latest stack on JAX (KERAS_BACKEND=jax): layers, models, generation, and .keras files across backends"
# Left out of this run, to keep CI under 30 minutes (both TensorFlow runs keep them): checkpoint conversion
# (keras-hub models), prompt tuning and the trained seq2seq fixtures, the slowest model files under JAX (each
# fresh batch shape recompiles), and the models' and generation's docstring examples (the layers' stay); JAX
# decoding of both model kinds stays covered by tests/generation.
KERAS_BACKEND=jax "$latest_venv/bin/python" -m pytest -n auto --dist loadfile -m "not tfx and not slow" \
    --ignore=tests/models/test_pretrained.py --ignore=tests/models/test_prompt_tuning.py \
    --ignore=tests/models/test_seq2seq_models.py --ignore=tests/models/test_docstring_examples.py \
    --ignore=tests/generation/test_docstring_examples.py \
    tests/layers tests/models tests/generation tests/test_cross_backend.py "$@"
