"""A console a person can read, for the processes keras_llm owns: the `keras-llm` command, `make main`, the examples.

`quiet_console()` hides what TensorFlow, Abseil, TFX, Beam and the Google client libraries print on every run and
that says nothing about the run: CUDA plugin registration errors on a machine with CUDA libraries, oneDNN and CPU
feature notices, XLA start-up INFO lines, "non-supported Python version" FutureWarnings, TFX/Beam notices. Our own
progress lines, results and one-line errors still show, and so does every other warning or error.

Only entry points call it; `import keras_llm` never does, so a program that imports keras_llm sees everything its
libraries print. `KERAS_LLM_DEBUG=1` turns it off (everything shows, and the command prints tracebacks).

What it does, and why each piece is needed:
- `TF_CPP_MIN_LOG_LEVEL=2` unless already set: TensorFlow's C++ INFO and WARNING lines. TensorFlow reads it when
  it is imported, so call `quiet_console()` first.
- Some C++ lines bypass that variable: ERROR-level notices that are not errors (e.g. "Unable to register cuDNN
  factory", "oneDNN supports DT_INT64 only on platforms with AVX-512"), and Abseil-format INFO lines written
  before Abseil's logging is initialised (XLA's "XLA service ... initialized"). On Linux and macOS the process's
  stderr (file descriptor 2, which C++ code writes to directly) is therefore piped through a small filter process
  that drops the lines matching `is_noise()` and passes everything else through unchanged. A separate process,
  not a thread, so that nothing is lost when the program crashes (a C++ `LOG(FATAL)` aborts the process).
- Python `warnings` filters for the known warnings, unless the user gave `-W` or `PYTHONWARNINGS`.
- Logging filters for TFX's and Beam's known notices.

Example:
>>> from keras_llm.console import is_noise
>>> is_noise(b"E external/local_xla/xla/stream_executor/cuda/cuda_dnn.cc:10575] Unable to register cuDNN factory: "
...          b"Attempting to register factory for plugin cuDNN when one has already been registered\\n")
True
>>> is_noise(b"keras-llm train: error: --vocab-size must be positive\\n")
False
"""
import atexit
import logging
import os
import re
import signal
import subprocess
import sys
import warnings

DEBUG_ENV = "KERAS_LLM_DEBUG"

# C++ lines on stderr that TF_CPP_MIN_LOG_LEVEL does not hide and that carry no information about the run.
NOISE_LINES = (
    rb"Unable to register cu(DNN|FFT|BLAS) factory: Attempting to register factory for plugin \w+ when one has "
    rb"already been registered",
    rb"oneDNN supports DT_\w+ only on platforms with AVX-512",
    rb"failed call to cuInit: ",  # no GPU (driver) on this machine; TensorFlow runs on the CPU
    rb"^WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR",
)
# An Abseil-format C++ log line: severity, MMDD, time, thread, file:line]. Its INFO (I) and WARNING (W) lines are
# what TF_CPP_MIN_LOG_LEVEL=2 means to hide; they appear when Abseil logs before TensorFlow configured it.
ABSL_LINE = rb"^(?P<severity>[IWEF])\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w.+-]+:\d+\] "

# Python warnings, as (category, message regex): support-window notices of the Google client libraries that TFX
# and TensorFlow's GCE cluster resolver import (the first one 15 times in one `make main`).
NOISE_WARNINGS = (
    (FutureWarning, r"You are using a non-supported Python version"),
    (FutureWarning, r"Support for google-cloud-storage < 3\.0\.0 will be removed"),
    # Keras, when attention is traced over a single key (building a model on a one-token input, a cache's
    # first position): a softmax over one key is 1 by design there.
    (UserWarning, r"You are using a softmax over axis -1 of a tensor of shape \([^)]*, 1\)\. This axis has size 1"),
)

# Python log records, as (logger name, message regex).
NOISE_LOG_RECORDS = (
    ("absl", r"ArtifactQuery\.property_predicate is not supported"),  # TFX's resolver, once per input per node
    ("apache_beam.io.tfrecordio", r"Couldn't find python-snappy"),
)

_noise_lines = re.compile(b"|".join(b"(?:%s)" % pattern for pattern in NOISE_LINES))
_absl_line = re.compile(ABSL_LINE)
_state = {}


