"""The speed benchmarks run with --quick and print one JSON line whose figures agree with each other."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(script):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow")
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), "--quick"], capture_output=True,
                         text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1, out.stdout[-2000:]  # one JSON line on stdout, the logs on stderr
    return json.loads(lines[0])


@pytest.mark.slow
@pytest.mark.parametrize("script,steps", [("gpt_training_speed.py", 2 * 3), ("lstm_training_speed.py", 2 * 3)])
def test_training_benchmarks_report_median_steps(script, steps):
    result = _run(script)
    assert result["ours_timed_steps"] == result["peer_timed_steps"] == steps  # repeats x steps, warm-up untimed
    ratio = result["ours_tokens_per_sec_median_step"] / result["peer_tokens_per_sec_median_step"]
    assert abs(result["ratio"] - ratio) < 2e-3 * ratio
    assert result["meets_target"] == (min(result["ratio"], result["ratio_cpu"]) >= result["target"])
    assert result["round_ours_tokens_per_sec_best"] >= result["round_ours_tokens_per_sec"] > 0


@pytest.mark.slow
def test_generate_benchmark_counts_every_requested_token():
    result = _run("generate_speed.py")
    for b in result["batch_sizes"]:
        assert result[f"ours_fraction_of_requested_tokens_b{b}"] == 1.0
        assert result["ratio"] <= min(result[f"ratio_b{b}"], result[f"ratio_xla_b{b}"])
    assert result["meets_target"] == (min(result["ratio"], result["ratio_cpu"]) >= 2.0)
