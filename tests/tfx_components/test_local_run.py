"""`make main` end to end: scripts/main.sh runs `keras-llm pipeline --builtin-corpus --data OUT/data --output OUT`
(plus any extra flags) in the TFX environment. This runs that command, with the smallest settings whose model
the default blessing bound (at most 0.9x the unigram baseline's perplexity) accepts, and checks what it pushed."""
import json
import os
import re
import subprocess
import sys

import pytest

pytest.importorskip("tfx")
pytestmark = [pytest.mark.tfx, pytest.mark.slow]

# The default family (gpt, gpt-tiny) on the built-in corpus; 100 steps of 16 x 32 tokens reach ~0.55x the
# unigram baseline's eval perplexity (40 steps of 8 x 16 stayed at 1.01x and pushed nothing).
SMALL = ["--train-steps", "100", "--seq-len", "32", "--batch-size", "16", "--vocab-size", "300"]


def keras_llm_command():
    """The console script main.sh runs (`$venv/bin/keras-llm`), or the module when it is not installed."""
    script = os.path.join(os.path.dirname(sys.executable), "keras-llm")
    return [script] if os.path.exists(script) else [sys.executable, "-m", "keras_llm.cli"]


def test_make_main_pipeline_command_pushes_a_model_that_loads_with_its_metrics(tmp_path):
    from tf_only import run_tf_only

    from tfx_components.local_run import latest_artifact

    out = tmp_path / "pipeline-demo"
    env = dict(os.environ, KERAS_BACKEND="tensorflow")
    result = subprocess.run([*keras_llm_command(), "pipeline", "--builtin-corpus", "--data", str(out / "data"),
                             "--output", str(out), *SMALL], capture_output=True, text=True, env=env, timeout=1200)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (out / "data" / "corpus.txt").exists()
    pushed = re.search(r"^pushed model: (.+)$", result.stdout, re.M)
    assert pushed, result.stdout[-3000:]
    destination = pushed.group(1)
    assert os.path.dirname(destination) == str(out / "serving") and os.listdir(out / "serving") == [
        os.path.basename(destination)]
    assert len(re.findall(r"^  '.*' -> '.*'$", result.stdout, re.M)) == 3  # the three demo generations

    # ML Metadata records the push, the evaluation behind the blessing and the training run.
    metadata = str(out / "metadata.sqlite")
    record = latest_artifact(metadata, "PushedModel")
    assert record.custom_properties["pushed_destination"].string_value == destination
    with open(os.path.join(latest_artifact(metadata, "ModelEvaluation").uri, "metrics.json")) as f:
        evaluation = json.load(f)
    assert evaluation["blessed"] and evaluation["task"] == "causal" and evaluation["num_texts"] > 100
    assert evaluation["perplexity"] <= evaluation["max_unigram_ratio"] * evaluation["unigram_perplexity"]
    assert f"eval causal perplexity {evaluation['perplexity']:.3f}" in result.stdout
    with open(os.path.join(latest_artifact(metadata, "ModelRun").uri, "metrics.json")) as f:
        training = json.load(f)
    assert (training["model"], training["preset"], training["steps"]) == ("gpt", "gpt-tiny", 100)

    # The pushed SavedModel loads and serves with TensorFlow alone, as a model server would.
    served = run_tf_only(f"""
        m = tf.saved_model.load({destination!r})
        text = m.signatures["generate"](prompts=tf.constant(["the small dog"]))["text"]
        score = m.signatures["score"](texts=tf.constant(["the small dog sees a cat ."]))
        print(json.dumps({{"signatures": sorted(m.signatures), "text": text.shape[0],
                          "ppl": float(score["perplexity"][0])}}))
        """)
    assert served["signatures"] == ["generate", "generate_with_options", "score", "serving_default"]
    assert served["text"] == 1 and 1.0 < served["ppl"] < 300
