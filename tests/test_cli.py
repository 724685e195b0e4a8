import subprocess
import sys

import pytest

from keras_llm import __version__
from keras_llm.cli import main


def test_version_and_help(capsys):
    out = subprocess.run([sys.executable, "-m", "keras_llm.cli", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == f"keras-llm {__version__}"
    assert main([]) == 0
    assert "corpus" in capsys.readouterr().out


def test_corpus_command_writes_lines(tmp_path, capsys):
    path = tmp_path / "c.txt"
    assert main(["corpus", "--kind", "translation", "--num", "5", "--output", str(path)]) == 0
    lines = path.read_text().splitlines()
    assert len(lines) == 5 and all(line.count("\t") == 1 for line in lines)


def test_bad_flag_is_one_line_error(capsys):
    out = subprocess.run([sys.executable, "-m", "keras_llm.cli", "corpus", "--kind", "nope", "--output", "x"],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "invalid choice" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.tfx
def test_pipeline_command_flags_and_missing_data(tmp_path, capsys):
    assert main(["pipeline", "--data", str(tmp_path / "nope"), "--output", str(tmp_path / "out")]) == 2
    assert "data directory not found" in capsys.readouterr().err
