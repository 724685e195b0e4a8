"""`keras-llm train / evaluate / generate / export`: a round trip on a generated corpus, config-file
precedence and one-line errors (resuming after `kill -9`: tests/test_cli_resume.py)."""
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_llm import datasets
from keras_llm.cli import build_parser, main, resolve_train_config

TINY = ["--seq-len", "16", "--batch-size", "8", "--vocab-size", "200", "--hidden-dim", "32", "--num-layers", "1",
        "--dropout", "0", "--sample-prompt", "the"]


def _cli(*args, timeout=300):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow")
    return subprocess.run([sys.executable, "-m", "keras_llm.cli", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=timeout)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "documents.txt"
    datasets.write_corpus(datasets.grammar_documents(150, seed=2), str(path))
    return path


def test_train_evaluate_generate_export_round_trip(corpus, tmp_path, capsys):
    run = tmp_path / "run"
    out = _cli("train", "--model", "gpt", "--num-heads", "2", *TINY, "--train", corpus, "--valid", corpus,
               "--steps", "6", "--steps-per-epoch", "3", "--output", run)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.strip().splitlines()
    assert "Epoch 2/2" in out.stdout and "tokens_per_second" in out.stdout and "perplexity" in out.stdout
    metrics = json.loads(lines[-1])
    assert metrics == json.loads((run / "metrics.json").read_text())
    for key in ("loss", "perplexity", "tokens_per_second", "num_parameters"):
        assert metrics[key] > 0
    versions = os.listdir(run / "serving")
    assert len(versions) == 1 and (run / "serving" / versions[0] / "saved_model.pb").exists()
    assert (run / "tokenizer" / "tokenizer.json").exists() and os.listdir(run / "tensorboard" / "train")

    # The other commands run in this process (same code path, without paying TensorFlow's start-up again).
    assert main(["evaluate", "--model-dir", str(run), "--data", str(corpus)]) == 0
    evaluation = json.loads(capsys.readouterr().out)
    assert set(evaluation) >= {"loss", "perplexity", "num_tokens"} and evaluation["num_tokens"] > 0
    np.testing.assert_allclose(evaluation["perplexity"], metrics["val_perplexity"], rtol=1e-5)

    assert main(["generate", "--model-dir", str(run), "--prompt", "the dog", "--prompt", "a",
                 "--max-new-tokens", "4"]) == 0
    sampled = capsys.readouterr().out.splitlines()
    assert len(sampled) == 2
    # The default is seeded top-p 0.9 at temperature 0.8: the same command gives the same text, and it is what
    # TextGenerator gives for those settings; --sampler greedy is TextGenerator's greedy.
    from keras_llm.generation import TextGenerator
    from keras_llm.training.trainer import load_trained

    generator = TextGenerator(*load_trained(str(run))[:2])
    assert sampled == generator.generate(["the dog", "a"], max_new_tokens=4, sampler="top_p", top_p=0.9,
                                         temperature=0.8, seed=0)
    assert main(["generate", "--model-dir", str(run), "--prompt", "the dog", "--prompt", "a",
                 "--max-new-tokens", "4"]) == 0
    assert capsys.readouterr().out.splitlines() == sampled
    assert main(["generate", "--model-dir", str(run), "--prompt", "the dog", "--sampler", "greedy",
                 "--no-repeat-ngram-size", "2", "--max-new-tokens", "6"]) == 0
    assert capsys.readouterr().out.splitlines() == generator.generate(["the dog"], max_new_tokens=6,
                                                                      no_repeat_ngram_size=2)
    assert main(["generate", "--model-dir", str(run), "--prompt", "the", "--sampler", "top_k", "--top-k", "5",
                 "--seed", "1", "--max-new-tokens", "3"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1

    assert main(["export", "--model-dir", str(run), "--output", str(tmp_path / "exported"), "--version", "7"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "exported" / "7")
    assert (tmp_path / "exported" / "7" / "saved_model.pb").exists()


@pytest.mark.slow  # end to end; the TFX stack runs it (scripts/test.sh)
def test_train_with_the_byte_pair_tokenizer_then_generate(corpus, tmp_path, capsys):
    """--tokenizer bpe: merges learned on the training file, saved with the run, used by generate."""
    from keras_llm.tokenizers import TOKENIZERS, BytePairTokenizer, load_tokenizer
    from keras_llm.training.train_config import TOKENIZER_KINDS
    from keras_llm.cli import TOKENIZERS as CLI_TOKENIZERS

    assert set(CLI_TOKENIZERS) == set(TOKENIZER_KINDS) == set(TOKENIZERS)  # the CLI lists every kind
    run = tmp_path / "run"
    flags = [f if f != "200" else "300" for f in TINY]
    out = _cli("train", "--model", "gpt", "--num-heads", "2", *flags, "--tokenizer", "bpe", "--train", corpus,
               "--steps", "2", "--output", run)
    assert out.returncode == 0, out.stderr[-3000:]
    tokenizer = load_tokenizer(run / "tokenizer")
    assert isinstance(tokenizer, BytePairTokenizer) and tokenizer.vocabulary_size == 300
    assert main(["generate", "--model-dir", str(run), "--prompt", "the dog", "--max-new-tokens", "4"]) == 0
    assert capsys.readouterr().out.strip()


@pytest.mark.parametrize("suffix", ["yaml", "json"])
def test_config_file_values_are_overridden_by_flags(tmp_path, suffix):
    values = {"model": "lstm", "seq-len": 32, "batch_size": 4, "epochs": 3, "learning_rate": 0.01,
              "train": "from_file.txt", "output": "out"}
    path = tmp_path / f"config.{suffix}"
    if suffix == "yaml":
        import yaml

        path.write_text(yaml.safe_dump(values))
    else:
        path.write_text(json.dumps(values))
    args = build_parser().parse_args(["train", "--config", str(path), "--seq-len", "8", "--steps", "5",
                                      "--train", "a.txt", "b.txt", "--verbose", "0"])
    config = resolve_train_config(args)
    assert (config.model, config.batch_size, config.learning_rate) == ("lstm", 4, 0.01)  # from the file
    assert (config.seq_len, config.steps, config.epochs) == (8, 5, None)  # flags win; --steps replaces epochs
    assert config.train == ["a.txt", "b.txt"] and config.vocab_size == 8000  # flag, default
    config = resolve_train_config(build_parser().parse_args(["train", "--config", str(path)]))
    assert (config.seq_len, config.epochs, config.train) == (32, 3, ["from_file.txt"])


def test_bad_flag_is_one_line_error():
    out = _cli("train", "--model", "transformer", "--train", "x", "--output", "y", "--steps", "1")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines() == [
        "keras-llm train: error: argument --model: invalid choice: 'transformer' (choose from 'rnn', 'lstm', 'gru', "
        "'gpt', 'bert', 'seq2seq') (see keras-llm train --help)"]
    out = _cli("train", "--epochs", "1", "--steps", "2", "--train", "x", "--output", "y")
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1 and "not allowed with" in out.stderr


def test_help_on_every_command(capsys):
    for command in ("train", "evaluate", "generate", "export", "corpus"):
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0
        assert f"usage: keras-llm {command}" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["train", "--train", "{missing}", "--output", "{out}", "--steps", "1"], "corpus file not found: "),
    (["train", "--train", "{corpus}", "--output", "{out}", "--steps", "1", "--patience", "2"],
     "--patience needs validation data"),
    (["train", "--train", "{corpus}", "--output", "{out}", "--valid-split", "0.9"], "--valid-split must be in"),
    (["train", "--train", "{corpus}", "--output", "{out}", "--steps", "1", "--hidden-dim", "30", "--num-heads", "4"],
     "--hidden-dim 30 is not divisible by --num-heads 4"),
    (["train", "--train", "{corpus}", "--output", "{out}", "--steps", "1", "--config", "{missing}"],
     "config file not found"),
    (["train", "--model", "lstm", "--num-heads", "2", "--train", "{corpus}", "--output", "{out}", "--steps", "1"],
     "--num-heads does not apply to --model lstm"),
    (["evaluate", "--model-dir", "{out}", "--data", "{corpus}"], "no trained model in "),
    (["generate", "--model-dir", "{out}", "--prompt", "x"], "no trained model in "),
])
def test_missing_files_and_impossible_settings_are_one_line_errors(argv, message, corpus, tmp_path, capsys):
    paths = {"missing": tmp_path / "missing.txt", "out": tmp_path / "out", "corpus": corpus}
    assert main([a.format(**paths) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and err.startswith(f"keras-llm {argv[0]}: error: ")


def _weights(path):
    model = keras.saving.load_model(path, compile=False)
    return model.get_weights()
