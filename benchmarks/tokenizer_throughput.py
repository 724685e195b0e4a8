"""Benchmark: raw text -> packed causal-LM batches with WordPiece or byte-level BPE, tokens/s on one thread.

Requirement: our tf.data pipeline (`WordPieceTokenizer` + `causal_lm_dataset`) reaches at least 2x the
throughput of Hugging Face `tokenizers` doing the same work with the same vocabulary on the same text; with
`--tokenizer bpe` (`BytePairTokenizer`, GPT-2's byte-level BPE, against HF's ByteLevel BPE model loaded from
the same vocab.json/merges.txt) at least 1x.

Method (both sides in the same process and run, on the same file):
- Text: `--text PATH`, else `../shared/data/wikitext-2/valid.txt` beside the repository when present, else a
  synthetic corpus (`keras_llm.datasets.grammar_documents`, or a tiny built-in generator).
- `--tokenizer bpe`: our `BytePairTokenizer.train` learns the merges (not timed) and HF's tokenizer is
  `models.BPE` over the saved vocab.json/merges.txt with the `ByteLevel` pre-tokenizer (GPT-2's regex, no
  prefix space), no normalizer (ours: none either; invalid UTF-8 is replaced on both sides). Otherwise as below.
- A WordPiece vocabulary is trained once with `WordPieceTokenizer.train` (not timed). The HF tokenizer is
  `models.WordPiece` over that vocabulary with the same pipeline: control characters removed, NFKC, CJK
  ideographs split off (`BertNormalizer` with clean_text, lowercasing and accent stripping off), then
  `BertPreTokenizer` (whitespace + punctuation). `parity` = fraction of the first `--parity-lines` lines whose
  ids are identical; `batches_identical` says whether both sides produce exactly the same batches.
- One thread: the process is pinned to one CPU core (`sched_setaffinity`; `--no-pin` turns that off); TF runs
  with inter/intra-op parallelism 1 and the tf.data pipeline with a private thread pool of 1, max intra-op
  parallelism 1 and autotuning off; HF runs with RAYON_NUM_THREADS=1 / TOKENIZERS_PARALLELISM=false, using
  the fastest of `encode_batch_fast`, `encode_batch` and per-line `encode` (all single-threaded then).
- Timed on each side, end to end: read the file, drop blank lines, tokenize, append `<eos>` (id 3) after every
  line, pack into blocks of seq_len + 1 tokens every seq_len tokens, and form (inputs, targets) int32 batches
  [batch_size, seq_len]. Ours iterates a full epoch of `causal_lm_dataset(path, ..., shuffle=False)` (iterator
  creation included, as in every epoch of `fit`); HF reads lines in Python and packs with numpy.
  Tokens = tokens in the stream (ids + one <eos> per line). Sides alternate (ABAB.., BABA.. on odd rounds)
  for `--repeats` rounds. Headline, as in the other benchmarks: medians. `ratio` = ours / HF of the median
  wall-clock tokens/s (`*_tokens_per_sec`), `ratio_cpu` of the median per-process-CPU-second rates (less
  sensitive to other load), `ratio_best` of the best rounds (`*_tokens_per_sec_best`); `meets_target` needs
  `ratio` and `ratio_cpu` >= the target (2 for WordPiece, 1 for BPE).
- `ratio_steady`: the same without our per-epoch iterator creation (`ours_iterator_ms`, measured alone: tf.data
  instantiates and optimizes the pipeline's functions at every `iter`), i.e. the rate a long corpus sees.
- Second peer figure, default threads (`--no-default-threads` skips it): a child process, not pinned, with the
  caller's thread settings, runs the same end-to-end work with each library's defaults: our
  `causal_lm_dataset` without options (TF's thread pools, tf.data autotuning) and HF's batch encoding (the
  faster of `encode_batch_fast` / `encode_batch`) on its default Rayon pool (all the process's cores), both
  loaded from the files saved here. `ratio_default_threads` (and `_cpu`) compares the two, alternated in that
  process; `ratio_one_thread_vs_hf_default_threads` is our one-thread headline rate over HF's default one.

Run from the repository root: `.venv-tfx/bin/python benchmarks/tokenizer_throughput.py [--text PATH] [--quick] ...`
Prints one JSON line on stdout; logs go to stderr. Timings on a shared machine are noisy: use --repeats 7+.
"""
import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ONE_THREAD_ENV = dict(RAYON_NUM_THREADS="1", RAYON_RS_NUM_CPUS="1", TOKENIZERS_PARALLELISM="false", OMP_NUM_THREADS="1")
DEFAULT_ENV = {name: os.environ.get(name) for name in ONE_THREAD_ENV}  # as the caller set them (usually unset)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_TEXT = os.path.join(REPO, "..", "shared", "data", "wikitext-2", "valid.txt")
CONTROL_CHARS = r"[\x{0}-\x{8}\x{b}\x{c}\x{e}-\x{1f}\x{7f}-\x{9f}]"  # the set keras_llm's normalization removes
ASCII_SPACE = " \t\n\r\x0b\x0c"  # what tf.strings.strip strips when blank lines are dropped
EOS_ID = 3
HF_FILE = "hf_tokenizer.json"  # beside our tokenizer.json in the work directory


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def rates(times, tokens):
    """`times`: [(wall, cpu)] per round -> median and best wall-clock tokens/s, median tokens per CPU second."""
    walls, cpus = zip(*times)
    return {"tokens_per_sec": tokens / statistics.median(walls), "tokens_per_sec_best": tokens / min(walls),
            "tokens_per_cpu_sec": tokens / statistics.median(cpus)}


