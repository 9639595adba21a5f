"""Simulated region candidates for System 1 (paper section 4.1) on the synthetic data set.

System 1 refines *region candidates*: the ranked segments of a region-proposal pipeline
([22]: MCG proposals scored by a region classifier, then NMS). Such a segment roughly
covers an object but gets its boundary wrong: blocky where it follows superpixels, too
fat or too thin, a limb missing, a piece of background or a neighbour attached.
`simulate_region_candidates` draws such segments from the ground-truth masks, so the
refinement has something to repair and the raw candidates are a baseline:

- each object is missed with probability `MISS_RATE`; otherwise it gets 1 + Poisson
  (`EXTRA_CANDIDATES`) candidates, the first perturbed mildly, later ones harder and
  scored lower;
- a candidate is the instance mask after two to four of: `blocky` (area-resampled to a
  coarse grid and thresholded), `grow_or_shrink` (dilation or erosion), `drop_disc`
  (a disc of the object erased, e.g. a limb), `attach_blob` (an ellipse of background
  added at the boundary) and `shift`;
- its score rises with its IoU with the object, plus noise (a region classifier's
  score), and false positives (blobs on background, low scores, random categories) are
  added at `FALSE_POSITIVES_PER_IMAGE`.

    rng = np.random.default_rng(0)
    candidates = simulate_region_candidates(rng, 1, [(1, mask)], 256, 256, [1, 2, 3])
    candidates[0].keys()   # image_id, category_id, segmentation (RLE), bbox, score
"""

import cv2
import numpy as np
from pycocotools import mask as mask_utils

from hckeras.metrics.overlaps import mask_iou

MISS_RATE = 0.05
EXTRA_CANDIDATES = 0.6
FALSE_POSITIVES_PER_IMAGE = 0.6
MIN_CANDIDATE_AREA = 16


def _disc(radius):
    radius = max(1, int(round(radius)))
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def _object_size(mask):
    """The square root of the mask's area: a length scale of the object."""
    return float(np.sqrt(max(np.count_nonzero(mask), 1)))


def blocky(rng, mask, strength):
    """Resample to a grid of `cell`-pixel blocks (area average), threshold, and back:
    a boundary that follows blocks, as superpixel-based proposals do."""
    height, width = mask.shape
    cell = max(2.0, _object_size(mask) * rng.uniform(0.06, 0.12 + 0.1 * strength))
    small = (max(1, int(round(width / cell))), max(1, int(round(height / cell))))
    coarse = cv2.resize(mask.astype(np.float32), small, interpolation=cv2.INTER_AREA)
    cut = rng.uniform(0.35, 0.65)
    return cv2.resize((coarse >= cut).astype(np.uint8), (width, height), cv2.INTER_NEAREST) > 0


def grow_or_shrink(rng, mask, strength):
    """Dilate or erode by a radius of a few percent of the object's size."""
    radius = _object_size(mask) * rng.uniform(0.02, 0.05 + 0.06 * strength)
    operation = cv2.dilate if rng.random() < 0.5 else cv2.erode
    return operation(mask.astype(np.uint8), _disc(radius)) > 0


def drop_disc(rng, mask, strength):
    """Erase a disc centred on a random pixel of the object (a missing limb)."""
    ys, xs = np.nonzero(mask)
    if not len(ys):
        return mask
    pick = rng.integers(len(ys))
    radius = _object_size(mask) * rng.uniform(0.1, 0.2 + 0.15 * strength)
    out = mask.astype(np.uint8).copy()
    cv2.circle(out, (int(xs[pick]), int(ys[pick])), max(1, int(radius)), 0, -1)
    return out > 0


def attach_blob(rng, mask, strength):
    """Add an ellipse of background centred on a random boundary pixel."""
    boundary = mask & ~(cv2.erode(mask.astype(np.uint8), _disc(1)) > 0)
    ys, xs = np.nonzero(boundary)
    if not len(ys):
        return mask
    pick = rng.integers(len(ys))
    size = _object_size(mask) * rng.uniform(0.1, 0.2 + 0.15 * strength, 2)
    out = mask.astype(np.uint8).copy()
    axes = (max(1, int(size[0])), max(1, int(size[1])))
    cv2.ellipse(out, (int(xs[pick]), int(ys[pick])), axes, rng.uniform(0, 180), 0, 360, 1, -1)
    return out > 0


