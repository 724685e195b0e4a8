"""Shared helpers of the benchmark scripts: environment, logging, interleaved timing, the JSON result line.

Import before TensorFlow/Keras (it sets KERAS_BACKEND and TF's log level). Scripts are run as
`python benchmarks/<name>.py`, so this directory is on `sys.path` and `import _common` works.
"""
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def interleaved(functions, repeats):
    """Calls each of `functions` (name -> zero-argument callable returning a work count) once per round, in
    alternating order (ABAB..., then BABA... on odd rounds) for `repeats` rounds, so slow phases of other load
    on the machine hit both sides. Returns `(rates, cpu_rates)`: name -> list of work per wall-clock second and
    work per process-CPU second (user + system, all threads), one per round. The CPU figure is less sensitive
    to other jobs taking cores away, the wall figure is what a user waits for."""
    names = list(functions)
    rates = {name: [] for name in names}
    cpu_rates = {name: [] for name in names}
    for round_index in range(repeats):
        order = names if round_index % 2 == 0 else names[::-1]
        for name in order:
            start, cpu_start = time.perf_counter(), time.process_time()
            work = functions[name]()
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
            rates[name].append(work / elapsed)
            cpu_rates[name].append(work / cpu)
            log(f"  round {round_index}: {name}: {work / elapsed:,.1f}/s ({elapsed:.2f} s wall, {cpu:.2f} s cpu)")
    return rates, cpu_rates


def step_timer():
    """A Keras callback that records every training step's wall-clock and process-CPU seconds (batch begin to
    batch end: the step itself, without the fit loop's epoch set-up or the other model's rounds) in its
    `.wall` / `.cpu` lists. Pass the same one to every timed `fit` of a model."""
    import keras

    class StepTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.wall, self.cpu = [], []

        def on_train_batch_begin(self, batch, logs=None):
            self._start = (time.perf_counter(), time.process_time())

        def on_train_batch_end(self, batch, logs=None):
            self.wall.append(time.perf_counter() - self._start[0])
            self.cpu.append(time.process_time() - self._start[1])

    return StepTimer()


def summarize_steps(timers, ours, peer, work_per_step, prefix="tokens_per_sec"):
    """Rates from the median step (`work_per_step` / median step seconds) per side, and their ratios:
    `step_ratio` (wall clock) and `step_ratio_cpu` (process CPU), plus the step counts.

    A median step is what the machine's cores give while the process runs. These machines also stall a whole
    process for one or more ~2.56 s periods at times (a CPU quota above the guest: rounds of different models
    end at the same multiples of the period, with the CPU time of a free round); a step that spans a stall is
    an outlier the median ignores, whereas a round's total wall time counts whole periods."""
    out = {}
    for side, name in (("ours", ours), ("peer", peer)):
        out[f"{side}_{prefix}_median_step"] = round(work_per_step / statistics.median(timers[name].wall), 1)
        out[f"{side}_{prefix.replace('_sec', '_cpu_sec')}_median_step"] = round(
            work_per_step / statistics.median(timers[name].cpu), 1)
        out[f"{side}_timed_steps"] = len(timers[name].wall)
    out["step_ratio"] = round(statistics.median(timers[peer].wall) / statistics.median(timers[ours].wall), 3)
    out["step_ratio_cpu"] = round(statistics.median(timers[peer].cpu) / statistics.median(timers[ours].cpu), 3)
    return out


def training_ratios(timers, rates, cpu_rates, ours, peer, work_per_step):
    """The training benchmarks' figures: headline `ratio` / `ratio_cpu` from the median steps
    (`summarize_steps`), its per-side rates and step counts, and the round totals (`summarize`) as `round_*`."""
    steps = summarize_steps(timers, ours, peer, work_per_step)
    return {"ratio": steps["step_ratio"], "ratio_cpu": steps["step_ratio_cpu"],
            **{k: v for k, v in steps.items() if not k.startswith("step_ratio")},
            **{f"round_{k}": v for k, v in summarize(rates, cpu_rates, ours, peer).items()}}


