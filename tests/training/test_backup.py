"""keras_llm's BackupAndRestore: a run interrupted after a checkpoint and resumed in a fresh model ends with
the weights of an uninterrupted run also when it has dropout (Keras' own callback restarts the dropout
masks), including when the latest checkpoint is unreadable and the previous one is restored."""
import os

import keras
import numpy as np
import pytest

from keras_llm.training.callbacks.backup_and_restore import BackupAndRestore, random_state_variables

EPOCHS, STEPS = 3, 2


def _model():
    keras.utils.set_random_seed(3)  # same weights and the same seed-generator start in every model
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16), keras.layers.Dropout(0.5),
                              keras.layers.Dense(16), keras.layers.Dropout(0.3), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    return model


def _data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(STEPS * 4, 8)).astype("float32"), rng.normal(size=(STEPS * 4, 1)).astype("float32")


class _Interrupt(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == EPOCHS - 1:
            raise RuntimeError("interrupted")


def _fit(model, callbacks):
    x, y = _data()
    model.fit(x, y, batch_size=4, epochs=EPOCHS, shuffle=False, callbacks=callbacks, verbose=0)
    return model


def _resumed(backup_class, directory, corrupt_latest=False):
    """Trains EPOCHS - 1 epochs (a checkpoint after each), stops, resumes in a fresh model; its weights."""
    def backup():  # as the trainer makes it
        return backup_class(directory, double_checkpoint=True, delete_checkpoint=False)

    with pytest.raises(RuntimeError, match="interrupted"):
        _fit(_model(), [backup(), _Interrupt()])
    if corrupt_latest:  # a kill in the middle of writing the checkpoint of the last epoch
        with open(os.path.join(directory, "latest.weights.h5"), "wb") as f:
            f.write(b"half a file")
    model = _fit(_model(), [backup()])
    return model.get_weights()


@pytest.fixture(scope="module")
def reference():
    return _fit(_model(), []).get_weights()


def test_model_with_dropout_has_random_state_outside_its_weights():
    model = _model()
    assert len(random_state_variables(model)) == 2  # one seed generator per Dropout
    assert random_state_variables(keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])) == []


@pytest.mark.parametrize("corrupt_latest", [False, True], ids=["latest", "previous"])
def test_resumed_run_with_dropout_ends_with_the_uninterrupted_weights(reference, tmp_path, corrupt_latest):
    resumed = _resumed(BackupAndRestore, str(tmp_path / "backup"), corrupt_latest)
    for a, b in zip(reference, resumed, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-6)
    kept = sorted(name for name in os.listdir(tmp_path / "backup") if name.startswith("seeds-"))
    assert kept == ["seeds-4.json", "seeds-6.json"]  # this checkpoint's and the previous one's


def test_keras_backup_alone_repeats_the_first_dropout_masks(reference, tmp_path):
    """The negative control: what the seeds files fix."""
    resumed = _resumed(keras.callbacks.BackupAndRestore, str(tmp_path / "backup"))
    assert not all(np.allclose(a, b, rtol=1e-6) for a, b in zip(reference, resumed))