def is_noise(line, min_log_level=2):
    """Whether one line of C++ stderr output is known noise (see the module docstring).

    Args:
        line: the line, as bytes.
        min_log_level: Abseil-format lines below this severity are noise (0 INFO, 1 WARNING, 2 ERROR, 3 FATAL),
            as TF_CPP_MIN_LOG_LEVEL means for TensorFlow's own lines.

    Returns:
        True to drop the line.

    Example:
    >>> is_noise(b"I0000 00:00:1796225668.310673   13862 service.cc:145] XLA service 0x7fac initialized\\n")
    True
    >>> is_noise(b"E0000 00:00:1796225668.310673   13862 op_kernel.cc:1827] OP_REQUIRES failed\\n")
    False
    """
    match = _absl_line.match(line)
    if match and "IWEF".index(match["severity"].decode()) < min_log_level:
        return True
    return _noise_lines.search(line) is not None


class _DropRecords(logging.Filter):
    def __init__(self, pattern):
        super().__init__()
        self.pattern = re.compile(pattern)

    def filter(self, record):
        return not self.pattern.search(record.getMessage())


def quiet_console(filter_stderr=True):
    """Hides the known start-up and library noise in this process and its children; a no-op after the first call
    and when `KERAS_LLM_DEBUG` is set. Call it first thing in an entry point we own, before TensorFlow is imported.

    Args:
        filter_stderr: also pipe file descriptor 2 through the line filter (POSIX only).

    Returns:
        True when the console was quieted by this call.

    Example:
        if __name__ == "__main__":
            from keras_llm.console import quiet_console

            quiet_console()
            main()
    """
    if _state or os.environ.get(DEBUG_ENV, "") not in ("", "0"):
        return False
    _state["quiet"] = True
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if not sys.warnoptions:
        for category, message in NOISE_WARNINGS:
            warnings.filterwarnings("ignore", message=message, category=category)
    try:
        import absl.logging  # noqa: F401 - first, so that its logger is absl's own class when we look it up
    except ImportError:
        pass
    for name, message in NOISE_LOG_RECORDS:
        logging.getLogger(name).addFilter(_DropRecords(message))
    if filter_stderr and os.name == "posix":
        _filter_stderr()
    return True


def _filter_stderr():
    """Points file descriptor 2 at a pipe read by `python console.py --filter-stderr`, which writes the lines that
    are not noise to the original stderr."""
    try:
        min_log_level = int(os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"))
    except ValueError:
        min_log_level = 2
    read_end, write_end = os.pipe()
    original = os.dup(2)
    try:  # -I (isolated): the filter needs only the standard library, not this file's folder on sys.path
        child = subprocess.Popen([sys.executable, "-I", os.path.abspath(__file__), "--filter-stderr",
                                  str(min_log_level)], stdin=read_end, stdout=original, stderr=original)
    except OSError:  # no interpreter to start (an embedded Python): stderr stays as it is
        for fd in (read_end, write_end, original):
            os.close(fd)
        return
    os.close(read_end)
    sys.stderr.flush()
    os.dup2(write_end, 2)
    os.close(write_end)
    _state["filter"] = child, original
    atexit.register(_stop_filter)


def _stop_filter():
    """At exit: gives this process's stderr back and waits until the filter has written everything out."""
    child, original = _state.pop("filter")
    try:
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    os.dup2(original, 2)  # closes our copy of the pipe's write end: the filter reads to the end and exits
    try:
        child.wait(timeout=10)  # a child process of ours that still runs keeps the pipe open
    except subprocess.TimeoutExpired:
        pass


def _run_filter(min_log_level):
    """The filter process: stdin -> stdout line by line (a line ends at \\n or \\r), dropping `is_noise` lines."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the program; we end when its stderr closes
    out, pending = sys.stdout.buffer, b""
    while True:
        chunk = os.read(0, 65536)
        lines = re.split(rb"(?<=\n)|(?<=\r)(?!\n)", pending + chunk)
        pending = lines.pop() if chunk else b""
        for line in lines:
            if line and not is_noise(line, min_log_level):
                out.write(line)
        out.flush()
        if not chunk:
            return


if __name__ == "__main__" and sys.argv[1:2] == ["--filter-stderr"]:
    _run_filter(int(sys.argv[2]))
