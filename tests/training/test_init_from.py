"""`keras-llm train --init-from DIR`: a run starts from a train run's or a convert folder's weights (its first
batch's loss is the source model's loss on that batch, not a fresh model's), training then moves them, an
interrupted run resumes from its own checkpoint rather than DIR, and conflicts are one error line naming DIR."""
import json

import keras
import numpy as np
import pytest

from keras_llm import datasets
from keras_llm.cli import main
from keras_llm.tokenizers import ByteTokenizer, load_tokenizer
from keras_llm.training.compile import compile_language_model
from keras_llm.training.trainer import load_trained, train_language_model, training_stream

SIZES = ["--seq-len", "16", "--batch-size", "8"]
TINY = [*SIZES, "--vocab-size", "200", "--hidden-dim", "32", "--num-layers", "1", "--num-heads", "2", "--dropout", "0"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "documents.txt"
    datasets.write_corpus(datasets.grammar_documents(80, seed=3), str(path))
    return path


@pytest.fixture(scope="module")
def source_run(tmp_path_factory, corpus):
    """A finished 16-position GPT run of `keras-llm train` (never modified)."""
    run = tmp_path_factory.mktemp("source") / "run"
    assert main(["train", "--model", "gpt", *TINY, "--train", str(corpus), "--steps", "4", "--output", str(run),
                 "--serving-dir", "", "--verbose", "0"]) == 0
    return run


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """A `keras-llm convert` folder of a tiny random keras-hub GPT2Backbone over the byte tokenizer's ids."""
    keras_hub = pytest.importorskip("keras_hub")
    keras.utils.set_random_seed(0)
    backbone = keras_hub.models.GPT2Backbone(vocabulary_size=ByteTokenizer().vocabulary_size, num_layers=1,
                                             num_heads=2, hidden_dim=16, intermediate_dim=64, max_sequence_length=16,
                                             dropout=0.0)
    rng = np.random.default_rng(1)
    for variable in backbone.weights:  # random everywhere, as tests/models/test_pretrained.py does
        variable.assign(rng.normal(0.0, 0.2, size=tuple(variable.shape)).astype("float32"))
    root = tmp_path_factory.mktemp("converted")
    backbone.save_to_preset(str(root / "preset"))
    assert main(["convert", str(root / "preset"), "--output", str(root / "gpt2")]) == 0
    return root / "gpt2"


class FirstBatch(keras.callbacks.Callback):
    """Records the weights when training begins and the loss of the first batch (computed before its update)."""

    def on_train_begin(self, logs=None):
        self.weights = [np.array(w) for w in self.model.get_weights()]

    def on_train_batch_end(self, batch, logs=None):
        if not hasattr(self, "loss"):
            self.loss = float(logs["loss"])


def _train(corpus, output, *, steps=2, callbacks=(), **settings):
    config = {"train": [str(corpus)], "output": str(output), "steps": steps, "seq_len": 16, "batch_size": 8,
              "serving_dir": "", "verbose": 0, "learning_rate": 1e-2, **settings}
    return train_language_model(config, callbacks=list(callbacks))


def _first_batch_loss(model, result):
    """The source `model`'s loss (compiled like the run: its own padding convention) on the run's first batch."""
    inputs, targets = next(iter(training_stream(result.config, result.tokenizer, [str(result.config.train[0])])))
    compile_language_model(model, optimizer={"learning_rate": 1e-3})
    return float(model.test_on_batch(inputs, targets, return_dict=True)["loss"])


def _same(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def test_a_run_starts_from_a_train_runs_weights_and_tokenizer(source_run, corpus, tmp_path):
    source, source_tokenizer, _ = load_trained(str(source_run))
    start = FirstBatch()
    result = _train(corpus, tmp_path / "tuned", callbacks=[start], init_from=str(source_run))
    assert _same(start.weights, source.get_weights())  # not re-initialized, no unigram output bias over it
    assert result.tokenizer.get_vocabulary() == source_tokenizer.get_vocabulary()  # DIR's tokenizer, not a new one
    np.testing.assert_allclose(start.loss, _first_batch_loss(source, result), rtol=1e-5)
    assert not _same(result.model.get_weights(), source.get_weights())  # and training moved them
    written = json.loads((tmp_path / "tuned" / "train_config.json").read_text())
    assert written["init_from"] == str(source_run) and written["model"] == "gpt" and written["vocab_size"] == 200

    fresh = FirstBatch()  # the same run without --init-from starts elsewhere: the comparison above can fail
    _train(corpus, tmp_path / "fresh", steps=1, callbacks=[fresh], model="gpt", vocab_size=200, num_layers=1,
           hidden_dim=32, num_heads=2, dropout=0.0)
    assert abs(fresh.loss - start.loss) > 0.05


def test_a_run_starts_from_a_convert_folder_keeping_its_token_conventions(converted, corpus, tmp_path):
    source = keras.saving.load_model(str(converted / "model.keras"), compile=False)
    assert source.token_conventions["pad_id"] is None
    start = FirstBatch()
    result = _train(corpus, tmp_path / "tuned", callbacks=[start], init_from=str(converted), tokenizer="byte")
    assert result.model.token_conventions == source.token_conventions  # GPT-2's: no id is padding
    assert result.config.model == "gpt" and result.config.vocab_size == source.vocabulary_size
    assert _same(start.weights, source.get_weights())
    np.testing.assert_allclose(start.loss, _first_batch_loss(source, result), rtol=1e-5)
    assert not _same(result.model.get_weights(), source.get_weights())

    # A convert folder with a keras_llm tokenizer in it: that tokenizer is the run's.
    ByteTokenizer().save(str(converted / "tokenizer"))
    try:
        again = _train(corpus, tmp_path / "with_tokenizer", steps=1, init_from=str(converted))
        assert type(again.tokenizer).__name__ == "ByteTokenizer"
    finally:
        import shutil

        shutil.rmtree(converted / "tokenizer")


class StopAfter(keras.callbacks.Callback):
    def __init__(self, step):
        super().__init__()
        self.step = step

    def on_train_batch_end(self, batch, logs=None):
        if batch + 1 == self.step:
            raise KeyboardInterrupt


@pytest.mark.slow  # end to end; the TFX stack runs it (scripts/test.sh)
def test_an_interrupted_run_resumes_from_its_checkpoint_not_from_init_from(source_run, corpus, tmp_path):
    source, _, _ = load_trained(str(source_run))
    settings = dict(init_from=str(source_run), checkpoint_every=2, steps=4)
    with pytest.raises(KeyboardInterrupt):
        _train(corpus, tmp_path / "run", callbacks=[StopAfter(3)], **settings)
    checkpointed = keras.saving.load_model(str(source_run / "model.keras"), compile=False)
    checkpointed.load_weights(str(next((tmp_path / "run" / "backup").glob("*.weights.h5"))))
    resumed = FirstBatch()
    result = _train(corpus, tmp_path / "run", callbacks=[resumed], **settings)
    assert not _same(resumed.weights, source.get_weights())  # the checkpoint's weights won over DIR's
    assert _same(resumed.weights, checkpointed.get_weights())
    assert result.metrics["steps"] == 4


def _error(capsys, argv):
    code = main(argv)
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1, lines
    return lines[0]


def test_bad_folders_and_conflicting_flags_are_one_error_line(source_run, corpus, tmp_path, capsys):
    train = ["train", "--train", str(corpus), "--steps", "1", *SIZES, "--output", str(tmp_path / "out")]
    missing = tmp_path / "missing"
    assert _error(capsys, [*train, "--init-from", str(missing)]) == \
        f"keras-llm train: error: --init-from {missing}: no such folder"
    (tmp_path / "empty").mkdir()
    line = _error(capsys, [*train, "--init-from", str(tmp_path / "empty")])
    assert f"--init-from {tmp_path / 'empty'}: not a model folder" in line
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model.keras").write_text("not a zip")
    assert "is not a readable Keras model archive" in _error(capsys, [*train, "--init-from", str(broken)])
    run = str(source_run)
    assert f"--init-from {run}: holds a gpt model (TransformerLanguageModel), not --model lstm" in _error(
        capsys, [*train, "--init-from", run, "--model", "lstm"])
    assert "--vocab-size 300 conflicts with its model's vocabulary of 200 tokens" in _error(
        capsys, [*train, "--init-from", run, "--vocab-size", "300"])
    assert "--preset gpt-tiny conflicts" in _error(capsys, [*train, "--init-from", run, "--preset", "gpt-tiny"])
    assert "--seq-len 32 exceeds its model's 16 positions" in _error(
        capsys, [*train, "--init-from", run, "--seq-len", "32"])
    assert "is the run's own --output" in _error(
        capsys, ["train", "--train", str(corpus), "--steps", "1", "--init-from", run, "--output", run, "--overwrite"])
    assert "--num-layers 3 conflicts with its model's 1" in _error(
        capsys, [*train, "--init-from", run, "--num-layers", "3"])
    assert not (tmp_path / "out" / "model.keras").exists()


def test_a_tokenizer_without_the_models_vocabulary_size_is_an_error(converted, source_run, corpus, tmp_path, capsys):
    size = load_tokenizer(str(source_run / "tokenizer")).vocabulary_size
    line = _error(capsys, ["train", "--train", str(corpus), "--steps", "1", "--batch-size", "8",
                           "--init-from", str(converted), "--tokenizer-dir", str(source_run / "tokenizer"),
                           "--output", str(tmp_path / "out")])
    assert line.startswith(f"keras-llm train: error: --init-from {converted}: its model has a vocabulary of "
                           f"{ByteTokenizer().vocabulary_size} tokens but the run's tokenizer")
    assert f"has {size};" in line
