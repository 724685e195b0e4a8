#!/usr/bin/env bash
# The test command. Every test runs once on a TensorFlow stack, and the backend-portable ones again on JAX:
#   1. TFX stack (TF 2.16, TFX 1.16): the TFX tests and the slow end-to-end ones (the CLI killed and resumed,
#      the examples, the benchmarks' quick runs, multi-process training), which go through the whole product;
#   2. latest stack (newest TF / Keras): all the other tests (layers, models, generation, tokenizers, data,
#      export, training, the CLI's quick paths);
#   3. latest stack on JAX (KERAS_BACKEND=jax): layers, models, generation, .keras files across backends (the
#      TensorFlow-only fast paths fall back to plain keras.ops there), and a JAX-trained run's SavedModel export.
# The unit tests ran on both TensorFlow stacks until the CI run reached 45 minutes of its 30; the TFX stack's
# end-to-end tests still go through the same training, export and generation code on TF 2.16.
# Creates both virtual environments when missing (scripts/ensure_env.sh). Extra args go to pytest (all three
# runs), e.g. a test path, or `-n 0` to run serially.
# Tests run in one pytest-xdist worker per core, a test file per worker (module fixtures are built once):
# most of a test's time is single-threaded (tracing, XLA compiles, subprocess start-up), so two workers on
# two cores nearly halve a run (a third worker measured no faster: TFX run 1030 against 1026 s).
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
echo "== TFX stack (Python 3.10, TF 2.16, TFX 1.16): TFX and slow end-to-end tests"
"$tfx_venv/bin/python" -m pytest -n auto --dist loadfile -m "tfx or slow" "$@"
echo "== latest stack (Python 3.11, newest TF / Keras): everything but TFX and slow end-to-end tests"
# (tests/test_cross_backend.py runs in the JAX run below: its processes use both backends whichever runs pytest.)
"$latest_venv/bin/python" -m pytest -n auto --dist loadfile -m "not tfx and not slow" \
    --ignore=tests/test_cross_backend.py "$@"
echo "== latest stack on JAX (KERAS_BACKEND=jax): layers, models, generation, .keras files across backends, export"
# Left out of this run, to keep CI under 30 minutes (the TensorFlow run keeps them): checkpoint conversion
# (keras-hub models), prompt tuning and the trained seq2seq fixtures, the slowest model files under JAX (each
# fresh batch shape recompiles), and the models' and generation's docstring examples (the layers' stay); JAX
# decoding of both model kinds stays covered by tests/generation.
# JAX's persistent compilation cache, empty at the start of each run and removed after it: tests that build a
# new jit of the same program (a fresh TextGenerator per test) read its executable back instead of compiling
# it again (tests/generation on JAX: 180 -> 138 s).
jax_cache=$(mktemp -d)
trap 'rm -rf "$jax_cache"' EXIT
JAX_COMPILATION_CACHE_DIR="$jax_cache" JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0 \
JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES=0 KERAS_BACKEND=jax \
    "$latest_venv/bin/python" -m pytest -n auto --dist loadfile -m "not tfx and not slow" \
    --ignore=tests/models/test_pretrained.py --ignore=tests/models/test_prompt_tuning.py \
    --ignore=tests/models/test_seq2seq_models.py --ignore=tests/models/test_docstring_examples.py \
    --ignore=tests/generation/test_docstring_examples.py \
    tests/layers tests/models tests/generation tests/test_cross_backend.py tests/export/test_export_from_jax.py "$@"
