import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_text_pipeline_example_quick(tmp_path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "text_pipeline.py"), "--quick", "--output", str(tmp_path)],
                         capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    for kind in ("word", "wordpiece", "byte", "sentencepiece"):
        assert f"[{kind}] vocabulary" in out.stdout
        assert (tmp_path / f"tokenizer-{kind}" / "tokenizer.json").exists()
    assert "<mask>" in out.stdout


@pytest.mark.slow
def test_serve_savedmodel_example_quick(tmp_path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "serve_savedmodel.py"), "--quick", "--output", str(tmp_path)],
                         capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "signatures: generate, generate_with_options, score, serving_default" in out.stdout
    assert (tmp_path / "lm" / "1" / "saved_model.pb").exists()
