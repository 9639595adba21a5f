"""Training-curve PNG from the run's CSV log."""

import csv
import io
from pathlib import Path

from hckeras.io import write_bytes_atomic


def _number(text):
    """A logged value, or None for Keras's "NA" (a metric missing that epoch)."""
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def plot_training_curves(csv_path, png_path):
    """Plot every loss column of a Keras CSV log against the epoch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(csv_path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        return None
    figure, axis = plt.subplots(figsize=(6, 4))
    for column in rows[0]:
        if "loss" in column:
            points = [(int(r["epoch"]) + 1, _number(r[column])) for r in rows]
            points = [(e, v) for e, v in points if v is not None]
            axis.plot(*zip(*points, strict=True), marker="o", label=column)
    axis.set_xlabel("epoch")
    axis.set_ylabel("loss")
    axis.set_title(Path(csv_path).parent.name)
    axis.legend()
    axis.grid(alpha=0.3)
    figure.tight_layout()
    png = io.BytesIO()
    figure.savefig(png, format="png", dpi=100)
    plt.close(figure)
    return write_bytes_atomic(png_path, png.getvalue())
