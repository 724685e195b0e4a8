"""A training run's folder: refuse to replace a finished run, resume only the run that was interrupted, and
put the outputs in place atomically. Plain Python (no Keras, no TensorFlow), so the `keras-llm` command runs
these checks before paying TensorFlow's start-up.

States of `--output` (`run_state`):
- "new": no `model.keras` and no resumable state in the backup folder: train.
- "interrupted": the backup folder holds a resumable state: resume it, if it is the same run. The backup
  folder keeps `run.json` (the settings that shape the weights, a fingerprint of every training/validation
  file and of a given tokenizer folder, and the serving version chosen); any difference is refused with one
  line naming the backup folder and the first field that changed (`--overwrite` starts over instead).
- "finished": `model.keras` is there and nothing is left to resume: refused unless `--overwrite`, which first
  removes the previous run's outputs inside `--output` (model, tokenizer, settings, metrics, `serving/`,
  `tensorboard/`, backup). Folders given explicitly (`--serving-dir`, `--tensorboard-dir`) are not emptied:
  they may hold other runs' versions.

Outputs are written to `OUTPUT/.incoming/` and renamed into place (`publish`), and the SavedModel to
`SERVING/.incoming-<version>/` then renamed to `SERVING/<version>/` (`keras_llm.export.export_saved_model`), so a
kill never leaves a half-written model or a partial serving version that TF Serving would load. The backup is
removed only after everything is in place: a run killed while writing its outputs resumes and writes them again,
under the same serving version.
"""
import hashlib
import json
import os
import shutil
import time

RUN_FILE = "run.json"
STAGING = ".incoming"
OUTPUT_FILES = ("model.keras", "tokenizer", "train_config.json", "metrics.json")
# Settings that do not change the weights a run trains: a resume may change them.
NOT_IDENTITY = {"train", "valid", "output", "tensorboard_dir", "serving_dir", "backup_dir", "checkpoint_every",
                "log_every", "sample_prompts", "sample_tokens", "profile_steps", "max_new_tokens", "verbose",
                "distribute", "tpu", "shard_by", "deterministic", "jit_compile", "overwrite", "tokenizer_dir"}


def _has_resumable_state(backup_dir):
    return os.path.isdir(backup_dir) and any(name != RUN_FILE for name in os.listdir(backup_dir))


def run_state(config):
    """"new", "interrupted" or "finished" (see the module docstring)."""
    if _has_resumable_state(config.location("backup")):
        return "interrupted"
    if os.path.isfile(config.location("model")):
        return "finished"
    return "new"


def check_output(config):
    """Raises FileExistsError (one line) when `config.output` holds a finished run and `config.overwrite` is
    not set. Reads only; `prepare_output` does the work."""
    if run_state(config) == "finished" and not config.overwrite:
        raise FileExistsError(f"{config.output} already holds a trained model (model.keras): pass --overwrite to "
                              f"replace that run, or choose another --output")


def _inside(path, folder):
    path, folder = os.path.abspath(path), os.path.abspath(folder)
    return os.path.commonpath([path, folder]) == folder


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.remove(path)


def clear_outputs(config):
    """Removes a previous run's outputs from `config.output` (and the backup), keeping explicit folders that lie
    outside it. Returns the paths removed."""
    paths = [os.path.join(config.output, name) for name in (*OUTPUT_FILES, STAGING)]
    paths += [config.location(name) for name in ("serving", "tensorboard", "backup")
              if config.location(name) and _inside(config.location(name), config.output)]
    removed = [path for path in paths if os.path.lexists(path)]
    for path in removed:
        _remove(path)
    return removed


def file_fingerprint(path, chunk=1 << 20):
    """sha256 of a file's bytes (hex); a folder: of its files' relative names and bytes, in sorted order."""
    digest = hashlib.sha256()
    if os.path.isdir(path):
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(files):
                full = os.path.join(root, name)
                digest.update(os.path.relpath(full, path).encode() + b"\0")
                digest.update(file_fingerprint(full, chunk).encode())
        return digest.hexdigest()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def run_identity(config, train_files, valid_files=None):
    """What makes a run the same run: the settings that shape its weights, and the fingerprints of its data
    files (by position, so a renamed or moved corpus with the same bytes still matches) and of a given
    tokenizer folder."""
    settings = {k: v for k, v in config.to_dict().items() if k not in NOT_IDENTITY}
    return {
        "settings": settings,
        "train": [[os.path.basename(f), file_fingerprint(f)] for f in train_files],
        "valid": [[os.path.basename(f), file_fingerprint(f)] for f in valid_files or ()],
        "tokenizer": file_fingerprint(config.tokenizer_dir) if config.tokenizer_dir else None,
    }


