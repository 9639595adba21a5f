"""Read and check region candidates (System 1's input, paper section 4.1) and turn each
into the two extra hypercolumn features of the refinement model.

A candidates file is a COCO results list whose entries carry a `segmentation` (RLE or
polygons, image-sized), a `score` and a `category_id`; the synthetic data set writes one
(`region_candidates.json`). Each candidate is seen through its mask's bounding box,
expanded like a detection's.

    coco = load_ground_truth("synth/test/annotations.json")
    candidates, empty = read_region_candidates("synth/test/region_candidates.json", coco)
    inside, coarse = candidate_features(mask, expanded_box, output_size=32)
"""

import os

import numpy as np

from hckeras.boxes import expand_box
from hckeras.data.coco import is_finite_number
from hckeras.metrics.coco_io import load_results, result_masks
from hckeras.models.hypercolumn_model import COARSE_SIZE
from hckeras.resample import crop_and_resize

COARSE_SAMPLES = 4
"""Samples per coarse cell and side: a coarse cell's value is the mean of 4 x 4 bilinear
samples of the candidate mask, its covered fraction."""


def read_region_candidates(candidates, coco):
    """Check a candidates file (or list) against the ground truth.

    Args:
        candidates: path of a COCO results JSON, or the loaded list.
        coco: the ground truth (`hckeras.metrics.coco_io.load_ground_truth`).

    Returns:
        `(entries, empty)`: the usable entries grouped by image id (dict image id ->
        list of `(entry, bool (H, W) mask)` in file order) and the number of entries
        dropped because their mask is empty.

    Raises:
        ValueError: naming the file and the entry, for an empty list, a missing
            `segmentation` or `score`, a mask that is not image-sized, a score that is
            NaN, infinite or negative, an unknown image or category.
    """
    where = (
        f"region candidates {os.fspath(candidates)}"
        if isinstance(candidates, str | os.PathLike)
        else "region candidates"
    )
    entries = load_results(candidates, coco, fields=("score", "segmentation"))
    if not entries:
        raise ValueError(f"{where}: the list is empty (no candidates to refine)")
    by_image, empty = {}, 0
    for index, entry in enumerate(entries):
        if not is_finite_number(entry["score"]) or entry["score"] < 0:
            raise ValueError(
                f"{where}: entry {index} has score {entry['score']!r}; candidate scores must "
                "be finite numbers >= 0"
            )
        by_image.setdefault(entry["image_id"], []).append(entry)
    grouped = {}
    for image_id, group in by_image.items():
        masks = result_masks(group, coco.imgs[image_id])
        for entry, mask in zip(group, masks, strict=True):
            if not mask.any():
                empty += 1
                continue
            grouped.setdefault(image_id, []).append((entry, mask))
    return grouped, empty


def candidate_box(mask):
    """The xyxy bounding box of a non-empty bool `(H, W)` mask, in pixel edges."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return np.array([cols[0], rows[0], cols[-1] + 1, rows[-1] + 1], dtype=np.float64)


def candidate_expanded_box(mask, context_padding):
    """The candidate's box expanded like a detection's (`boxes.expand_box`)."""
    return expand_box(candidate_box(mask), context_padding)


def candidate_features(mask, expanded_box, output_size, coarse_size=COARSE_SIZE):
    """System 1's two features of a candidate seen through `expanded_box`.

    Args:
        mask: bool `(H, W)` candidate mask.
        expanded_box: xyxy box of the crop.
        output_size: S.
        coarse_size: side of the coarse grid (10 in the paper).

    Returns:
        `(inside, coarse)`: float32 `(S, S, 1)`, 1 where the grid location is inside the
        candidate (the bilinear sample of the mask >= 0.5, the rule of the segmentation
        targets), and float32 `(coarse_size**2,)`, the candidate's covered fraction of
        each coarse cell, row-major.
    """
    mask = np.asarray(mask, dtype=np.float32)
    inside = crop_and_resize(mask, expanded_box, (output_size, output_size)) >= 0.5
    side = coarse_size * COARSE_SAMPLES
    samples = crop_and_resize(mask, expanded_box, (side, side))
    coarse = samples.reshape(coarse_size, COARSE_SAMPLES, coarse_size, COARSE_SAMPLES)
    return (
        inside[..., None].astype(np.float32),
        coarse.mean(axis=(1, 3)).reshape(-1).astype(np.float32),
    )
