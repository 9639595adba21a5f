"""Read and check a raw (pre-NMS) detection pool, COCO results JSON.

    pool = read_raw_pool("runs/synth/detections_raw.json")
    pool, outside = drop_outside_boxes(pool, {1: (256, 300)})   # image id -> (H, W)

A pool whose scores are NaN, infinite or negative cannot be ranked the way box NMS and
pool expansion rank it (a score convention other than "higher is better, >= 0"), so it is
an error naming the file and the entry; an empty pool is an error too. Boxes that lie
entirely outside their image are dropped and counted.
"""

import os

import numpy as np

from hckeras.boxes import validate_box, xywh_to_xyxy
from hckeras.data.coco import is_finite_number, read_json


def read_raw_pool(pool, where=None):
    """Check a raw pool (path or list of COCO results dicts) and return it as a list.

    Raises `ValueError` naming `where` (default: the file, or "raw pool") and the entry
    for: a file that is not a list, an empty pool, an entry without `image_id`,
    `category_id`, `bbox` or `score`, a malformed, NaN or zero-area `bbox`, a score that
    is not a finite number >= 0.
    """
    if isinstance(pool, str | os.PathLike):
        where = where or f"raw pool {os.fspath(pool)}"
        pool = read_json(os.fspath(pool), "raw pool file")
    where = where or "raw pool"
    if not isinstance(pool, list):
        raise ValueError(f"{where}: must be a COCO results list, got {type(pool).__name__}")
    if not pool:
        raise ValueError(f"{where}: the pool is empty (no detections to expand)")
    for index, entry in enumerate(pool):
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: entry {index} is a {type(entry).__name__}, not a dict")
        missing = [k for k in ("image_id", "category_id", "bbox", "score") if k not in entry]
        if missing:
            raise ValueError(f"{where}: entry {index} has no {', '.join(missing)}")
        score = entry["score"]
        if not is_finite_number(score) or score < 0:
            raise ValueError(
                f"{where}: entry {index} has score {score!r}; raw pool scores must be finite "
                "numbers >= 0"
            )
        bbox = entry["bbox"]
        if not isinstance(bbox, list | tuple) or len(bbox) != 4:
            raise ValueError(f"{where}: entry {index} has bbox {bbox!r}, not [x, y, w, h]")
        validate_box(xywh_to_xyxy(np.asarray(bbox, dtype=np.float64)), f"{where}: entry {index}")
    return pool


def drop_outside_boxes(pool, image_sizes):
    """Drop the entries whose box does not overlap its image.

    Args:
        pool: checked COCO results dicts (`read_raw_pool`).
        image_sizes: image id -> `(height, width)`.

    Returns:
        `(kept, dropped)`: the entries that overlap their image, in order, and the
        number dropped. Entries of images not in `image_sizes` raise `ValueError`.
    """
    kept, dropped = [], 0
    for index, entry in enumerate(pool):
        if entry["image_id"] not in image_sizes:
            raise ValueError(f"raw pool entry {index}: image id {entry['image_id']!r} is unknown")
        height, width = image_sizes[entry["image_id"]]
        x0, y0, x1, y1 = xywh_to_xyxy(np.asarray(entry["bbox"], dtype=np.float64))
        if x1 <= 0 or y1 <= 0 or x0 >= width or y0 >= height:
            dropped += 1
        else:
            kept.append(entry)
    return kept, dropped
