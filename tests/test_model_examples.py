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


def _trainable(text):
    match = re.search(r"trainable parameters (\d+) of (\d+)", text)
    assert match, text[-2000:]
    return int(match.group(1)), int(match.group(2))


@pytest.fixture(scope="module")
def pretrained_and_scratch(tmp_path_factory):
    """The quick masked-LM run, then its encoder and a fresh copy of it (same tokenizer and architecture)
    fine-tuned on the same 200 labelled sentences: (directory, pretrain output, fine-tune outputs)."""
    directory = tmp_path_factory.mktemp("bert_mlm")
    pretrain = _run("pretrain_bert_mlm.py", "--output", str(directory))
    finetune = {origin: _run("finetune_classifier.py", "--pretrained", str(directory), "--examples", "200",
                             "--epochs", "10", *flags) for origin, flags in (("pretrained", ()),
                                                                            ("scratch", ("--from-scratch",)))}
    return directory, pretrain, finetune


@pytest.mark.slow
def test_pretrain_bert_mlm_then_finetune_it(pretrained_and_scratch):
    directory, out, finetune = pretrained_and_scratch
    loss = _number(r"masked-token loss ([\d.]+)", out)
    assert abs(_number(r"perplexity ([\d.]+)", out) - 2.718281828 ** loss) / 2.718281828 ** loss < 0.02
    assert (directory / "bert_mlm.keras").exists()
    # The saved encoder loads, and all of it fine-tunes. No accuracy bound: the quick pretraining does not make
    # a useful encoder (see the next test), so a bound would be at chance and check nothing.
    assert "bert encoder, pretrained, cls pooling, fine-tuning: 200 examples" in finetune["pretrained"]
    trainable, total = _trainable(finetune["pretrained"])
    assert trainable == total > 90_000
    assert "bert encoder, from scratch, cls pooling" in finetune["scratch"]
    assert _trainable(finetune["scratch"]) == (trainable, total)  # the same classifier


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="the quick masked-LM encoder fine-tunes worse than a fresh one (issue 18)")
def test_finetuning_the_pretrained_encoder_beats_training_from_scratch(pretrained_and_scratch):
    """What pretraining is for: on a small labelled set, the pretrained encoder must end clearly ahead.

    Measured (200 examples, 10 epochs): pretrained 0.518, from scratch 0.864; with 1,000 examples x 4 epochs,
    pretrained 0.504 / 0.854 (seeds 0 / 1), from scratch 0.976 / 0.992. The quick pretraining (4 epochs, 156
    steps) ends at the unigram plateau (masked-token accuracy 0.086: the most frequent token), and even 1,800
    steps on in-domain sentiment sentences (accuracy 0.14) fine-tuned 0.06-0.18 below scratch. Remove the
    xfail when the pretraining gives the encoder something the labels then use.
    """
    _, _, finetune = pretrained_and_scratch
    pretrained, scratch = (_number(r"accuracy ([\d.]+)", finetune[k]) for k in ("pretrained", "scratch"))
    assert pretrained > scratch + 0.03, (pretrained, scratch)


@pytest.mark.slow
def test_translate_seq2seq():
    out = _run("translate_seq2seq.py")
    bleu = _number(r"test BLEU .*?: ([\d.]+)", out)
    copied = _number(r"source copied ([\d.]+)", out)
    word_for_word = _number(r"word for word in source order ([\d.]+)", out)
    # The baselines on the same 100 sentences: the copied source shares only punctuation with the target (0.00);
    # the true lexicon word by word, unreordered, gets 14.22. Measured (quick, seeds 0 / 1 / 2): BLEU 71.0 / 55.3 /
    # 62.1, final loss 0.48 / 0.74 / 0.59; along one run, BLEU is 0 through epoch 4 (loss 2.3), 34 at epoch 7 and
    # 60 at epoch 10. An untrained or stalled model scores 0, a copy 0; beating 2x word-for-word needs the
    # lexicon and the reordering.
    assert copied < 1.0 and 10.0 < word_for_word < 20.0
    assert bleu > max(30.0, 2 * word_for_word), out[-1500:]
    assert _number(r"final training loss ([\d.]+)", out) < 1.5


@pytest.mark.slow
@pytest.mark.parametrize("args", [(), ("--encoder", "bert", "--freeze", "--pooling", "mean", "--epochs", "12")],
                         ids=["lstm", "frozen_bert"])
def test_finetune_classifier(args):
    out = _run("finetune_classifier.py", *args)
    loss, accuracy = _number(r"final test loss ([\d.]+)", out), _number(r"accuracy ([\d.]+)", out)
    trainable, total = _trainable(out)
    # Balanced classes: chance is 0.5 and loss ln 2 = 0.693 for a model that learned nothing.
    if args:
        # A linear head on a random, frozen encoder's mean-pooled features. Measured: accuracy 0.604 / 0.604
        # (seeds 0 / 1; 0.54-0.62 after 4 epochs), loss 0.669 / 0.657. Only the head trains (64 x 2 + 2); an
        # encoder that trained too would reach 0.98 (the fine-tuned run), a head that did not, 0.5.
        assert trainable == 130 and total > 100_000
        assert accuracy > 0.56 and loss < 0.69
    else:
        # Fine-tuned LSTM, measured (seeds 0 / 1 / 2): accuracy 0.978 / 0.976 / 0.972, loss 0.058 / 0.074 / 0.088.
        assert trainable == total
        assert accuracy > 0.9 and loss < 0.3
