"""The speed benchmarks run with --quick and print one JSON line whose figures agree with each other."""
import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@functools.lru_cache(maxsize=None)  # one run per script, shared by the tests that read its line
def _run(script, *options):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow")
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), "--quick", *options], capture_output=True,
                         text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1, out.stdout[-2000:]  # one JSON line on stdout, the logs on stderr
    return json.loads(lines[0])


@pytest.mark.slow
@pytest.mark.parametrize("script,steps", [("gpt_training_speed.py", 2 * 3), ("lstm_training_speed.py", 2 * 3)])
def test_training_benchmarks_report_median_steps(script, steps):
    result = _run(script)
    assert result["ours_timed_steps"] == result["peer_timed_steps"] == steps  # repeats x steps, warm-up untimed
    ratio = result["ours_tokens_per_sec_median_step"] / result["peer_tokens_per_sec_median_step"]
    assert abs(result["ratio"] - ratio) < 2e-3 * ratio
    assert result["meets_target"] == (min(result["ratio"], result["ratio_cpu"]) >= result["target"])
    assert result["round_ours_tokens_per_sec_best"] >= result["round_ours_tokens_per_sec"] > 0


@pytest.mark.slow
def test_gpt_benchmark_headline_compiles_both_sides_alike():
    result = _run("gpt_training_speed.py")
    same = result["compiled"]
    assert same["ours"] == same["peer"]  # loss, metrics, weighted metrics and resolved jit_compile
    assert same["ours"]["loss"] == ["MaskedSparseCategoricalCrossentropy"] and not same["ours"]["jit_compile"]
    own = result["own_defaults"]["compiled"]
    assert own["peer"]["weighted_metrics"] == ["SparseCategoricalAccuracy"] and own["ours"]["metrics"] == ["Perplexity"]
    assert result["jit"]["compiled"]["ours"]["jit_compile"] and result["jit"]["compiled"]["peer"]["jit_compile"]
    for label in ("own_defaults", "jit"):
        assert result[f"ratio_{label}"] == result[label]["ratio"] > 0
        assert result[f"meets_target_{label}"] == (min(result[label]["ratio"], result[label]["ratio_cpu"]) >= 1.2)
    assert result["shape_name"] == "quick" and result["activation"] == "gelu_approximate"  # GPT-2's, on both
    assert result["built_shape"]["ours"] == result["built_shape"]["peer"]
    assert result["built_shape"]["ours"]["hidden_dim"] == result["shape"]["hidden"]


@pytest.mark.slow
def test_generate_benchmark_counts_every_requested_token():
    result = _run("generate_speed.py")
    assert result["mixed_batch_sizes"] == [1, 4, 16]
    for key in [f"b{b}" for b in result["batch_sizes"]] + [f"mixed_b{b}" for b in result["mixed_batch_sizes"]]:
        assert result[f"ours_fraction_of_requested_tokens_{key}"] == 1.0
        assert result["ratio"] <= min(result[f"ratio_{key}"], result[f"ratio_xla_{key}"])
    assert result["ratio_mixed"] == min(min(result[f"ratio_mixed_b{b}"], result[f"ratio_xla_mixed_b{b}"])
                                        for b in result["mixed_batch_sizes"])
    assert result["ratio"] == min(result["ratio_tuned"], result["ratio_mixed"])
    assert result["meets_target"] == (min(result["ratio"], result["ratio_cpu"]) >= 2.0)
    assert set(result["first_call_seconds"]) == {"ours", "peer", "peer_xla"}


@pytest.mark.slow
def test_tokenizer_benchmark_headline_is_the_median_and_has_a_default_threads_peer():
    result = _run("tokenizer_throughput.py")
    assert result["text"] == "synthetic" and result["parity"] == 1.0 and result["batches_identical"]
    assert result["hf_tokens"] == result["tokens"]
    for suffix in ("", "_best"):  # medians for the headline, bests kept as ratio_best
        ratio = result[f"ours_tokens_per_sec{suffix}"] / result[f"hf_tokens_per_sec{suffix}"]
        assert abs(result[f"ratio{suffix}"] - ratio) < 2e-3 * ratio
    assert result["ours_tokens_per_sec_best"] >= result["ours_tokens_per_sec"] > 0
    assert result["meets_target"] == (min(result["ratio"], result["ratio_cpu"]) >= 2.0)
    assert result["default_threads_cores"] == len(os.sched_getaffinity(0))  # the child was not left pinned
    assert result["hf_default_threads_form"] in ("encode_batch_fast", "encode_batch")
    assert result["default_threads_batches_same_size"]
    ratio = result["ours_default_threads_tokens_per_sec"] / result["hf_default_threads_tokens_per_sec"]
    assert abs(result["ratio_default_threads"] - ratio) < 2e-3 * ratio


