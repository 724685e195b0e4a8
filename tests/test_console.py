"""keras_llm.console: the processes we own show our lines, not library noise; `import keras_llm` changes nothing.

The filter tests load console.py from its file in a child process (no TensorFlow: fast) and write the noise lines
seen on the TFX stack themselves; the command tests run the real `keras-llm` in a child process.
"""
import importlib.util
import json
import os
import pathlib
import subprocess
import sys

import pytest

from keras_llm import console

CONSOLE_FILE = pathlib.Path(console.__file__)
KERAS_LLM = pathlib.Path(sys.executable).with_name("keras-llm")

# Lines the TFX stack (TF 2.16, Python 3.10) and the latest stack (TF 2.21) print on every run.
NOISE = [
    b"2026-12-02 15:33:15.804337: E external/local_xla/xla/stream_executor/cuda/cuda_dnn.cc:10575] Unable to "
    b"register cuDNN factory: Attempting to register factory for plugin cuDNN when one has already been registered\n",
    b"2026-12-02 15:34:50.644733: E tensorflow/core/util/util.cc:131] oneDNN supports DT_INT64 only on platforms "
    b"with AVX-512. Falling back to the default Eigen-based implementation if present.\n",
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
    b"I0000 00:00:1796225668.310673   13862 service.cc:145] XLA service 0x7fac6c054800 initialized for platform "
    b"Host (this does not guarantee that XLA will be used). Devices:\n",
    b"I0000 00:00:1796225813.272342   14495 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU "
    b"will not be used.\n",
    b"E0000 00:00:1796225826.445681   14495 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: "
    b"Failed call to cuInit: UNKNOWN ERROR (303)\n",
]
KEPT = [
    b"keras-llm train: error: --vocab-size must be positive\n",
    b"E0000 00:00:1796225826.445681   14495 op_kernel.cc:1827] OP_REQUIRES failed at strided_slice_op.cc:117\n",
    b"2026-12-02 15:34:50.644733: E tensorflow/core/framework/op_kernel.cc:1827] OP_REQUIRES failed\n",
    b"128/128 - 7s - 55ms/step - loss: 4.5174 - perplexity: 91.6011\n",
    b"learning a word vocabulary of up to 200 tokens from /tmp/c.txt ...\n",
]

# Quiets its console (console.py loaded from its file, so no TensorFlow), then prints noise and real output
# through every path a program has: fd 2 directly (C++), Python warnings, logging, a child process.
CHILD = r"""
import importlib.util, json, logging, os, subprocess, sys, warnings
spec = importlib.util.spec_from_file_location("console_under_test", sys.argv[1])
console = importlib.util.module_from_spec(spec)
spec.loader.exec_module(console)
print("quieted:", console.quiet_console(), "level:", os.environ.get("TF_CPP_MIN_LOG_LEVEL"), flush=True)
for line in json.loads(sys.argv[2]):
    os.write(2, line.encode())
warnings.warn("You are using a non-supported Python version (3.10.13). Google will not post any further updates "
              "to google.api_core supporting this Python version.", FutureWarning)
warnings.warn("a FutureWarning of our own", FutureWarning)
logging.getLogger("absl").warning("ArtifactQuery.property_predicate is not supported.")
logging.getLogger("absl").warning("an absl warning that matters")
subprocess.run([sys.executable, "-c", "import os; os.write(2, b'Unable to register cuFFT factory: Attempting to "
                "register factory for plugin cuFFT when one has already been registered\\nfrom a child process\\n')"])
sys.stderr.write("a last line without a newline")
if sys.argv[3] == "abort":
    sys.stderr.flush()
    os.abort()
"""


def run_child(mode="exit", **env):
    lines = [line.decode() for line in NOISE + KEPT]
    environment = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", console.DEBUG_ENV)}
    out = subprocess.run([sys.executable, "-c", CHILD, str(CONSOLE_FILE), json.dumps(lines), mode],
                         capture_output=True, env={**environment, **env}, timeout=120)
    return out.returncode, out.stdout.decode(), out.stderr


@pytest.mark.parametrize("line", NOISE)
def test_known_noise_lines_are_noise(line):
    assert console.is_noise(line)


@pytest.mark.parametrize("line", KEPT)
def test_our_lines_and_real_errors_are_kept(line):
    assert not console.is_noise(line)


def test_abseil_info_lines_follow_the_log_level():
    info = NOISE[3]
    assert console.is_noise(info, min_log_level=1) and not console.is_noise(info, min_log_level=0)
    warning = info.replace(b"I0000", b"W0000", 1)
    assert console.is_noise(warning, min_log_level=2) and not console.is_noise(warning, min_log_level=1)


def test_quiet_process_drops_the_noise_and_keeps_everything_else():
    code, stdout, stderr = run_child()
    assert code == 0, stderr.decode()
    assert stdout == "quieted: True level: 2\n"
    for line in KEPT:
        assert line in stderr
    for kept in (b"a FutureWarning of our own", b"an absl warning that matters", b"from a child process",
                 b"a last line without a newline"):
        assert kept in stderr
    assert not [line for line in stderr.splitlines(keepends=True) if console.is_noise(line)]
    for dropped in (b"non-supported Python version", b"ArtifactQuery", b"Unable to register", b"oneDNN supports"):
        assert dropped not in stderr


