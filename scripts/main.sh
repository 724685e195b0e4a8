#!/usr/bin/env bash
# The main job: the local TFX pipeline (LocalDagRunner, SQLite ML Metadata) on a built-in generated corpus,
# end to end -- validate, vocabulary, train, evaluate, validate serving, push -- then generations from the
# pushed SavedModel. Creates the TFX-stack environment when missing. Output in ./output/pipeline-demo.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
venv=$(scripts/ensure_env.sh tfx)
export KERAS_BACKEND=tensorflow TF_CPP_MIN_LOG_LEVEL=2
"$venv/bin/python" examples/tfx_local_pipeline.py --output "${1:-$root/output/pipeline-demo}" "${@:2}"
