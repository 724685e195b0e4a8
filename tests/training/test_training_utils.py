"""Losses, the Perplexity metric, the learning-rate schedule and the optimizer factory."""
import keras
import numpy as np
import pytest

from keras_llm.training import (
    AdamWWithDecayExclusions,
    MaskedSparseCategoricalCrossentropy,
    Perplexity,
    WarmupDecaySchedule,
    compile_language_model,
    make_optimizer,
)

RNG = np.random.default_rng(0)
LOGITS = RNG.normal(size=(3, 5, 11)).astype("float32")
TARGETS = np.array([[4, 7, 2, 0, 0], [1, 9, 10, 3, 5], [8, 0, 0, 0, 0]], dtype="int32")


def _numpy_token_nll(logits, targets):
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    return -np.take_along_axis(log_probs, targets[..., None], axis=-1)[..., 0]


def test_loss_is_mean_over_non_padding_tokens():
    nll = _numpy_token_nll(LOGITS, TARGETS)
    mask = TARGETS != 0
    loss = MaskedSparseCategoricalCrossentropy()
    np.testing.assert_allclose(float(loss(TARGETS, LOGITS)), nll[mask].mean(), rtol=1e-5)
    # sample weights scale tokens and the divisor
    weights = np.array([1.0, 0.0, 2.0], "float32")
    token_weights = mask * weights[:, None]
    expected = (nll * token_weights).sum() / token_weights.sum()
    np.testing.assert_allclose(float(loss(TARGETS, LOGITS, sample_weight=weights)), expected, rtol=1e-5)
    # an ignore id outside the vocabulary is fine
    shifted = np.where(mask, TARGETS, -100)
    np.testing.assert_allclose(
        float(MaskedSparseCategoricalCrossentropy(ignore_id=-100)(shifted, LOGITS)), nll[mask].mean(), rtol=1e-5
    )
    assert MaskedSparseCategoricalCrossentropy.from_config(loss.get_config()).get_config() == loss.get_config()


def test_perplexity_accumulates_tokens_not_batches():
    metric = Perplexity()
    metric.update_state(TARGETS[:2], LOGITS[:2])
    metric.update_state(TARGETS[2:], LOGITS[2:])
    nll = _numpy_token_nll(LOGITS, TARGETS)
    np.testing.assert_allclose(float(metric.result()), np.exp(nll[TARGETS != 0].mean()), rtol=1e-5)
    metric.reset_state()
    assert float(metric.result()) == 1.0
    assert Perplexity.from_config(metric.get_config()).get_config() == metric.get_config()


def test_perplexity_equals_exp_of_evaluate_loss_with_padding():
    inputs = keras.Input((6,), dtype="int32")
    logits = keras.layers.Dense(13)(keras.layers.Embedding(13, 8)(inputs))
    model = compile_language_model(keras.Model(inputs, logits))
    ids = RNG.integers(1, 13, size=(10, 6)).astype("int32")
    targets = RNG.integers(1, 13, size=(10, 6)).astype("int32")
    targets[::2, 3:] = 0  # every batch of 2 rows holds the same number of real tokens
    result = model.evaluate(ids, targets, batch_size=2, verbose=0, return_dict=True)
    np.testing.assert_allclose(result["perplexity"], np.exp(result["loss"]), rtol=1e-5)


@pytest.mark.parametrize("decay", ["cosine", "linear"])
def test_schedule_values(decay):
    schedule = WarmupDecaySchedule(1e-3, warmup_steps=10, total_steps=110, decay=decay, final_learning_rate=1e-4)
    value = lambda step: float(schedule(step))  # noqa: E731
    assert value(0) == 0.0
    np.testing.assert_allclose(value(5), 5e-4, rtol=1e-6)
    np.testing.assert_allclose(value(10), 1e-3, rtol=1e-6)  # warmup end: the peak
    np.testing.assert_allclose(value(60), 5.5e-4, rtol=1e-5)  # half way: cosine and linear agree
    np.testing.assert_allclose(value(110), 1e-4, rtol=1e-5)  # decay end
    np.testing.assert_allclose(value(500), 1e-4, rtol=1e-5)
    if decay == "cosine":
        np.testing.assert_allclose(value(35), 1e-4 + 9e-4 * 0.5 * (1 + np.cos(np.pi / 4)), rtol=1e-5)
    else:
        np.testing.assert_allclose(value(35), 1e-3 - 9e-4 * 0.25, rtol=1e-5)
    assert WarmupDecaySchedule.from_config(schedule.get_config()).get_config() == schedule.get_config()


def test_schedule_without_warmup_or_decay():
    assert float(WarmupDecaySchedule(2e-3, total_steps=None)(50)) == pytest.approx(2e-3)
    assert float(WarmupDecaySchedule(2e-3, total_steps=10)(0)) == pytest.approx(2e-3)
    with pytest.raises(ValueError):
        WarmupDecaySchedule(1e-3, decay="step")


def test_weight_decay_skips_norms_and_biases():
    dense = keras.layers.Dense(4)
    norm = keras.layers.LayerNormalization()
    dense.build((None, 4))
    norm.build((None, 4))
    variables = dense.trainable_variables + norm.trainable_variables
    norm.gamma.assign(np.full(4, 2.0, "float32"))
    dense.bias.assign(np.ones(4, "float32"))
    before = [keras.ops.convert_to_numpy(v) for v in variables]
    optimizer = make_optimizer(learning_rate=0.1, weight_decay=0.5)
    # zero gradients: Adam moves nothing, so any change is weight decay
    optimizer.apply_gradients([(keras.ops.zeros_like(v), v) for v in variables])
    after = {v.name: keras.ops.convert_to_numpy(v) for v in variables}
    np.testing.assert_allclose(after["kernel"], before[0] * (1 - 0.1 * 0.5), rtol=1e-6)
    for name, original in zip(["bias", "gamma", "beta"], before[1:]):
        np.testing.assert_array_equal(after[name], original)


