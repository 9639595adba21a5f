"""Atomic, durable file writes: a reader never sees a half-written artifact, and a
finished write survives a crash (the file and its folder entry are fsynced)."""

import json
import os
import tempfile
from pathlib import Path


def write_bytes_atomic(path, data):
    """Write `data` to `path` via a temporary file in the same folder and
    `os.replace`, so an interrupted write leaves the old file (or none)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes files private; artifacts are ordinary files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
    return path


def fsync_file(path):
    """Flush a file's data to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path):
    """Flush a folder's entries (a rename into it) to disk; a no-op where folders
    cannot be opened (Windows)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_text_atomic(path, text):
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path, obj, indent=2):
    return write_text_atomic(path, json.dumps(obj, indent=indent, sort_keys=False) + "\n")


def save_model_atomic(model, path):
    """`model.save(path)` (a `.keras` file) through a temporary `.keras` file in the
    same folder, fsynced, and `os.replace`; the folder is fsynced after the rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp.keras")
    try:
        model.save(tmp)
        fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
    return path
