"""Text sources -> `tf.data.Dataset` of strings (one element per example/document).

Formats (chosen by `load_texts` from the file extension, or called directly):
- plain text (`.txt`, anything unknown): one example per line, or with `documents=True` documents separated
  by blank lines (a document keeps its inner newlines);
- JSON Lines (`.jsonl`, `.json`): one object per line, the text in `field`;
- CSV / TSV (`.csv`, `.tsv`): a header row, the text in `column` (a name or a 0-based index);
- TFRecord of `tf.Example` (`.tfrecord`, `.tfrecords`, `.gz`): the text in the bytes feature `feature`;
  GZIP compression (as TFX ExampleGen writes it) is detected from the file's magic bytes;
- an existing `tf.data.Dataset` of strings is passed through.

Cleaning, documented and deterministic:
- Examples that are empty or whitespace-only are dropped (they carry no tokens).
- Empty or whitespace-only files are skipped; if every file is, `ValueError` names them before any training.
- Invalid UTF-8 and control characters (NUL included) are cleaned by the tokenizer's normalization
  (`keras_llm.tokenizers.normalize_text`): invalid bytes become U+FFFD, control characters are removed.
- A TFRecord record without the feature counts as an empty example. A file whose first record lacks it is an
  error naming the file and the feature.
Errors are one line naming the file (and line, for JSONL/CSV): missing file, malformed JSON, missing field.

Binary files are refused, not cleaned (`check_text_file`, for every format but TFRecord): a file that starts
with a known binary signature (ELF, PE/Mach-O executables, images, PDF, archives and compressed files, SQLite,
HDF5, NumPy), or whose first 64 KiB hold over 1% NUL bytes or over 10% bytes that are not valid UTF-8, is a
`ValueError` naming the file and the signature or share. A folder expands to its files with a known corpus
extension only (`TEXT_EXTENSIONS`: .txt .text .md .jsonl .json .csv .tsv .tfrecord .tfrecords .gz; hidden files
skipped); a file named explicitly is read whatever its extension.

Every format streams from disk, so a corpus need not fit in memory: text and TFRecord files through tf.data
readers; JSONL and CSV are parsed in Python, once when the dataset is built (so a bad line fails before
training, naming its line; nothing is kept) and again, in batches, each time the dataset is read.
"""
import csv
import glob
import json
import os

import tensorflow as tf

_CHUNK = 1 << 16
TEXT_EXTENSIONS = (".txt", ".text", ".md", ".jsonl", ".json", ".csv", ".tsv", ".tfrecord", ".tfrecords", ".gz")
TFRECORD_EXTENSIONS = (".tfrecord", ".tfrecords", ".gz")
BINARY_SIGNATURES = {
    b"\x7fELF": "an ELF executable", b"MZ\x90\x00": "a Windows executable", b"\xcf\xfa\xed\xfe": "a Mach-O binary",
    b"\xca\xfe\xba\xbe": "a Java class or Mach-O binary", b"\x00asm": "a WebAssembly module",
    b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG image", b"GIF8": "a GIF image", b"%PDF-": "a PDF document",
    b"PK\x03\x04": "a zip archive", b"\x1f\x8b": "a gzip file", b"\xfd7zXZ\x00": "an xz file",
    b"7z\xbc\xaf\x27\x1c": "a 7z archive", b"BZh9": "a bzip2 file", b"(\xb5/\xfd": "a zstd file",
    b"SQLite format 3\x00": "an SQLite database", b"\x89HDF": "an HDF5 file", b"\x93NUMPY": "a NumPy array",
}
MAX_NUL_SHARE = 0.01
MAX_INVALID_UTF8_SHARE = 0.10


def check_text_file(path):
    """Raises ValueError (one line naming `path`) when the file is binary rather than text (see the module
    docstring); TFRecord files (by extension) are not checked. Reads the first 64 KiB."""
    if path.lower().endswith(TFRECORD_EXTENSIONS):
        return
    with open(path, "rb") as f:
        head = f.read(_CHUNK)
    for signature, kind in BINARY_SIGNATURES.items():
        if head.startswith(signature):
            raise ValueError(f"{path}: a binary file ({kind}), not text")
    if not head:
        return
    nul_share = head.count(0) / len(head)
    if nul_share > MAX_NUL_SHARE:
        raise ValueError(f"{path}: a binary file, not text ({nul_share:.1%} NUL bytes in its first "
                         f"{len(head) // 1024 or 1} KiB; UTF-16 text must be converted to UTF-8)")
    decoded = head.decode("utf-8", errors="replace")
    invalid = decoded.count("\ufffd") - head.decode("utf-8", errors="ignore").count("\ufffd")
    invalid_share = invalid / len(head)
    if invalid_share > MAX_INVALID_UTF8_SHARE:
        raise ValueError(f"{path}: a binary file or not UTF-8 text ({invalid_share:.1%} of its first "
                         f"{len(head) // 1024 or 1} KiB are invalid UTF-8)")