def test_make_optimizer_options_and_config():
    optimizer = make_optimizer(warmup_steps=5, total_steps=50, decay="linear")
    assert isinstance(optimizer, keras.optimizers.AdamW)
    assert optimizer.global_clipnorm == 1.0 and optimizer.clipnorm is None
    assert float(optimizer.learning_rate) == 0.0  # step 0 of the warmup
    serialized = keras.optimizers.serialize(optimizer)
    assert serialized["config"]["learning_rate"]["registered_name"] == "keras_llm>WarmupDecaySchedule"
    assert serialized["config"]["no_decay_names"] == ["bias", "gamma", "beta"]
    restored = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))  # (deserialize mutates)
    assert isinstance(restored, AdamWWithDecayExclusions)
    assert restored.no_decay_names == ("bias", "gamma", "beta")
    assert keras.optimizers.serialize(restored) == serialized
    per_variable = make_optimizer(clipnorm=0.5)
    assert per_variable.clipnorm == 0.5 and per_variable.global_clipnorm is None


def test_perplexity_matches_reference_with_padding_and_sample_weights():
    rng = np.random.default_rng(1)
    logits = (rng.normal(size=(4, 9, 37)) * 20).astype("float32")  # large logits: the max shift matters
    targets = rng.integers(1, 37, size=(4, 9)).astype("int32")
    targets[1, 5:] = 0
    targets[3, 2:] = 0
    weights = np.array([[1.0], [0.5], [0.0], [2.0]], "float32") * rng.uniform(0.5, 1.5, size=(4, 9)).astype("float32")
    metric = Perplexity()
    metric.update_state(targets[:2], logits[:2], sample_weight=weights[:2])
    metric.update_state(targets[2:], logits[2:], sample_weight=weights[2:])
    shifted = logits.astype("float64") - logits.max(-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    nll = -np.take_along_axis(log_probs, targets[..., None], axis=-1)[..., 0]
    token_weights = (targets != 0) * weights
    expected = np.exp((nll * token_weights).sum() / token_weights.sum())
    np.testing.assert_allclose(float(metric.result()), expected, rtol=1e-5)
    # per-row sample weights [batch] broadcast over the tokens, as before
    metric.reset_state()
    metric.update_state(targets, logits, sample_weight=weights[:, 0])
    row_weights = (targets != 0) * weights[:, :1]
    np.testing.assert_allclose(float(metric.result()), np.exp((nll * row_weights).sum() / row_weights.sum()), rtol=1e-5)


def test_loss_gradient_equals_softmax_minus_one_hot():
    import tensorflow as tf

    loss_fn = MaskedSparseCategoricalCrossentropy()

    def gradient(logits):
        with tf.GradientTape() as tape:
            tape.watch(logits)
            loss = loss_fn(TARGETS, logits)
        return tape.gradient(loss, logits)

    probs = np.exp(LOGITS) / np.exp(LOGITS).sum(-1, keepdims=True)
    mask = (TARGETS != 0)[..., None]
    expected = (probs - np.eye(11, dtype="float32")[TARGETS]) * mask / mask.sum()
    np.testing.assert_allclose(gradient(tf.constant(LOGITS)).numpy(), expected, atol=1e-6)
    for jit_compile in (False, True):  # the written-out gradient in a graph and under XLA
        compiled = tf.function(gradient, jit_compile=jit_compile, autograph=False)
        np.testing.assert_allclose(compiled(tf.constant(LOGITS)).numpy(), expected, atol=1e-6)


def test_token_nll_picks_the_same_targets_by_gather_and_by_one_hot():
    from keras_llm.backend import reference
    from keras_llm.training.losses import logits_token_nll

    expected = _numpy_token_nll(LOGITS, TARGETS)
    for for_gradient in (False, True):
        nll = keras.ops.convert_to_numpy(logits_token_nll(TARGETS, LOGITS, for_gradient=for_gradient))
        np.testing.assert_allclose(nll, expected, rtol=1e-5, atol=1e-6)
    # The one-hot select the other backends differentiate (TensorFlow's loss has its own gradient).
    nll = keras.ops.convert_to_numpy(reference.token_nll(TARGETS, LOGITS, for_gradient=True))
    np.testing.assert_allclose(nll, expected, rtol=1e-5, atol=1e-6)


def test_loss_with_minus_infinity_logits_is_finite_and_equals_the_gather_path():
    import tensorflow as tf

    from keras_llm.backend import reference
    from keras_llm.training.losses import logits_token_nll

    logits = LOGITS.copy()
    logits[..., 0] = -np.inf  # a masked token (never a target here)
    targets = np.where(TARGETS == 0, 1, TARGETS)
    expected = keras.ops.convert_to_numpy(logits_token_nll(targets, logits))
    for nll_of in (lambda t, x: logits_token_nll(t, x, for_gradient=True),
                   lambda t, x: reference.token_nll(t, x, for_gradient=True)):
        variable = tf.constant(logits)
        with tf.GradientTape() as tape:
            tape.watch(variable)
            nll = nll_of(targets, variable)
            total = tf.reduce_sum(nll)
        gradient = tape.gradient(total, variable).numpy()
        np.testing.assert_allclose(nll.numpy(), expected, rtol=1e-5)
        assert np.isfinite(expected).all() and np.isfinite(gradient).all()
        assert (gradient[..., 0] == 0).all()
