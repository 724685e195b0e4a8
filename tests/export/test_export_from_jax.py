"""A run trained on the JAX backend ends with the same serving SavedModel as one trained on TensorFlow:
`save_serving_model` traces the signatures in a child process on TensorFlow (`keras_llm.export.on_tensorflow`),
and the exported model, loaded TF-only, generates the JAX model's greedy text token for token.
(Runs in the JAX run of scripts/test.sh; the TensorFlow runs skip it.)"""
import json
import os

import keras
import pytest

if keras.backend.backend() != "jax":
    pytest.skip("needs KERAS_BACKEND=jax (the JAX run of scripts/test.sh)", allow_module_level=True)

from tf_only import run_tf_only  # noqa: E402

from keras_llm import datasets  # noqa: E402
from keras_llm.export import export_saved_model  # noqa: E402
from keras_llm.export.on_tensorflow import ExportError, save_in_tensorflow  # noqa: E402
from keras_llm.generation import TextGenerator  # noqa: E402
from keras_llm.training.callbacks import GradientNormMonitor  # noqa: E402
from keras_llm.training.trainer import load_trained, train_language_model  # noqa: E402

PROMPTS = ["the", "a dog", "", "the cat sees"]
NEW_TOKENS = 6


@pytest.fixture(scope="module")
def jax_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("jax_run")
    corpus = folder / "documents.txt"
    datasets.write_corpus(datasets.grammar_documents(120, seed=1), str(corpus))
    settings = {"model": "gpt", "train": [str(corpus)], "output": str(folder / "run"), "seq_len": 16,
                "batch_size": 8, "vocab_size": 200, "hidden_dim": 32, "num_layers": 1, "num_heads": 2,
                "dropout": 0.0, "verbose": 0, "steps": 4, "steps_per_epoch": 4, "max_new_tokens": NEW_TOKENS}
    return train_language_model(settings, exporter=export_saved_model), folder


def test_a_jax_run_exports_a_saved_model_that_generates_the_jax_models_text(jax_run):
    result, folder = jax_run
    path = result.paths["serving"]
    assert os.path.dirname(path) == str(folder / "run" / "serving")
    assert os.path.isfile(os.path.join(path, "saved_model.pb"))
    assert json.loads((folder / "run" / "metrics.json").read_text())["serving"] == path
    body = f"""
        m = tf.saved_model.load({path!r})
        out = m.signatures["generate"](prompts=tf.constant({PROMPTS!r}))["text"].numpy().tolist()
        print(json.dumps([t.decode() for t in out]))
        """
    exported = run_tf_only(body)
    expected = TextGenerator(result.model, result.tokenizer).generate(PROMPTS, max_new_tokens=NEW_TOKENS)
    assert exported == expected and any(exported)  # exported greedy == the JAX model's greedy
    # The published run folder reloads on JAX with the trained weights (what `keras-llm export` starts from).
    model, _, config = load_trained(str(folder / "run"))
    assert config.model == "gpt"
    for a, b in zip(model.get_weights(), result.model.get_weights()):
        assert (a == b).all()


def test_bad_options_are_refused_in_one_line(jax_run, tmp_path):
    result, _ = jax_run
    with pytest.raises(ValueError, match="serving options must be JSON values to export from the jax backend"):
        save_in_tensorflow(result.model, result.tokenizer, str(tmp_path / "out"), sampler=object())
    # the child's error comes back as its last line: here the serving module refusing a misspelled option
    with pytest.raises(ExportError, match=r"^the SavedModel export on TensorFlow failed: .*'max_new_token'$"):
        save_in_tensorflow(result.model, result.tokenizer, str(tmp_path / "out"), max_new_token=3)
    # a model never called has no weights to copy: the TensorFlow process would draw new random ones
    from keras_llm.models import TransformerLanguageModel

    unbuilt = TransformerLanguageModel(50, num_layers=1, hidden_dim=16, num_heads=2, intermediate_dim=32,
                                       max_sequence_length=16)
    with pytest.raises(ValueError, match=r"^TransformerLanguageModel has no weights yet \(never called or built\)"):
        export_saved_model(unbuilt, result.tokenizer, str(tmp_path / "unbuilt"), version=1)
    assert not os.path.exists(tmp_path / "out") and not os.path.exists(tmp_path / "unbuilt" / "1")


def test_the_gradient_norm_monitor_logs_nothing_on_jax_rather_than_zero():
    import numpy as np

    class Logs(keras.callbacks.Callback):
        seen = []

        def on_train_batch_end(self, batch, logs=None):
            self.seen.append(dict(logs))

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((8, 4)), np.zeros((8, 4)), batch_size=4, verbose=0, callbacks=[GradientNormMonitor(), Logs()])
    assert len(Logs.seen) == 2 and all("loss" in logs and "gradient_norm" not in logs for logs in Logs.seen)