def alternate(functions, repeats):
    """Runs each of `functions` (name -> callable) once per round, in reversed order on odd rounds, so that
    slow phases of other load hit both; -> name -> [(wall, cpu seconds)] per round."""
    times = {name: [] for name in functions}
    for r in range(repeats):
        for name in list(functions)[:: 1 if r % 2 == 0 else -1]:
            times[name].append(timed(functions[name]))
        log(f"round {r}: wall/cpu s: " + ", ".join(f"{k} {v[-1][0]:.4f}/{v[-1][1]:.4f}" for k, v in times.items()))
    return times


def synthetic_text(path, lines=4000):
    try:
        from keras_llm.datasets import grammar_documents

        docs = grammar_documents(lines, seed=0)
    except ImportError:
        import random

        rng = random.Random(0)
        words = [a + b + c for a in "bcdfglmnprst" for b in "aeiou" for c in ("", "n", "r", "st", "ing")]
        docs = [" ".join(rng.choice(words) for _ in range(rng.randint(5, 60))) + " ." for _ in range(lines)]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(docs) + "\n")
    return path


def hf_byte_pair(directory):
    from tokenizers import Tokenizer, models, pre_tokenizers

    tok = Tokenizer(models.BPE.from_file(os.path.join(directory, "vocab.json"), os.path.join(directory, "merges.txt")))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    return tok


def hf_wordpiece(vocab):
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers

    tok = Tokenizer(models.WordPiece(vocab={t: i for i, t in enumerate(vocab)}, unk_token="<unk>",
                                     continuing_subword_prefix="##", max_input_chars_per_word=100))
    tok.normalizer = normalizers.Sequence([
        normalizers.Replace(Regex(CONTROL_CHARS), ""),
        normalizers.NFKC(),
        normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=True, strip_accents=False, lowercase=False),
    ])
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    return tok


def read_lines(path):
    """Lines as TextLineDataset + drop_blank see them: split on \\n, trailing \\r dropped, blank lines dropped."""
    with open(path, "rb") as f:
        text = f.read().decode("utf-8", errors="replace")
    lines = (line[:-1] if line.endswith("\r") else line for line in text.split("\n"))
    return [line for line in lines if line.strip(ASCII_SPACE)]


def hf_encode(tok, lines, form):
    if form == "encode":
        return [tok.encode(line, add_special_tokens=False) for line in lines]
    return getattr(tok, form)(lines, add_special_tokens=False)  # encode_batch or encode_batch_fast (no offsets)