@pytest.mark.slow
def test_bpe_tokenizer_benchmark_compares_equal_ids():
    """--tokenizer bpe: our trained BytePairTokenizer and HF's ByteLevel BPE on the same files give the same
    ids and batches, so the ratio compares the same work (target 1x)."""
    result = _run("tokenizer_throughput.py", "--tokenizer", "bpe", "--no-default-threads")
    assert result["tokenizer"] == "bpe" and result["parity"] == 1.0 and result["batches_identical"]
    assert result["hf_tokens"] == result["tokens"] and result["target"] == 1.0
    assert result["meets_target"] == (min(result["ratio"], result["ratio_cpu"]) >= 1.0)


def test_jax_gpu_training_benchmark_runs_without_tensorflow(tmp_path):
    """The GPU machine has JAX and no TensorFlow: the benchmark's whole code path must not import it. Here
    TensorFlow is made unimportable (a stub package first on the path) and the quick shape runs on CPU jax."""
    pytest.importorskip("jax")
    blocker = tmp_path / "tensorflow"
    blocker.mkdir()
    (blocker / "__init__.py").write_text("raise ImportError('tensorflow is blocked for this test')\n")
    env = dict(os.environ, KERAS_BACKEND="jax", PYTHONPATH=str(tmp_path))
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "jax_gpu_training.py"), "--quick"],
                         capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1, out.stdout[-2000:]
    result = json.loads(lines[0])
    assert "tensorflow" not in result["environment"] and result["environment"]["backend"] == "jax"
    assert result["tokens_per_sec"] > 0 and len(result["tokens_per_sec_rounds"]) == result["repeats"] == 2
    shape = result["shape"]
    # 6N + 12 L T d, with N counted from the built model: embeddings (vocab + positions) x d, per layer 4 d^2 +
    # 4 d (attention) + 2 d ffn + ffn + d (feed-forward) + 4 d (two norms), a final norm 2 d
    d, f, layers, t, v = shape["hidden"], shape["ffn"], shape["layers"], shape["seq_len"], shape["vocab"]
    params = (v + t) * d + layers * (4 * d * d + 4 * d + 2 * d * f + f + d + 4 * d) + 2 * d
    assert result["parameters"] == params
    assert result["flops_per_token"] == 6 * params + 12 * layers * t * d
    assert result["mfu"] is None and result["peak_bf16_flops"] is None  # a CPU has no bf16 peak in the table
    assert result["final_loss"] < 7.0  # near ln(512) = 6.24 for random ids: a real, finite training loss


@pytest.mark.parametrize("kind,peak", [("NVIDIA H100 80GB HBM3", 989e12), ("NVIDIA H100 PCIe", 756e12),
                                       ("NVIDIA H200", 989e12), ("NVIDIA A100-SXM4-80GB", 312e12), ("cpu", None)])
def test_jax_gpu_training_peak_flops_by_device_name(kind, peak, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import jax_gpu_training

    assert jax_gpu_training.peak_flops(kind) == peak


@pytest.mark.slow
def test_corpus_scaling_prints_time_and_peak_memory_per_size_and_stage(tmp_path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow")
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "corpus_scaling.py"), "--sizes", "1,2",
                          "--stages", "tokenizer", "--cache", str(tmp_path)],
                         capture_output=True, text=True, env=env, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["sizes_mb"] == [1, 2] and set(result["results"]) == {"tokenizer"}
    for stage, by_size in result["results"].items():
        assert set(by_size) == {"1MB", "2MB"}
        for entry in by_size.values():
            assert entry["seconds"] > 0 and 100 < entry["peak_rss_mib"] < 8192
        times = [by_size[k]["seconds"] for k in ("1MB", "2MB")]
        assert result["summary"][stage]["time_growth"] == [round(times[1] / times[0], 2)]
    assert abs(os.path.getsize(tmp_path / "corpus_2MB" / "corpus.txt") - 2e6) < 2000  # sizes as asked