def _corpus_files(folder):
    names = sorted(n for n in os.listdir(folder) if not n.startswith(".") and os.path.isfile(os.path.join(folder, n)))
    kept = [os.path.join(folder, n) for n in names if n.lower().endswith(TEXT_EXTENSIONS)]
    if names and not kept:
        shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
        raise ValueError(f"no corpus files in {folder}: none of {shown} ends with {' '.join(TEXT_EXTENSIONS)} "
                         f"(name a file explicitly to read it as text)")
    return kept


def expand_paths(paths):
    """Paths, directories (their files with a `TEXT_EXTENSIONS` extension, sorted) and glob patterns -> sorted
    list of existing files."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    files = []
    for path in map(os.fspath, paths):
        if os.path.isdir(path):
            files.extend(_corpus_files(path))
        elif any(c in path for c in "*?["):
            matched = sorted(glob.glob(path))
            if not matched:
                raise FileNotFoundError(f"no file matches {path}")
            files.extend(matched)
        elif os.path.isfile(path):
            files.append(path)
        else:
            raise FileNotFoundError(f"corpus file not found: {path}")
    if not files:
        raise ValueError(f"corpus is empty: no files in {', '.join(map(os.fspath, paths))}")
    return files


def has_text(path):
    """True when the file holds at least one non-whitespace byte (reads only until it finds one)."""
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            if chunk.strip():
                return True
    return False


def non_empty_files(paths):
    """Drops empty / whitespace-only files; raises ValueError naming them when none is left, or naming a
    binary file (`check_text_file`)."""
    files = expand_paths(paths)
    for path in files:
        check_text_file(path)
    kept = [f for f in files if has_text(f)]
    if not kept:
        raise ValueError(f"corpus is empty: {', '.join(files)} hold(s) no text")
    skipped = sorted(set(files) - set(kept))
    if skipped:
        tf.get_logger().warning("skipping empty file(s): %s", ", ".join(skipped))
    return kept


def drop_blank(texts):
    """Drops empty / whitespace-only strings. Filters whole batches at once: a per-element `filter` costs a
    function call per line, which dominated the reading time on line-oriented corpora."""

    def keep(batch):
        return tf.boolean_mask(batch, tf.strings.length(tf.strings.strip(batch)) > 0)

    return texts.batch(1024).map(keep).unbatch()


def text_file_dataset(paths, documents=False):
    """Plain text: one example per line, or (`documents=True`) per blank-line-separated document."""
    files = non_empty_files(paths)
    if not documents:
        return drop_blank(tf.data.TextLineDataset(files))

    def split_documents(contents):
        contents = tf.strings.regex_replace(contents, "\x1e", "")  # our separator must not occur in the text
        contents = tf.strings.regex_replace(contents, r"\r\n?", "\n")
        contents = tf.strings.regex_replace(contents, r"\n[ \t]*\n\s*", "\x1e")
        return tf.data.Dataset.from_tensor_slices(tf.strings.split(contents, "\x1e"))

    files_ds = tf.data.Dataset.from_tensor_slices(files)
    return drop_blank(files_ds.map(tf.io.read_file).flat_map(split_documents))


def json_field(line, field):
    """The string in `field` (nested fields as `a.b`) of one JSON Lines line (str). A line that is not JSON, or
    whose field is missing or not a string, is a ValueError naming the problem; the caller adds where it is."""
    try:
        value = json.loads(line)
    except json.JSONDecodeError as e:
        raise ValueError(f"invalid JSON ({e.msg})") from None
    for key in field.split("."):
        if not isinstance(value, dict) or key not in value:
            raise ValueError(f"field {field!r} is missing")
        value = value[key]
    if not isinstance(value, str):
        raise ValueError(f"field {field!r} is a {type(value).__name__}, not a string")
    return value


def _streamed(texts, batch_size=1024):
    """`texts()` -> a generator of str, read again on every pass: checked once now (each error raised here,
    as one line), then a dataset that re-reads it in batches (no text is held in memory or in the graph)."""
    for _ in texts():
        pass

    def batches():
        batch = []
        for text in texts():
            batch.append(text.encode("utf-8", "surrogatepass"))
            if len(batch) == batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    signature = tf.TensorSpec([None], tf.string)
    return drop_blank(tf.data.Dataset.from_generator(batches, output_signature=signature).unbatch())


def _jsonl_texts(files, field):
    for path in files:
        with open(path, encoding="utf-8", errors="replace") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    yield json_field(line, field)
                except ValueError as e:
                    raise ValueError(f"{path}:{number}: {e}") from None


def jsonl_dataset(paths, field="text"):
    """JSON Lines: the string in `field` of each object (nested fields as `a.b`), streamed."""
    files = non_empty_files(paths)
    return _streamed(lambda: _jsonl_texts(files, field))


def _csv_rows(path, delimiter):
    with open(path, encoding="utf-8", errors="replace", newline="") as f:
        yield from enumerate(csv.reader(f, delimiter=delimiter), 1)


def _csv_column_rows(paths, columns, delimiter):
    """Yields the named (or indexed) columns of each non-empty row of CSV/TSV files with a header row."""
    for path in non_empty_files(paths):
        sep = delimiter or ("\t" if path.endswith(".tsv") else ",")
        reader = _csv_rows(path, sep)
        _, header = next(reader)
        indices = []
        for column in columns:
            if isinstance(column, int):
                index = column
            elif column in header:
                index = header.index(column)
            else:
                raise ValueError(f"{path}: column {column!r} not in header {header}")
            indices.append(index)
        for number, row in reader:
            if not row:
                continue
            if max(indices) >= len(row):
                raise ValueError(f"{path}:{number}: {len(row)} field(s), expected at least {max(indices) + 1}")
            yield tuple(row[i] for i in indices)


def csv_columns(paths, columns, delimiter=None):
    """Reads the named (or indexed) columns of CSV/TSV files with a header row -> list of tuples of str."""
    return list(_csv_column_rows(paths, columns, delimiter))


def csv_dataset(paths, column="text", delimiter=None):
    """CSV/TSV with a header row: the text in `column` (name or 0-based index), streamed."""
    files = non_empty_files(paths)
    return _streamed(lambda: (row[0] for row in _csv_column_rows(files, [column], delimiter)))


def is_gzip(path):
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def tfrecord_dataset(paths, feature="text", compression="auto"):
    """TFRecord files of serialized `tf.Example` -> the bytes feature `feature`.

    Args:
        compression: "auto" (detect GZIP from the magic bytes), "GZIP" or "" (none)."""
    files = non_empty_files(paths)
    kinds = {("GZIP" if is_gzip(f) else "") if compression == "auto" else compression for f in files}
    if len(kinds) != 1:
        raise ValueError(f"mixed compression in {', '.join(files)}: pass compression= explicitly")
    kind = kinds.pop()
    for path in files:
        first = next(iter(tf.data.TFRecordDataset(path, compression_type=kind).take(1)), None)
        if first is None:
            continue
        try:
            example = tf.train.Example.FromString(first.numpy())
        except Exception:  # noqa: BLE001 - any parse failure means the same thing to the user
            raise ValueError(f"{path}: not a TFRecord of tf.Example (compression={kind or 'none'})") from None
        if feature not in example.features.feature:
            names = sorted(example.features.feature)
            raise ValueError(f"{path}: feature {feature!r} is missing (features: {names})")
    spec = {feature: tf.io.FixedLenFeature([], tf.string, default_value="")}
    records = tf.data.TFRecordDataset(files, compression_type=kind)
    return drop_blank(records.map(lambda r: tf.io.parse_single_example(r, spec)[feature]))


def load_texts(source, *, field="text", documents=False):
    """Any supported source -> dataset of strings. `field` names the JSON field, CSV column or tf.Example
    feature; `documents` switches plain text to blank-line-separated documents."""
    if isinstance(source, tf.data.Dataset):
        return drop_blank(source)
    files = expand_paths(source)
    ext = {os.path.splitext(f[:-3] if f.endswith(".gz") and ".tfrecord" in f else f)[1].lower() for f in files}
    if ext <= {".jsonl", ".json"}:
        return jsonl_dataset(files, field)
    if ext <= {".csv", ".tsv"}:
        return csv_dataset(files, field)
    if ext <= {".tfrecord", ".tfrecords", ".gz"}:
        return tfrecord_dataset(files, field)
    if ext & {".jsonl", ".json", ".csv", ".tsv", ".tfrecord", ".tfrecords", ".gz"}:
        raise ValueError(f"mixed file formats in one source: {', '.join(files)}")
    return text_file_dataset(files, documents=documents)


def describe(source):
    """Short human description of a source for error messages."""
    if isinstance(source, tf.data.Dataset):
        return "the given dataset"
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    return ", ".join(map(os.fspath, source))
