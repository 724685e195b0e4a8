"""The XLA-fused forms of `keras_llm.backend.tensorflow_kernels` (GELU, the loss's token NLL): the same values and
gradients as the references, used only where they should be (a differentiated graph on wide tensors), and a
model's whole training gradient unchanged by them."""
import keras
import numpy as np
import pytest

from keras_llm.backend import ops as backend_ops
from keras_llm.backend import reference

pytestmark = pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="TensorFlow's kernels")

RNG = np.random.default_rng(0)


@pytest.fixture
def tf():
    import tensorflow as tf

    return tf


@pytest.fixture
def kernels():
    from keras_llm.backend import tensorflow_kernels

    return tensorflow_kernels


def _training_step(tf, fn, *inputs):
    """`fn(*inputs)` and the gradient of `sum(fn(*inputs) * upstream)` (a fixed random upstream of the output's
    shape) with respect to the first input, traced in a `tf.function` under a tape (as a training step is); also
    returns whether the traced graph calls a function compiled by XLA."""
    inputs = [tf.convert_to_tensor(v) for v in inputs]
    upstream = tf.constant(np.random.default_rng(1).normal(size=fn(*inputs).shape).astype("float32"))

    @tf.function
    def step(x, *rest):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = fn(x, *rest)
        return y, tape.gradient(y, x, output_gradients=upstream)

    y, gradient = step(*inputs)
    graph = step.get_concrete_function(*inputs).graph
    return y.numpy(), gradient.numpy(), _compiles_with_xla(graph)


def _compiles_with_xla(graph):
    """Whether `graph` or a function it calls is marked for XLA compilation."""
    functions = graph._functions.values()  # noqa: SLF001 - the traced graph's library
    return any(function.definition.attr["_XlaMustCompile"].b for function in functions)


@pytest.mark.parametrize("approximate", [False, True], ids=["exact", "tanh"])
def test_fused_gelu_equals_the_reference_and_is_used_in_a_training_step(tf, kernels, approximate):
    x = RNG.normal(scale=3.0, size=(4, 7, 256)).astype("float32")
    x[0, 0, :8] = [-12.0, -6.0, -1e-3, 0.0, 1e-3, 6.0, 12.0, 40.0]  # the tails and the origin
    y, gradient, fused = _training_step(tf, lambda v: backend_ops.gelu(v, approximate=approximate), x)
    expected_y, expected_gradient, reference_fused = _training_step(
        tf, lambda v: reference.gelu(v, approximate=approximate), x)
    assert fused and not reference_fused
    np.testing.assert_allclose(y, expected_y, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gradient, expected_gradient, rtol=1e-4, atol=3e-5)  # upstream up to ~4
    # the other GELU's gradient differs by more: the comparison can tell them apart
    _, other_gradient, _ = _training_step(tf, lambda v: reference.gelu(v, approximate=not approximate), x)
    assert np.abs(other_gradient - expected_gradient).max() > 1e-3


def test_fused_token_nll_equals_the_reference_and_is_used_in_a_training_step(tf, kernels):
    vocabulary = kernels.FUSE_MIN_VOCABULARY
    logits = RNG.normal(scale=4.0, size=(3, 5, vocabulary)).astype("float32")
    logits[0, 0, 17] = -np.inf  # a masked token that is not the target
    targets = RNG.integers(0, vocabulary, size=(3, 5)).astype("int32")
    targets[0, 0] = 3

    def ours(lg):
        return backend_ops.token_nll(tf.constant(targets), lg, for_gradient=True)

    def plain(lg):
        return reference.token_nll(tf.constant(targets), lg, for_gradient=True)

    nll, gradient, fused = _training_step(tf, ours, logits)
    expected_nll, expected_gradient, reference_fused = _training_step(tf, plain, logits)
    assert fused and not reference_fused
    np.testing.assert_allclose(nll, expected_nll, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gradient, expected_gradient, rtol=1e-4, atol=1e-6)
    # each row's gradient sums to 0 (softmax minus one-hot, times that row's upstream), the target entry < 0
    np.testing.assert_allclose(gradient.sum(axis=-1), 0.0, atol=1e-5)
    assert gradient[0, 0, 17] == 0.0
    # a smaller vocabulary keeps TensorFlow's ops
    narrow = logits[..., :vocabulary - 1]
    assert not _training_step(tf, lambda lg: backend_ops.token_nll(
        tf.constant(np.minimum(targets, vocabulary - 2)), lg, for_gradient=True), narrow)[2]


