#!/usr/bin/env bash
# The main job: the local TFX pipeline (LocalDagRunner, SQLite ML Metadata) on a built-in generated corpus,
# end to end -- validate, vocabulary, train, evaluate, validate serving, push -- then generations from the
# pushed SavedModel. Creates the TFX-stack environment when missing. Output in ./output/pipeline-demo.
# The command hides TensorFlow/TFX/Beam start-up noise (keras_llm.console); KERAS_LLM_DEBUG=1 shows everything.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
venv=$(scripts/ensure_env.sh tfx)
export KERAS_BACKEND=tensorflow
unset PYTHONDONTWRITEBYTECODE  # keep bytecode caches: each pipeline process imports TensorFlow (see test.sh)
out="${1:-$root/output/pipeline-demo}"
"$venv/bin/keras-llm" pipeline --builtin-corpus --data "$out/data" --output "$out" "${@:2}"