def test_lines_before_a_crash_still_come_out():
    code, _, stderr = run_child("abort")
    assert code != 0
    assert KEPT[0] in stderr and b"a last line without a newline" in stderr and b"Unable to register" not in stderr


def test_debug_env_shows_everything():
    code, stdout, stderr = run_child(KERAS_LLM_DEBUG="1")
    assert code == 0 and stdout == "quieted: False level: None\n"
    for line in NOISE + KEPT:
        assert line in stderr
    assert b"non-supported Python version" in stderr and b"ArtifactQuery" in stderr


def test_import_keras_llm_leaves_warnings_logging_and_stderr_alone():
    script = r"""
import json, logging, os, sys, warnings
import absl.logging, keras, tensorflow  # the libraries' own import-time settings come first

def state():
    loggers = {n: [logging.getLogger(n).level, len(logging.getLogger(n).filters)]
               for n in ("absl", "tensorflow", "apache_beam.io.tfrecordio")}
    return {"filters": [repr(f) for f in warnings.filters], "loggers": loggers, "absl": absl.logging.get_verbosity(),
            "stderr": os.readlink("/proc/self/fd/2"), "tf_cpp": os.environ.get("TF_CPP_MIN_LOG_LEVEL")}

before = state()
import keras_llm, keras_llm.cli, keras_llm.training.trainer
print(json.dumps({"before": before, "after": state(), "console": "keras_llm.console" in sys.modules}))
"""
    environment = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=environment, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    # None unless jax is installed: keras imports it, and jax's own __init__ sets a default of "1" (latest stack)
    expected_tf_cpp = "1" if importlib.util.find_spec("jax") else None
    assert report["after"] == report["before"] and report["after"]["tf_cpp"] == expected_tf_cpp
    assert report["console"] is False


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory):
    from keras_llm import datasets

    path = tmp_path_factory.mktemp("console") / "corpus.txt"
    datasets.write_corpus(datasets.grammar_documents(40, seed=0), str(path))
    return path


def run_command(*args, **env):
    environment = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", console.DEBUG_ENV)}
    return subprocess.run([str(KERAS_LLM), *args], capture_output=True, text=True, env={**environment, **env},
                          timeout=600)


def run_tiny_train(model, corpus, output, *extra):
    """`keras-llm train` of a 1-layer, 8-wide `model` for 2 steps on `corpus`, with `extra` flags."""
    return run_command("train", "--model", model, "--train", str(corpus), "--output", str(output), "--steps", "2",
                       "--seq-len", "8", "--batch-size", "4", "--vocab-size", "60", "--hidden-dim", "8",
                       "--num-layers", "1", *extra)


@pytest.mark.skipif(not KERAS_LLM.exists(), reason="the keras-llm console script is not installed in this env")
def test_train_command_shows_progress_and_result_only(tiny_corpus, tmp_path):
    out = run_tiny_train("lstm", tiny_corpus, tmp_path / "run", "--serving-dir", "", "--verbose", "2")
    assert out.returncode == 0, out.stderr[-3000:]
    assert "learning a word vocabulary of up to 60 tokens" in out.stdout
    assert json.loads(out.stdout.strip().splitlines()[-1])["steps"] == 2
    both = out.stdout + out.stderr
    assert not [line for line in both.splitlines() if console.is_noise(line.encode())], both
    for noise in ("FutureWarning", "Unable to register", "oneDNN", "absl::InitializeLog", "cpu_feature_guard",
                  "TF-TRT", "Traceback"):
        assert noise not in both


@pytest.mark.skipif(not KERAS_LLM.exists(), reason="the keras-llm console script is not installed in this env")
def test_gpt_train_and_export_show_no_library_warnings(tiny_corpus, tmp_path):
    # Building and exporting a Transformer traces attention over a single key, where Keras warns about a
    # softmax over an axis of size 1 (printed by every gpt run before it was filtered).
    out = run_tiny_train("gpt", tiny_corpus, tmp_path / "run", "--num-heads", "2", "--verbose", "0")
    assert out.returncode == 0, out.stderr[-3000:]
    assert (tmp_path / "run" / "serving").is_dir()
    both = out.stdout + out.stderr
    assert "Warning" not in both and "warnings.warn" not in both, both


@pytest.mark.skipif(not KERAS_LLM.exists(), reason="the keras-llm console script is not installed in this env")
def test_command_errors_show_and_debug_shows_the_library_lines(tmp_path):
    (tmp_path / "x.txt").write_text("the dog runs .\n")
    quiet = run_command("evaluate", "--model-dir", str(tmp_path / "nope"), "--data", str(tmp_path / "x.txt"))
    assert quiet.returncode == 2
    assert quiet.stderr.splitlines() == [f"keras-llm evaluate: error: no trained model in {tmp_path / 'nope'}: "
                                         "model.keras is missing"]
    debug = run_command("evaluate", "--model-dir", str(tmp_path / "nope"), "--data", str(tmp_path / "x.txt"),
                        KERAS_LLM_DEBUG="1")
    assert debug.returncode == 2 and quiet.stderr.splitlines()[0] in debug.stderr
    # the noise the pinned stacks print (TF 2.16: CUDA plugin registration; TF 2.21: Abseil start-up lines)
    assert [line for line in debug.stderr.splitlines() if console.is_noise(line.encode())], debug.stderr
