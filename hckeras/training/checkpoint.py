"""Resumable training: the full model (weights and optimizer) after every epoch.

A checkpoint is one file, `checkpoints/epoch_0003.keras` after three finished epochs:
the epoch count is part of the name, so the model, its optimizer state and the count are
renamed into place together (`save_model_atomic`: fsynced file, one rename, fsynced
folder). A run killed at any moment (even `kill -9` in the middle of a save) leaves the
previous complete checkpoint, which `resume_state` finds; an epoch is never trained twice
nor skipped.
"""

import csv
import io
import re
from pathlib import Path

import keras

from hckeras.io import save_model_atomic, write_text_atomic

CHECKPOINTS = "checkpoints"
_NAME = re.compile(r"epoch_(\d+)\.keras")


def checkpoint_path(run_dir, epochs_done):
    """The checkpoint file of a run after `epochs_done` epochs."""
    return Path(run_dir) / CHECKPOINTS / f"epoch_{epochs_done:04d}.keras"


def latest_checkpoint(run_dir):
    """`(path, epochs_done)` of the run's newest complete checkpoint, or `(None, 0)`."""
    folder = Path(run_dir) / CHECKPOINTS
    found = [
        (int(match.group(1)), path)
        for path in (folder.iterdir() if folder.is_dir() else ())
        if (match := _NAME.fullmatch(path.name))
    ]
    if not found:
        return None, 0
    epochs_done, path = max(found)
    return path, epochs_done


class EpochCheckpoint(keras.callbacks.Callback):
    """Save `checkpoints/epoch_NNNN.keras` (model + optimizer state) atomically after
    each epoch, then delete the older checkpoints and leftovers of interrupted saves."""

    def __init__(self, run_dir):
        super().__init__()
        self.run_dir = Path(run_dir)

    def on_epoch_end(self, epoch, logs=None):
        newest = save_model_atomic(self.model, checkpoint_path(self.run_dir, epoch + 1))
        for path in newest.parent.iterdir():
            stale = _NAME.fullmatch(path.name) or path.name.startswith(".epoch_")
            if stale and path != newest:
                path.unlink(missing_ok=True)


def resume_state(run_dir):
    """`(model, epochs_done)` from the run's last checkpoint, or `(None, 0)`."""
    path, epochs_done = latest_checkpoint(run_dir)
    if path is None:
        return None, 0
    return keras.saving.load_model(path), epochs_done


def trim_csv_log(path, epochs_done):
    """Keep only the rows of epochs `< epochs_done` in a `CSVLogger` log (rewritten
    atomically), so that a resumed run's log has each epoch once: rows written after
    the last checkpoint, by a run that was then killed, are dropped."""
    path = Path(path)
    if not path.exists():
        return
    with open(path, newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        rows = list(reader)
    if header is None:
        return
    kept = [row for row in rows if row and _epoch(row[0]) is not None]
    kept = [row for row in kept if _epoch(row[0]) < epochs_done and len(row) == len(header)]
    if len(kept) == len(rows):
        return
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(kept)
    write_text_atomic(path, text.getvalue())


def _epoch(text):
    return int(text) if text.isdigit() else None
