#!/usr/bin/env bash
# The main job, end to end on a built-in corpus. Creates the TFX-stack environment when missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
venv=$(scripts/ensure_env.sh tfx)
export KERAS_BACKEND=tensorflow TF_CPP_MIN_LOG_LEVEL=2
"$venv/bin/python" examples/text_pipeline.py --output "${1:-$root/output/demo}"
