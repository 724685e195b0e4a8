import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from lm_fixtures import LONG_PROMPTS, make_model, trained_model, word_tokenizer
from tf_only import PRELUDE, run_tf_only

from keras_llm.export import export_saved_model
from keras_llm.generation import TextGenerator
from keras_llm.models import TransformerLanguageModel

SIGNATURES = {"serving_default", "generate", "generate_with_options", "score"}
# 9 prompts in chunks of 8 with jit_min_batch=8: the first chunk runs the XLA-compiled loop (bucketed), the
# second (1 row) the uncompiled one; both must match Python greedy decoding.
PROMPTS = ["red", "the dog", "", "one two three four five", "red green", "seven", "a cat", "blue", "the"]
LONG = LONG_PROMPTS * 3  # 9 prompts of >= 19 tokens: both paths prefill two chunks of the prompt first
# generate_with_options requests: (temperature, top_p, repetition_penalty, no_repeat_ngram_size, seed).
OPTION_REQUESTS = {"sampled": (0.8, 0.9, 1.0, 0, 5), "sampled_seed_6": (0.8, 0.9, 1.0, 0, 6),
                   "sampled_constrained": (0.8, 0.9, 1.2, 3, 5), "greedy_constrained": (0.0, 1.0, 1.3, 2, 0)}


@pytest.fixture(scope="module", params=["transformer", "lstm"])
def exported(request, tmp_path_factory):
    tok = word_tokenizer()
    model = trained_model(request.param) if request.param == "lstm" else make_model("transformer", tok.vocabulary_size, 5)
    base = tmp_path_factory.mktemp("export") / "lm"
    path = export_saved_model(model, tok, str(base), version=7, max_new_tokens=12, max_batch_size=8,
                              jit_min_batch=8)
    return model, tok, base, path


def example(text):
    feature = tf.train.Feature(bytes_list=tf.train.BytesList(value=[text.encode()]))
    return tf.train.Example(features=tf.train.Features(feature={"text": feature})).SerializeToString()


def test_layout_and_warmup(exported):
    _, _, base, path = exported
    assert os.listdir(base) == ["7"] and path == str(base / "7")
    assert os.path.exists(os.path.join(path, "saved_model.pb"))
    from tensorflow_serving.apis import prediction_log_pb2

    warmup = os.path.join(path, "assets.extra", "tf_serving_warmup_requests")
    logs = [prediction_log_pb2.PredictionLog.FromString(r.numpy()) for r in tf.data.TFRecordDataset(warmup)]
    assert {log.predict_log.request.model_spec.signature_name for log in logs} == {"generate", "score"}
    with pytest.raises(FileExistsError):
        export_saved_model(exported[0], exported[1], str(base), version=7)


