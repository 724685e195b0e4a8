#!/usr/bin/env bash
# The test command: the whole suite on the TFX stack; on the latest stack everything but the TFX tests and
# the slow end-to-end ones (examples, multi-process, kill-and-resume), which keeps CI under 30 minutes.
# Creates both virtual environments when missing (scripts/ensure_env.sh). Extra args go to pytest.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
tfx_venv=$(scripts/ensure_env.sh tfx)
latest_venv=$(scripts/ensure_env.sh latest)
export KERAS_BACKEND=tensorflow TF_CPP_MIN_LOG_LEVEL=2
echo "== TFX stack (Python 3.10, TF 2.16, TFX 1.16): whole suite"
"$tfx_venv/bin/python" -m pytest "$@"
echo "== latest stack (Python 3.11, newest TF / Keras): everything but TFX and slow end-to-end tests"
"$latest_venv/bin/python" -m pytest -m "not tfx and not slow" "$@"