def hf_pipeline(tok, path, seq_len, batch_size, form):
    """The HF side, end to end -> (tokens in the stream, list of (inputs, targets) int32 batches)."""
    import numpy as np

    ids = [e.ids for e in hf_encode(tok, read_lines(path), form)]
    ends = np.cumsum(np.fromiter(map(len, ids), np.int64, len(ids)))
    flat = np.fromiter(itertools.chain.from_iterable(ids), np.int32, int(ends[-1]) if len(ids) else 0)
    stream = np.insert(flat, ends, np.int32(EOS_ID))  # <eos> after every line
    n_batches = (len(stream) - 1) // seq_len // batch_size
    blocks = np.lib.stride_tricks.sliding_window_view(stream, seq_len + 1)[::seq_len][: n_batches * batch_size]
    blocks = blocks.reshape(n_batches, batch_size, seq_len + 1)
    return len(stream), [(np.ascontiguousarray(b[:, :-1]), np.ascontiguousarray(b[:, 1:])) for b in blocks]


def timed(fn, *args):
    """-> (wall seconds, CPU seconds of the whole process): CPU time is robust to other processes' load."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn(*args)
    return time.perf_counter() - wall, time.process_time() - cpu


def fastest_form(tok, path, args, forms):
    """The HF call (of `forms` it has) with the best of 3 end-to-end times, and those times."""
    forms = {f: min(timed(hf_pipeline, tok, path, args.seq_len, args.batch_size, f)[0] for _ in range(3))
             for f in forms if hasattr(tok, f)}
    return min(forms, key=forms.get), {k: round(v, 4) for k, v in forms.items()}


def default_threads_child(args):
    """The `--default-threads-child DIR` process: both pipelines with their libraries' default threading (TF's
    and tf.data's defaults, HF's Rayon pool over all cores the process may use, batch calls), the tokenizers
    loaded from DIR; prints one JSON line of round times for the parent."""
    import tensorflow as tf
    from tokenizers import Tokenizer

    from keras_llm.data import causal_lm_dataset
    from keras_llm.tokenizers import load_tokenizer

    ours = load_tokenizer(args.default_threads_child)
    hf = Tokenizer.from_file(os.path.join(args.default_threads_child, HF_FILE))
    dataset = causal_lm_dataset(args.text, ours, args.seq_len, args.batch_size, shuffle=False)
    batched = sum(int(tf.size(x)) for x, _ in dataset)  # a warm-up, and the ids batched (checked by the parent)
    hf_form, forms = fastest_form(hf, args.text, args, ("encode_batch_fast", "encode_batch"))
    log(f"default threads ({len(os.sched_getaffinity(0))} cores): hf batch forms (best of 3, s): {forms} -> {hf_form}")
    times = alternate({"ours": lambda: [None for _ in dataset],
                       "hf": lambda: hf_pipeline(hf, args.text, args.seq_len, args.batch_size, hf_form)}, args.repeats)
    print(json.dumps({"times": times, "hf_form": hf_form, "cores": len(os.sched_getaffinity(0)),
                      "batched_tokens": batched}))


def run_default_threads_child(args, path, workdir, cores):
    """Runs `default_threads_child` in a fresh process with the caller's thread settings and all of `cores`
    (this process is pinned and its thread pools are fixed at one thread) -> its parsed JSON line."""
    env = {name: value for name, value in os.environ.items() if name not in DEFAULT_ENV}
    env.update({name: value for name, value in DEFAULT_ENV.items() if value is not None})
    command = [sys.executable, os.path.abspath(__file__), "--default-threads-child", workdir, "--text", path,
               "--seq-len", str(args.seq_len), "--batch-size", str(args.batch_size), "--repeats", str(args.repeats)]
    if cores:
        command += ["--cores", ",".join(map(str, sorted(cores)))]
    out = subprocess.run(command, env=env, stdout=subprocess.PIPE, text=True)
    if out.returncode:
        sys.exit(f"tokenizer_throughput: error: the default-threads run exited with {out.returncode}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--text", help="text file, one example per line (default: wikitext-2 valid when present)")
    p.add_argument("--tokenizer", choices=["wordpiece", "bpe"], default="wordpiece")
    p.add_argument("--vocab-size", type=int, default=8000)
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--parity-lines", type=int, default=2000)
    p.add_argument("--no-pin", action="store_true", help="do not pin the process to one CPU core")
    p.add_argument("--quick", action="store_true", help="synthetic text, small vocabulary, 2 rounds: a sanity run")
    p.add_argument("--no-default-threads", action="store_true",
                   help="skip the second figure (both libraries with their default threads, in a child process)")
    p.add_argument("--default-threads-child", metavar="DIR", help=argparse.SUPPRESS)
    p.add_argument("--cores", help=argparse.SUPPRESS)  # the child's CPU set (its parent is pinned to one core)
    args = p.parse_args()
    if args.default_threads_child:
        if args.cores:
            os.sched_setaffinity(0, {int(c) for c in args.cores.split(",")})
        return default_threads_child(args)

    if args.quick:
        args.vocab_size, args.repeats = min(args.vocab_size, 2000), 2
    os.environ.update(ONE_THREAD_ENV)  # before tokenizers' Rayon pool and TF start
    cores = set(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    if not args.no_pin and cores:
        os.sched_setaffinity(0, {min(cores)})
    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_inter_op_parallelism_threads(1)  # before any TF op runs
    tf.config.threading.set_intra_op_parallelism_threads(1)
    import tokenizers
    from keras_llm.data import causal_lm_dataset
    from keras_llm.tokenizers import BytePairTokenizer, WordPieceTokenizer

    workdir = tempfile.mkdtemp(prefix="tokenizer_throughput_")
    if args.text:
        path = label = args.text
    elif os.path.isfile(DEFAULT_TEXT) and not args.quick:
        path, label = DEFAULT_TEXT, "../shared/data/wikitext-2/valid.txt"
    else:
        path, label = synthetic_text(os.path.join(workdir, "text.txt")), "synthetic"
    log(f"text: {os.path.abspath(path)}")

    start = time.perf_counter()
    kind = BytePairTokenizer if args.tokenizer == "bpe" else WordPieceTokenizer
    ours = kind.train(path, vocab_size=args.vocab_size)
    ours.save(workdir)
    vocab = ours.get_vocabulary()
    log(f"trained {len(vocab)} {args.tokenizer} tokens in {time.perf_counter() - start:.1f}s, saved in {workdir}")
    hf = hf_byte_pair(workdir) if args.tokenizer == "bpe" else hf_wordpiece(vocab)
    target = 1.0 if args.tokenizer == "bpe" else 2.0
    hf.save(os.path.join(workdir, HF_FILE))

    # Parity and token counts (not timed).
    lines = read_lines(path)
    ours_ids = []
    for i in range(0, len(lines), 1024):
        ours_ids.extend(row.tolist() for row in ours.tokenize(tf.constant(lines[i : i + 1024])).numpy())
    hf_ids = [e.ids for e in hf_encode(hf, lines, "encode_batch")]
    head = min(args.parity_lines, len(lines))
    same = [a == b for a, b in zip(ours_ids[:head], hf_ids[:head])]
    parity = sum(same) / max(head, 1)
    for i in [i for i, s in enumerate(same) if not s][:5]:
        j = next(j for j, (a, b) in enumerate(zip(ours_ids[i] + [-1], hf_ids[i] + [-1])) if a != b)
        show = lambda ids: [vocab[t] for t in ids[j : j + 4]]  # noqa: E731
        log(f"line {i} differs at token {j}: ours {show(ours_ids[i])} hf {show(hf_ids[i])}: {lines[i][:100]!r}")
    ours_tokens = sum(len(x) + 1 for x in ours_ids)
    log(f"{len(lines)} lines; parity {parity:.4f} on the first {head}; all identical: {ours_ids == hf_ids}")

    options = tf.data.Options()
    options.threading.private_threadpool_size = 1
    options.threading.max_intra_op_parallelism = 1
    options.autotune.enabled = False
    dataset = causal_lm_dataset(path, ours, args.seq_len, args.batch_size, shuffle=False).with_options(options)

    # Same batches on both sides? (also warms both up); then the fastest single-thread HF form.
    hf_tokens, hf_batches = hf_pipeline(hf, path, args.seq_len, args.batch_size, "encode_batch")
    ours_batches = [(x.numpy(), y.numpy()) for x, y in dataset]
    identical = len(ours_batches) == len(hf_batches) and all(
        np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) for a, b in zip(ours_batches, hf_batches))
    log(f"batches: ours {len(ours_batches)}, hf {len(hf_batches)}, identical: {identical}")
    hf_form, forms = fastest_form(hf, path, args, ("encode_batch_fast", "encode_batch", "encode"))
    log(f"hf forms (best of 3, s): {forms} -> {hf_form}")
    setup = min(timed(iter, dataset)[0] for _ in range(3))
    log(f"ours: iter(dataset) alone (per-epoch tf.data function instantiation) takes ~{setup * 1e3:.0f} ms")

    times = alternate({"ours": lambda: [None for _ in dataset],
                       "hf": lambda: hf_pipeline(hf, path, args.seq_len, args.batch_size, hf_form)}, args.repeats)
    o, h = rates(times["ours"], ours_tokens), rates(times["hf"], hf_tokens)
    result = {
        "benchmark": "tokenizer_throughput", "metric": "tokens/s, text -> packed batches, one thread, medians",
        "tokenizer": args.tokenizer, "text": label, "lines": len(lines), "vocab_size": len(vocab), "seq_len": args.seq_len,
        "batch_size": args.batch_size, "tokens": ours_tokens, "hf_tokens": hf_tokens,
        **{f"ours_{k}": round(v) for k, v in o.items()}, **{f"hf_{k}": round(v) for k, v in h.items()},
        "ratio": round(o["tokens_per_sec"] / h["tokens_per_sec"], 3),
        "ratio_best": round(o["tokens_per_sec_best"] / h["tokens_per_sec_best"], 3),
        "ratio_cpu": round(o["tokens_per_cpu_sec"] / h["tokens_per_cpu_sec"], 3), "target": target,
    }
    result["meets_target"] = min(result["ratio"], result["ratio_cpu"]) >= target
    # The per-epoch cost of creating our iterator (tf.data instantiates and optimizes the pipeline's functions;
    # HF has no such step) is in the headline; the steady rate without it is what a long corpus sees.
    steady = ours_tokens / max(statistics.median(w for w, _ in times["ours"]) - setup, 1e-9)
    result.update(ours_iterator_ms=round(setup * 1e3, 1), ours_steady_tokens_per_sec=round(steady),
                  ratio_steady=round(steady / h["tokens_per_sec"], 3))
    result.update(parity=round(parity, 4), batches_identical=identical, hf_form=hf_form, threads=1,
                  pinned=not args.no_pin)
    if not args.no_default_threads:
        log("default threads (child process) ...")
        child = run_default_threads_child(args, path, workdir, cores)
        od, hd = rates(child["times"]["ours"], ours_tokens), rates(child["times"]["hf"], hf_tokens)
        result.update({
            "ours_default_threads_tokens_per_sec": round(od["tokens_per_sec"]),
            "hf_default_threads_tokens_per_sec": round(hd["tokens_per_sec"]),
            "ours_default_threads_tokens_per_cpu_sec": round(od["tokens_per_cpu_sec"]),
            "hf_default_threads_tokens_per_cpu_sec": round(hd["tokens_per_cpu_sec"]),
            "ratio_default_threads": round(od["tokens_per_sec"] / hd["tokens_per_sec"], 3),
            "ratio_cpu_default_threads": round(od["tokens_per_cpu_sec"] / hd["tokens_per_cpu_sec"], 3),
            "ratio_one_thread_vs_hf_default_threads": round(o["tokens_per_sec"] / hd["tokens_per_sec"], 3),
            "hf_default_threads_form": child["hf_form"], "default_threads_cores": child["cores"],
            "default_threads_batches_same_size": child["batched_tokens"] == sum(x.size for x, _ in ours_batches),
        })
    result.update(repeats=args.repeats, quick=args.quick, tensorflow=tf.__version__,
                  tokenizers=tokenizers.__version__)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