def test_contract_in_a_tf_only_process(exported):
    model, tok, _, path = exported
    body = f"""
        m = tf.saved_model.load({path!r})
        sigs = sorted(m.signatures)
        prompts = tf.constant({PROMPTS!r})
        gen = m.signatures["generate"](prompts=prompts)["text"].numpy().tolist()
        long = m.signatures["generate"](prompts=tf.constant({LONG!r}))["text"].numpy().tolist()
        def options(temperature, top_p, penalty, ngram, seed, max_new_tokens=12):
            out = m.signatures["generate_with_options"](
                prompts=prompts, max_new_tokens=tf.constant(max_new_tokens), temperature=tf.constant(temperature),
                top_p=tf.constant(top_p), repetition_penalty=tf.constant(penalty),
                no_repeat_ngram_size=tf.constant(ngram), seed=tf.constant(seed))["text"]
            return [t.decode() for t in out.numpy()]
        opt = options(0.7, 0.9, 1.0, 0, -1, max_new_tokens=3)
        none = [options(0.0, 1.0, 1.0, 0, 0, max_new_tokens=n) for n in (0, -2)]  # greedy, like "gen" below
        one = options(0.0, 1.0, 1.0, 0, 0, max_new_tokens=1)
        requests = {{name: options(*settings) for name, settings in {OPTION_REQUESTS!r}.items()}}
        score = {{k: v.numpy().tolist() for k, v in m.signatures["score"](texts=prompts).items()}}
        ex = m.signatures["serving_default"](examples=tf.constant({[example(p) for p in PROMPTS]!r}))
        print(json.dumps({{"sigs": sigs, "gen": [g.decode() for g in gen], "long": [g.decode() for g in long],
                          "opt": opt, "none": none, "one": one,
                          "requests": requests, "score": score, "default": [t.decode() for t in ex["text"].numpy()]}}))
        """
    out = run_tf_only(body)
    assert set(out["sigs"]) == SIGNATURES
    generator = TextGenerator(model, tok)
    assert out["gen"] == generator.generate(PROMPTS, max_new_tokens=12)  # exported greedy == Python greedy
    assert out["long"] == generator.generate(LONG, max_new_tokens=12)
    assert out["default"] == out["gen"]
    assert all(len(o.split()) <= 3 for o in out["opt"])
    assert out["none"] == [[""] * len(PROMPTS)] * 2  # max_new_tokens 0 or negative: no token, not one
    assert out["one"] == generator.generate(PROMPTS, max_new_tokens=1) and any(out["one"])
    # The same seed and settings give the Python generator's text: XLA chunk of 8 rows and uncompiled last row.
    for name, (temperature, top_p, penalty, ngram, seed) in OPTION_REQUESTS.items():
        sampler = "greedy" if temperature <= 0 else "top_p"
        expected = generator.generate(PROMPTS, max_new_tokens=12, sampler=sampler, temperature=temperature,
                                      top_p=top_p, seed=seed, repetition_penalty=penalty, no_repeat_ngram_size=ngram)
        assert out["requests"][name] == expected, name
    if isinstance(model, TransformerLanguageModel):  # random weights: greedy loops, sampling is not peaked
        assert out["requests"]["greedy_constrained"] != out["gen"]
        assert out["requests"]["sampled"] != out["requests"]["sampled_seed_6"]
    expected = generator.score(PROMPTS)
    np.testing.assert_allclose(out["score"]["log_likelihood"], expected["log_likelihood"], rtol=1e-5, atol=1e-5)
    assert out["score"]["num_tokens"] == expected["num_tokens"].tolist()
    np.testing.assert_allclose(out["score"]["perplexity"], expected["perplexity"], rtol=1e-4)


def test_bad_requests_return(exported):
    _, _, _, path = exported
    m = tf.saved_model.load(path)
    generate = m.signatures["generate"]
    bad = [b"", ("word " * 20_000).encode(), b"\xff\xfe\xc3(", b"\x00\x00"]
    out = generate(prompts=tf.constant(bad))["text"].numpy()
    assert len(out) == 4 and all(isinstance(t.decode("utf-8"), str) for t in out)
    for batch in (1, 64):
        assert generate(prompts=tf.constant(["the dog"] * batch))["text"].shape == [batch]
    assert m.signatures["score"](texts=tf.constant([""] * 64))["num_tokens"].numpy().tolist() == [1] * 64
    assert m.signatures["score"](texts=tf.constant([bad[1]]))["num_tokens"].numpy()[0] > 0
    assert generate(prompts=tf.constant([], tf.string))["text"].shape == [0]


def test_saved_model_cli_show_and_run(exported, tmp_path):
    _, _, _, path = exported
    cli = [sys.executable, "-c", PRELUDE + "from tensorflow.python.tools import saved_model_cli\nsys.argv[0] = 'saved_model_cli'\nsaved_model_cli.main()"]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    show = subprocess.run(cli + ["show", "--dir", path, "--all"], capture_output=True, text=True, env=env, timeout=300)
    assert show.returncode == 0, show.stderr[-2000:]
    for name in SIGNATURES:
        assert f"signature_def['{name}']" in show.stdout
    run = subprocess.run(cli + ["run", "--dir", path, "--tag_set", "serve", "--signature_def", "score",
                                "--input_exprs", "texts=['red green blue']"], capture_output=True, text=True, env=env,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "perplexity" in run.stdout
