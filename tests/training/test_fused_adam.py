"""The fused TF Adam kernel (`keras_llm.backend.tensorflow_kernels.apply_adam`) against Keras' own AdamW
update (the reference: `fused=False`), on the same variables and gradients."""
import numpy as np
import pytest
import tensorflow as tf

import keras

from keras_llm.training.optimizers import AdamWWithDecayExclusions, make_optimizer

pytestmark = pytest.mark.skipif(keras.config.backend() != "tensorflow", reason="a TensorFlow kernel")


def _variables(seed=0):
    rng = np.random.default_rng(seed)
    shapes = {"dense/kernel": (16, 8), "dense/bias": (8,), "norm/gamma": (8,), "embedding/embeddings": (30, 8)}
    return [keras.Variable(rng.normal(size=s).astype("float32"), name=n.split("/")[-1]) for n, s in shapes.items()]


def _gradients(step, variables):
    rng = np.random.default_rng(100 + step)
    return [rng.normal(scale=3.0, size=v.shape).astype("float32") for v in variables]


@pytest.mark.parametrize("compiled", [False, True])
def test_fused_steps_equal_keras_steps(compiled):
    runs = {}
    for fused in (True, False):
        variables = _variables()
        optimizer = make_optimizer(1e-2, weight_decay=0.1, warmup_steps=2, total_steps=8)  # clipping at 1.0
        optimizer.fused = fused

        def apply(grads):
            optimizer.apply_gradients(zip(grads, variables))

        apply = tf.function(apply) if compiled else apply
        for step in range(6):
            apply([tf.constant(g) for g in _gradients(step, variables)])
        runs[fused] = [v.numpy() for v in variables] + [m.numpy() for m in optimizer._momentums] + \
                      [v.numpy() for v in optimizer._velocities]
    moved = max(np.abs(a - b).max() for a, b in zip(runs[False], [v.numpy() for v in _variables()]))
    assert moved > 0.01  # the steps change the weights (so equality below says something)
    for fused_value, keras_value in zip(runs[True], runs[False]):
        np.testing.assert_allclose(fused_value, keras_value, rtol=1e-5, atol=1e-6)


def test_the_kernel_runs_and_differs_from_plain_adam_only_by_rounding():
    # A negative control: the fused path really replaces the update (its graph holds ResourceApplyAdam), and a
    # different beta_2 would be caught by the comparison above (the update depends on it).
    variables = _variables()
    optimizer = AdamWWithDecayExclusions(learning_rate=1e-2, weight_decay=0.0)
    optimizer.build(variables)
    grads = [tf.constant(g) for g in _gradients(0, variables)]
    graph = tf.function(lambda: optimizer.apply_gradients(zip(grads, variables))).get_concrete_function().graph
    assert "ResourceApplyAdam" in {op.type for op in graph.get_operations()}
    other = AdamWWithDecayExclusions(learning_rate=1e-2, weight_decay=0.0, beta_2=0.9)
    other_vars = _variables()
    for step in range(3):
        g = _gradients(step, variables)
        optimizer.apply_gradients(zip([tf.constant(x) for x in g], variables))
        other.apply_gradients(zip([tf.constant(x) for x in g], other_vars))
    assert max(np.abs(a.numpy() - b.numpy()).max() for a, b in zip(variables, other_vars)) > 1e-4


def test_fused_is_in_the_config_and_amsgrad_uses_keras_update():
    optimizer = make_optimizer(1e-3)
    assert optimizer.get_config()["fused"] is True
    restored = AdamWWithDecayExclusions.from_config(dict(optimizer.get_config(), fused=False))
    assert restored.fused is False
    variables = _variables()
    amsgrad = AdamWWithDecayExclusions(learning_rate=1e-2, amsgrad=True)
    amsgrad.build(variables)
    grads = [tf.constant(g) for g in _gradients(0, variables)]
    graph = tf.function(lambda: amsgrad.apply_gradients(zip(grads, variables))).get_concrete_function().graph
    assert "ResourceApplyAdam" not in {op.type for op in graph.get_operations()}


def test_mirrored_variables_keep_keras_update_and_train_the_same():
    # Under tf.distribute the kernel declines (Keras' update keeps the per-replica bookkeeping); one replica
    # here, so the figures equal the unmirrored fused run's.
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    with strategy.scope():
        mirrored = _variables()
        optimizer = make_optimizer(1e-2, weight_decay=0.1)
        optimizer.build(mirrored)
    plain = _variables()
    plain_optimizer = make_optimizer(1e-2, weight_decay=0.1)

    @tf.function
    def step(grads):
        strategy.run(lambda: optimizer.apply_gradients(zip(grads, mirrored)))

    for s in range(3):
        grads = [tf.constant(g) for g in _gradients(s, plain)]
        step(grads)
        plain_optimizer.apply_gradients(zip(grads, plain))
    for a, b in zip(mirrored, plain):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)
