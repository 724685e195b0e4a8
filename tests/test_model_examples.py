"""The model examples run end to end with --quick and print their final figures."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(script, *args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow")
    out = subprocess.run([sys.executable, str(ROOT / "examples" / script), "--quick", *args],
                         capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def _number(pattern, text):
    match = re.search(pattern, text)
    assert match, text[-2000:]
    return float(match.group(1))


@pytest.mark.slow
def test_train_lstm_lm():
    out = _run("train_lstm_lm.py")
    perplexity = _number(r"perplexity ([\d.]+) \(best possible", out)
    best = _number(r"exp\(entropy rate\) = ([\d.]+)", out)
    assert best < perplexity < 30  # far below the 50-word uniform guess


@pytest.mark.slow
def test_train_gpt():
    out = _run("train_gpt.py")
    # Started at the unigram model (output bias), 128 steps take it well below it (127 vs 245 measured); a model
    # that learned no context would stay near 1.0x.
    assert _number(r"perplexity ([\d.]+) \(a unigram", out) < 0.75 * _number(r"a unigram model: ([\d.]+)", out)
    assert "greedy continuation" in out


@pytest.mark.slow
def test_pretrain_bert_mlm_then_finetune_it(tmp_path):
    out = _run("pretrain_bert_mlm.py", "--output", str(tmp_path))
    loss = _number(r"masked-token loss ([\d.]+)", out)
    assert abs(_number(r"perplexity ([\d.]+)", out) - 2.718281828 ** loss) / 2.718281828 ** loss < 0.02
    assert (tmp_path / "bert_mlm.keras").exists()
    # A few seconds of masked-LM pretraining do not make a good encoder yet: check that the chain runs.
    out = _run("finetune_classifier.py", "--pretrained", str(tmp_path), "--epochs", "2")
    assert "bert encoder, cls pooling, fine-tuning" in out and _number(r"accuracy ([\d.]+)", out) >= 0.45


@pytest.mark.slow
def test_translate_seq2seq():
    out = _run("translate_seq2seq.py")
    assert _number(r"final training loss ([\d.]+)", out) < 4.0
    assert 0.0 <= _number(r"test BLEU .*?: ([\d.]+)", out) <= 100.0


@pytest.mark.slow
@pytest.mark.parametrize("args", [(), ("--encoder", "bert", "--freeze", "--pooling", "mean")], ids=["lstm", "frozen_bert"])
def test_finetune_classifier(args):
    out = _run("finetune_classifier.py", *args)
    loss, accuracy = _number(r"final test loss ([\d.]+)", out), _number(r"accuracy ([\d.]+)", out)
    if args:  # a linear head on a random, frozen encoder's features: just runs
        assert loss < 0.75 and accuracy >= 0.5
    else:
        assert loss < 0.5 and accuracy > 0.8
