"""`Perplexity` reuses the token NLL that `MaskedSparseCategoricalCrossentropy` computed in the same step (one
log-softmax over the logits per step instead of two), with the same result as computing it itself."""
import keras
import numpy as np
import pytest

import keras_llm.training.metrics as metrics_module
from keras_llm.models import TransformerLanguageModel
from keras_llm.training import Perplexity, compile_language_model
from keras_llm.training.losses import MaskedSparseCategoricalCrossentropy, shared_token_nll

RNG = np.random.default_rng(0)
X = RNG.integers(1, 50, size=(8, 10)).astype("int32")
Y = RNG.integers(1, 50, size=(8, 10)).astype("int32")
Y[:, ::3] = 0  # <pad> targets: ignored by the loss (and by a Perplexity with the same ignore_id)


def _model():
    keras.utils.set_random_seed(0)
    return TransformerLanguageModel(50, num_layers=1, hidden_dim=16, num_heads=2, intermediate_dim=32,
                                    max_sequence_length=10)


@pytest.fixture
def counted(monkeypatch):
    """How many times the metric computes the NLL itself (per traced or eager call)."""
    calls = []
    original = metrics_module.masked_token_nll

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(metrics_module, "masked_token_nll", counting)
    return calls


@pytest.mark.parametrize("run_eagerly", [False, True])
def test_fit_and_evaluate_share_the_loss_nll_with_the_same_perplexity(counted, run_eagerly):
    model = _model()
    compile_language_model(model, optimizer={"learning_rate": 1e-3, "total_steps": 4}, run_eagerly=run_eagerly)
    result = model.evaluate(X, Y, batch_size=8, verbose=0, return_dict=True)
    # On TensorFlow the metric never computed a log-softmax of its own. (Keras' JAX trainer hands the metrics
    # the logits returned out of its value_and_grad, other objects than the loss saw: no sharing, same values.)
    tensorflow = keras.backend.backend() == "tensorflow"
    assert counted == [] if tensorflow else counted
    counted.clear()
    # Same value as a metric that computes it itself (a fresh one, fed outside any step)
    reference = Perplexity()
    reference.update_state(Y, model(X))
    assert counted == [1]
    np.testing.assert_allclose(result["perplexity"], float(reference.result()), rtol=1e-5)
    np.testing.assert_allclose(result["perplexity"], np.exp(result["loss"]), rtol=1e-5)  # one batch: exp(loss)
    history = model.fit(X, Y, batch_size=4, epochs=2, verbose=0, shuffle=False)
    assert (counted == [1] if tensorflow else counted) and history.history["perplexity"][-1] < history.history[
        "perplexity"][0]


def test_nothing_is_shared_for_other_tensors_or_settings():
    loss = MaskedSparseCategoricalCrossentropy()
    logits = keras.ops.convert_to_tensor(RNG.normal(size=(2, 10, 50)).astype("float32"))
    targets = keras.ops.convert_to_tensor(Y[:2])
    loss(targets, logits)
    assert shared_token_nll(targets, keras.ops.copy(logits), 0, True) is None  # another tensor
    assert shared_token_nll(targets, logits, -1, True) is None  # another ignore_id
    assert shared_token_nll(targets, logits, 0, True) is not None
    assert shared_token_nll(targets, logits, 0, True) is None  # taken once


def test_a_metric_with_another_ignore_id_computes_its_own(counted):
    model = _model()
    model.compile(optimizer="adam", loss=MaskedSparseCategoricalCrossentropy(),
                  metrics=[Perplexity(ignore_id=-1)])  # counts <pad> targets too: not the loss's NLL
    result = model.evaluate(X, Y, batch_size=8, verbose=0, return_dict=True)
    assert counted  # computed by the metric itself
    reference = Perplexity(ignore_id=-1)
    reference.update_state(Y, model(X))
    np.testing.assert_allclose(result["perplexity"], float(reference.result()), rtol=1e-5)
    assert abs(np.log(result["perplexity"]) - result["loss"]) > 1e-3  # not the loss's (pad-free) mean