def summarize(rates, cpu_rates, ours, peer, prefix="tokens_per_sec", suffix=""):
    """Median and best wall-clock rate per side, median per-CPU-second rate, and the ratios ours/peer:
    `ratio` (medians: the headline), `ratio_best` (bests) and `ratio_cpu` (medians of per-CPU-second rates)."""
    out = {}
    for side, name in (("ours", ours), ("peer", peer)):
        out[f"{side}_{prefix}{suffix}"] = round(statistics.median(rates[name]), 1)
        out[f"{side}_{prefix}_best{suffix}"] = round(max(rates[name]), 1)
        out[f"{side}_{prefix.replace('_sec', '_cpu_sec')}{suffix}"] = round(statistics.median(cpu_rates[name]), 1)
    out[f"ratio{suffix}"] = round(statistics.median(rates[ours]) / statistics.median(rates[peer]), 3)
    out[f"ratio_best{suffix}"] = round(max(rates[ours]) / max(rates[peer]), 3)
    out[f"ratio_cpu{suffix}"] = round(statistics.median(cpu_rates[ours]) / statistics.median(cpu_rates[peer]), 3)
    return out


def set_threads(threads):
    """Limits TensorFlow's intra/inter-op thread pools (call before any TF op runs); None leaves the defaults."""
    if threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)


def environment():
    """Versions and machine facts for the JSON line. TensorFlow is reported when it is importable (it is not on
    a JAX-only GPU machine); with the JAX backend, jax's version and its devices are reported too."""
    import keras

    info = {"keras": keras.__version__, "backend": keras.backend.backend(),
            "cpus": os.cpu_count(), "python": platform.python_version()}
    try:
        import tensorflow as tf

        info = {"tensorflow": tf.__version__, **info}
    except ImportError:
        pass
    if keras.backend.backend() == "jax":
        import jax

        info["jax"] = jax.__version__
        info["devices"] = sorted({device.device_kind for device in jax.devices()})
    try:
        import keras_hub

        info["keras_hub"] = keras_hub.__version__
    except ImportError:
        pass
    info["load_avg_1m"] = round(os.getloadavg()[0], 2)
    return info


def emit(result):
    """Prints the one JSON line on stdout."""
    print(json.dumps(result, sort_keys=False), flush=True)


def keras_llm_command():
    """The venv's `keras-llm` next to this interpreter, else `python -m keras_llm.cli`."""
    script = os.path.join(os.path.dirname(sys.executable), "keras-llm")
    return [script] if os.access(script, os.X_OK) else [sys.executable, "-m", "keras_llm.cli"]


def run_keras_llm(name, arguments, forward=False):
    """Runs `keras-llm ARGUMENTS` in a subprocess (TF's C++ logs quieted) and returns its stdout lines.

    Args:
        name: what the run is (a model name), for progress and error lines.
        arguments: the command line after `keras-llm`, e.g. `["evaluate", "--model-dir", DIR, "--data", FILE]`.
        forward: also copy Keras' per-epoch lines (those with "loss") to stderr as they come.

    A failure exits with one line naming the script, the run and the command's last error line.

    Example:
        run_keras_llm("lstm", ["train", "--model", "lstm", "--train", "train.txt", "--output", "run"])
        scores = json.loads(run_keras_llm("lstm", ["evaluate", "--model-dir", "run", "--data", "eval.txt"])[-1])
    """
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", KERAS_BACKEND=os.environ.get("KERAS_BACKEND", "tensorflow"))
    with tempfile.TemporaryFile(mode="w+") as errors:
        process = subprocess.Popen(keras_llm_command() + list(arguments), stdout=subprocess.PIPE, stderr=errors,
                                   text=True, env=env, cwd=REPO)
        lines = []
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if forward and "loss" in line and not line.startswith("{"):
                log(f"  {name}: {line.strip()}")
        process.wait()
        if process.returncode:
            errors.seek(0)
            tail = [l for l in errors.read().splitlines() if l.strip()] or ["(no message)"]
            script = os.path.splitext(os.path.basename(sys.argv[0]))[0]
            sys.exit(f"{script}: error: {name}: keras-llm {arguments[0]} exited with {process.returncode}: "
                     f"{tail[-1]} (KERAS_LLM_DEBUG=1 gives its traceback)")
    return lines