def _difference(saved, current):
    """A phrase naming the first difference between two identities, or None."""
    for key in sorted(set(saved["settings"]) | set(current["settings"])):
        old, new = saved["settings"].get(key), current["settings"].get(key)
        if old != new:
            return f"--{key.replace('_', '-')} {new!r} (the run has {old!r})"
    for kind in ("train", "valid"):
        old, new = saved[kind], current[kind]
        if len(old) != len(new):
            return f"{len(new)} --{kind} file(s) (the run has {len(old)})"
        for (old_name, old_hash), (new_name, new_hash) in zip(old, new):
            if old_hash != new_hash:
                return f"--{kind} file {new_name} with other contents than the run's {old_name}"
    if saved.get("tokenizer") != current.get("tokenizer"):
        return "--tokenizer-dir with another tokenizer than the run's"
    return None


def prepare_output(config, identity, backup_dir=None, is_chief=True):
    """Before training: refuse or clear a finished run (`check_output`, `clear_outputs`), check an interrupted
    run's identity (or start over with `--overwrite`), and record this run's identity in the backup folder.

    Args:
        config: the run's `TrainConfig`.
        identity: `run_identity(config, ...)`.
        backup_dir: this process's backup folder (default `config.location("backup")`; a multi-worker
            non-chief has its own).
        is_chief: only the chief removes a previous run's outputs.

    Returns the run record (`{"identity": ..., "serving_version": int}`): a resumed run keeps its serving
    version, so that outputs written again after a kill replace the same version rather than add one."""
    backup_dir = backup_dir or config.location("backup")
    check_output(config)
    state = "interrupted" if _has_resumable_state(backup_dir) else run_state(config)
    record = _read_record(backup_dir) if state == "interrupted" else None
    if record is not None:
        difference = _difference(record["identity"], json.loads(json.dumps(identity)))
        if difference is not None:
            if not config.overwrite:
                raise ValueError(f"{backup_dir} holds an interrupted run with other settings: this command gives "
                                 f"{difference}; rerun with the run's settings to resume it, or pass --overwrite "
                                 f"to start over")
            state = "start over"
    if state in ("finished", "start over") and config.overwrite:
        if is_chief:
            clear_outputs(config)
        _remove(backup_dir)
        record = None
    if record is None:
        record = {"identity": identity, "serving_version": int(time.time())}
        os.makedirs(backup_dir, exist_ok=True)
        with open(os.path.join(backup_dir, RUN_FILE), "w", encoding="utf-8") as f:
            json.dump(record, f, indent=1)
    return record


def _read_record(backup_dir):
    path = os.path.join(backup_dir, RUN_FILE)
    if not os.path.isfile(path):
        return None  # a backup from before run records: resumed as it is
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        raise ValueError(f"{path} is unreadable: pass --overwrite to start over") from None


def staging_folder(output):
    """An empty `OUTPUT/.incoming/` to write the outputs into before `publish` renames them into place."""
    path = os.path.join(output, STAGING)
    _remove(path)
    os.makedirs(path)
    return path


def publish(staging, output):
    """Renames each entry of `staging` to `output/<entry>` (a file with one atomic `os.replace`; a folder by
    moving the old one aside first), then removes `staging`."""
    for name in sorted(os.listdir(staging)):
        source, target = os.path.join(staging, name), os.path.join(output, name)
        replace_path(source, target)
    os.rmdir(staging)


def replace_path(source, target):
    """Puts `source` at `target`, replacing what is there; a folder's old copy is moved aside, then deleted."""
    if os.path.isdir(source) and os.path.lexists(target):
        old = f"{target}.replaced"
        _remove(old)
        os.rename(target, old)
        os.rename(source, target)
        _remove(old)
    else:
        os.replace(source, target)
