"""Binary files are refused with one line naming the file and why; text with a few bad bytes is read."""
import gzip

import pytest

from keras_llm.data import load_texts
from keras_llm.data.sources import check_text_file, expand_paths


@pytest.mark.parametrize("content, message", [
    (b"\x7fELF\x02\x01\x01" + b"x" * 100, "a binary file (an ELF executable), not text"),
    (b"\x89PNG\r\n\x1a\n" + b"x" * 100, "a binary file (a PNG image), not text"),
    (b"PK\x03\x04" + b"x" * 100, "a binary file (a zip archive), not text"),
    (gzip.compress(b"the dog sat\n" * 50, mtime=0), "a binary file (a gzip file), not text"),
    (b"the dog\x00sat " * 40, "a binary file, not text (8.3% NUL bytes in its first 1 KiB"),
    ("the dog sat\n".encode("utf-16"), "UTF-16 text must be converted to UTF-8"),
    (bytes(range(128, 256)) * 20, "a binary file or not UTF-8 text (100.0% of its first 2 KiB are invalid UTF-8)"),
], ids=["elf", "png", "zip", "gzip", "nul", "utf16", "invalid-utf8"])  # fixed ids: xdist workers must agree
def test_binary_files_are_one_line_errors(tmp_path, content, message):
    path = tmp_path / "corpus.txt"
    path.write_bytes(content)
    with pytest.raises(ValueError) as error:
        check_text_file(str(path))
    assert str(error.value).startswith(f"{path}: ") and message in str(error.value)
    with pytest.raises(ValueError, match="binary|UTF-8"):
        load_texts(str(path))  # every reader checks


def test_text_with_a_few_bad_bytes_is_cleaned_not_refused(tmp_path):
    path = tmp_path / "latin1.txt"
    # Latin-1 accents (invalid UTF-8, 2 in 30 bytes), a NUL and a real U+FFFD character: read, not refused.
    path.write_bytes(("caf\xe9 cr\xe8me and the dog\n".encode("latin-1") + "ok \ufffd\n".encode()) * 20 + b"a\x00b\n")
    check_text_file(str(path))
    texts = [t.decode("utf-8", errors="replace") for t in load_texts(str(path)).as_numpy_iterator()]
    assert len(texts) == 41 and texts[0] == "caf\ufffd cr\ufffdme and the dog"


def test_tfrecord_files_are_not_checked_and_folders_keep_corpus_extensions(tmp_path):
    (tmp_path / "data.tfrecord.gz").write_bytes(gzip.compress(b"\x00" * 100))
    check_text_file(str(tmp_path / "data.tfrecord.gz"))  # binary by design
    for name in ("a.txt", "b.jsonl", "c.CSV", ".hidden.txt", "d.bin", "README", "e.so"):
        (tmp_path / name).write_text("text\n")
    assert [p.rsplit("/", 1)[1] for p in expand_paths(str(tmp_path))] == ["a.txt", "b.jsonl", "c.CSV",
                                                                         "data.tfrecord.gz"]
    assert expand_paths(str(tmp_path / "README")) == [str(tmp_path / "README")]  # named: read whatever it is
