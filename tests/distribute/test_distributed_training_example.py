"""examples/distributed_training.py runs (mirrored mode: the CPU split into two logical devices)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "distributed_training.py"


@pytest.mark.slow
def test_mirrored_example_quick(tmp_path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow")
    out = subprocess.run([sys.executable, str(EXAMPLE), "mirrored", "--cpus", "2", "--steps", "4", "--quick",
                          "--output", str(tmp_path)], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "MirroredStrategy over 2 replicas" in out.stdout
    metrics = json.loads(out.stdout.strip().splitlines()[-1])
    assert metrics["steps"] == 4 and (tmp_path / "run" / "model.keras").exists()