def test_fusion_only_in_differentiated_graphs_on_wide_tensors(tf, kernels):
    wide, narrow = tf.ones((2, 3, 256)), tf.ones((2, 3, 255))

    def traced_fuses(x, with_tape):
        @tf.function
        def run(x):
            if with_tape:
                with tf.GradientTape() as tape:
                    tape.watch(x)
                    return backend_ops.gelu(x)
            return backend_ops.gelu(x)

        return _compiles_with_xla(run.get_concrete_function(x).graph)

    assert traced_fuses(wide, with_tape=True)
    assert not traced_fuses(narrow, with_tape=True)  # under FUSE_MIN_WIDTH: TensorFlow's ops
    assert not traced_fuses(wide, with_tape=False)  # predict / serving: no XLA call in the graph
    assert kernels.FUSE_MIN_WIDTH == 256
    # eagerly: the op-by-op form, same values
    with tf.GradientTape() as tape:
        tape.watch(wide)
        y = backend_ops.gelu(wide)
    np.testing.assert_allclose(y.numpy(), reference.gelu(wide).numpy(), rtol=1e-6)


def test_a_training_steps_gradients_are_the_same_with_and_without_fusion(tf, kernels, monkeypatch):
    """A GPT whose feed-forward and vocabulary are wide enough to fuse: the loss and every variable's gradient
    of one compiled step match the step traced with fusion off."""
    from keras_llm.models import TransformerLanguageModel
    from keras_llm.training import MaskedSparseCategoricalCrossentropy

    keras.utils.set_random_seed(0)
    vocabulary = kernels.FUSE_MIN_VOCABULARY
    model = TransformerLanguageModel(vocabulary, num_layers=2, hidden_dim=32, num_heads=2, intermediate_dim=256,
                                     max_sequence_length=12, activation="gelu_approximate")
    ids = RNG.integers(1, vocabulary, size=(3, 13)).astype("int32")
    loss_fn = MaskedSparseCategoricalCrossentropy()

    def step():
        @tf.function
        def run(x, y):
            with tf.GradientTape() as tape:
                loss = loss_fn(y, model(x, training=True))
            gradients = tape.gradient(loss, [v.value for v in model.trainable_variables])
            return loss, [tf.convert_to_tensor(g) for g in gradients]  # the embedding's are IndexedSlices

        loss, gradients = run(ids[:, :-1], ids[:, 1:])
        graph = run.get_concrete_function(ids[:, :-1], ids[:, 1:]).graph
        return loss.numpy(), [g.numpy() for g in gradients], _compiles_with_xla(graph)

    fused_loss, fused_gradients, fused = step()
    monkeypatch.setattr(kernels, "FUSE_MIN_WIDTH", 10**9)
    monkeypatch.setattr(kernels, "FUSE_MIN_VOCABULARY", 10**9)
    loss, gradients, plain = step()
    assert fused and not plain
    np.testing.assert_allclose(fused_loss, loss, rtol=1e-6)
    for got, expected in zip(fused_gradients, gradients):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6 + 1e-4 * np.abs(expected).max())
    assert max(np.abs(g).max() for g in gradients) > 1e-3


def test_a_saved_model_exported_after_fused_training_has_no_xla_call(tf, kernels, monkeypatch, tmp_path):
    """Training traces the fused forms; the serving signatures exported right after (without XLA) trace
    TensorFlow's ops: TF Serving without `--xla_cpu_compilation_enabled` can load them."""
    from lm_fixtures import word_tokenizer
    from tensorflow.core.protobuf import saved_model_pb2

    from keras_llm.export import export_saved_model
    from keras_llm.models import TransformerLanguageModel
    from keras_llm.training import compile_language_model

    traced = []
    fused_gelu = kernels._fused_gelu
    monkeypatch.setattr(kernels, "_fused_gelu", lambda *args: traced.append(args) or fused_gelu(*args))
    tokenizer = word_tokenizer()
    keras.utils.set_random_seed(0)
    model = TransformerLanguageModel(tokenizer.vocabulary_size, num_layers=1, hidden_dim=32, num_heads=2,
                                     intermediate_dim=256, max_sequence_length=16)
    compile_language_model(model, optimizer="adam")
    ids = RNG.integers(7, tokenizer.vocabulary_size, size=(8, 9)).astype("int32")
    model.fit(ids[:, :-1], ids[:, 1:], epochs=1, batch_size=8, verbose=0)
    assert traced  # the training step traced the fused GELU
    path = export_saved_model(model, tokenizer, str(tmp_path / "lm"), version=1, max_new_tokens=4,
                              jit_compile=False)
    saved = saved_model_pb2.SavedModel.FromString((tmp_path / "lm" / "1" / "saved_model.pb").read_bytes())
    functions = [f for graph in saved.meta_graphs for f in graph.graph_def.library.function]
    assert functions and not [f.signature.name for f in functions if f.attr["_XlaMustCompile"].b]
    generated = tf.saved_model.load(path).signatures["generate"](prompts=tf.constant(["red"]))["text"]
    assert generated.shape == (1,)
