"""TextTrainer's run_fn with `custom_config["init_from"]` (keras-llm pipeline --init-from): the TrainConfig it
builds, without training (the trainer's side is tests/training/test_init_from.py). DIR is a stand-in model folder:
`read_init_source` reads only the `.keras` archive's config.json and tokenizer/tokenizer.json."""
import json
import zipfile

import pytest

pytest.importorskip("tfx")
pytestmark = pytest.mark.tfx


def _model_folder(path, with_tokenizer, cell=None):
    path.mkdir()
    config = {"vocabulary_size": 120, "max_sequence_length": 16}
    class_name = "TransformerLanguageModel"
    if cell:
        class_name, config = "RNNLanguageModel", {"vocabulary_size": 120, "cell": cell}
    with zipfile.ZipFile(path / "model.keras", "w") as archive:
        archive.writestr("config.json", json.dumps({"class_name": class_name, "config": config}))
    (path / "train_config.json").write_text("{}")
    if with_tokenizer:
        (path / "tokenizer").mkdir()
        (path / "tokenizer" / "tokenizer.json").write_text(json.dumps({"class": "WordTokenizer", "config": {}}))
    return str(path)


def _fn_args(custom_config, tmp_path):
    from tfx.components.trainer.fn_args_utils import FnArgs

    custom_config = dict(custom_config, vocabulary_uri="vocab", run_key="k", backup_root=str(tmp_path / "b"))
    return FnArgs(train_files=[str(tmp_path / "train*")], eval_files=[str(tmp_path / "eval*")], train_steps=5,
                  eval_steps=1, serving_model_dir=str(tmp_path / "model" / "Format-Serving"),
                  model_run_dir=str(tmp_path / "model_run"), custom_config=custom_config)


def test_run_fn_takes_the_family_and_tokenizer_from_init_from(tmp_path):
    from tfx_components.text_trainer.run_fn import train_config_from_fn_args

    folder = _model_folder(tmp_path / "gpt", with_tokenizer=True)
    config = train_config_from_fn_args(_fn_args({"init_from": folder, "seq_len": 16}, tmp_path))
    assert (config.init_from, config.model, config.preset, config.vocab_size) == (folder, "gpt", None, 120)
    assert config.tokenizer_dir is None  # the folder's own tokenizer, not VocabularyGen's

    lstm = _model_folder(tmp_path / "lstm", with_tokenizer=False, cell="lstm")
    config = train_config_from_fn_args(_fn_args({"init_from": lstm}, tmp_path))
    assert (config.model, config.preset, config.tokenizer_dir) == ("lstm", None, "vocab")  # checked by the trainer


def test_run_fn_init_from_conflicts_are_one_line(tmp_path):
    from tfx_components.text_trainer.run_fn import train_config_from_fn_args

    folder = _model_folder(tmp_path / "gpt", with_tokenizer=True)
    for custom, message in [({"model": "bert"}, "holds a gpt model (TransformerLanguageModel), not --model bert"),
                            ({"preset": "gpt-tiny"}, "--preset gpt-tiny conflicts"),
                            ({"seq_len": 64}, "--seq-len 64 exceeds its model's 16 positions")]:
        with pytest.raises(ValueError) as error:
            train_config_from_fn_args(_fn_args(dict(custom, init_from=folder), tmp_path))
        assert message in str(error.value) and folder in str(error.value) and "\n" not in str(error.value)


def test_pipeline_command_refuses_a_bad_init_from_before_running(tmp_path, capsys):
    from keras_llm.cli import main

    (tmp_path / "data").mkdir()
    assert main(["pipeline", "--data", str(tmp_path / "data"), "--output", str(tmp_path / "out"),
                 "--init-from", str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err.strip() == \
        f"keras-llm pipeline: error: --init-from {tmp_path / 'missing'}: no such folder"
    assert not (tmp_path / "out").exists()