def shift(rng, mask, strength):
    """Move the mask by a few percent of the object's size (pixels leaving the image are
    lost)."""
    dx, dy = np.round(_object_size(mask) * rng.normal(0.0, 0.03 + 0.04 * strength, 2))
    matrix = np.float32([[1, 0, dx], [0, 1, dy]])
    height, width = mask.shape
    moved = cv2.warpAffine(mask.astype(np.uint8), matrix, (width, height), flags=cv2.INTER_NEAREST)
    return moved > 0


PERTURBATIONS = (blocky, grow_or_shrink, drop_disc, attach_blob, shift)


def perturb_mask(rng, mask, strength):
    """A region candidate for one object: its bool `(H, W)` mask after two to four of
    `PERTURBATIONS` (`blocky` always among them), each scaled by `strength` in [0, 1].
    Falls back to the blocky mask alone when the result is smaller than
    `MIN_CANDIDATE_AREA` pixels."""
    mask = np.asarray(mask, dtype=bool)
    count = int(rng.integers(1, 4))
    others = rng.choice(len(PERTURBATIONS) - 1, size=count, replace=False) + 1
    coarse = blocky(rng, mask, strength)
    out = coarse
    for index in others:
        out = PERTURBATIONS[index](rng, out, strength)
    if np.count_nonzero(out) < MIN_CANDIDATE_AREA:
        out = coarse if np.count_nonzero(coarse) >= MIN_CANDIDATE_AREA else mask
    return out


def _score(rng, iou, factor=1.0):
    return factor / (1.0 + np.exp(-(8.0 * (iou - 0.55) + rng.normal(0.0, 0.7))))


def _entry(image_id, category_id, mask, score):
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {
        "image_id": int(image_id),
        "category_id": int(category_id),
        "segmentation": {"size": [int(s) for s in rle["size"]], "counts": rle["counts"].decode()},
        "bbox": [round(float(v), 2) for v in mask_utils.toBbox(rle)],
        "score": round(float(np.clip(score, 0.001, 0.999)), 4),
    }


def _false_positive(rng, height, width):
    """A random ellipse of background (bool `(H, W)`)."""
    out = np.zeros((height, width), np.uint8)
    centre = (int(rng.uniform(0, width)), int(rng.uniform(0, height)))
    axes = tuple(int(v) for v in rng.uniform(10.0, 50.0, 2))
    cv2.ellipse(out, centre, axes, rng.uniform(0, 180), 0, 360, 1, -1)
    return out > 0


def simulate_region_candidates(rng, image_id, instances, height, width, category_ids):
    """The simulated region candidates of one image (see the module docstring).

    Args:
        rng: a `numpy.random.Generator`.
        image_id: the COCO image id.
        instances: list of `(category_id, mask)`, bool `(height, width)` masks.
        height, width: image size.
        category_ids: the categories a false positive may get.

    Returns:
        list of COCO result dicts `{image_id, category_id, segmentation (RLE), bbox,
        score}`, in object order, false positives last.
    """
    candidates = []
    for category_id, mask in instances:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (height, width):
            raise ValueError(f"image {image_id}: mask {mask.shape} is not {(height, width)}")
        if rng.random() < MISS_RATE:
            continue
        for rank in range(1 + rng.poisson(EXTRA_CANDIDATES)):
            strength = min(1.0, rng.uniform(0.0, 0.6) + 0.3 * rank)
            candidate = perturb_mask(rng, mask, strength)
            score = _score(rng, mask_iou(candidate, mask), 1.0 if rank == 0 else 0.7)
            candidates.append(_entry(image_id, category_id, candidate, score))
    for _ in range(rng.poisson(FALSE_POSITIVES_PER_IMAGE)):
        category_id = category_ids[rng.integers(len(category_ids))]
        blob = _false_positive(rng, height, width)
        candidates.append(_entry(image_id, category_id, blob, 0.5 * rng.beta(2.0, 5.0)))
    return candidates
