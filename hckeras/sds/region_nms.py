"""Non-maximum suppression on region (mask) overlap, the last step of System 2
(paper section 4.2, threshold 0.3).

Masks are box-local: a bool `(h, w)` array over an int `(x0, y0, x1, y1)` window of
the image (`hckeras.inference.paste`), False outside it. Overlaps are computed on
the windows' intersection only, so the cost grows with the boxes, not the image.

    masks = [np.ones((2, 2), bool), np.ones((2, 2), bool)]
    region_ious(masks, [(0, 0, 2, 2), (1, 0, 3, 2)])   # [[1, 1/3], [1/3, 1]]
"""

import numpy as np

from hckeras.sds.box_nms import greedy_nms

REGION_NMS_THRESHOLD = 0.3


def _check_masks(masks, windows):
    if len(masks) != len(windows):
        raise ValueError(f"got {len(masks)} masks and {len(windows)} windows")
    checked = []
    for index, (mask, window) in enumerate(zip(masks, windows, strict=True)):
        mask = np.asarray(mask, dtype=bool)
        x0, y0, x1, y1 = (int(v) for v in window)
        if mask.shape != (y1 - y0, x1 - x0):
            raise ValueError(
                f"masks[{index}] has shape {mask.shape} but its window {(x0, y0, x1, y1)} "
                f"is {(y1 - y0, x1 - x0)}"
            )
        checked.append((mask, (x0, y0, x1, y1)))
    return checked


def region_ious(masks, windows):
    """Pairwise mask IoU of box-local masks.

    Args:
        masks: N bool `(h_i, w_i)` arrays.
        windows: N int `(x0, y0, x1, y1)` windows, `masks[i]` covering `windows[i]`.

    Returns:
        `(N, N)` float64; 0 where the union is empty.
    """
    checked = _check_masks(masks, windows)
    areas = np.array([np.count_nonzero(m) for m, _ in checked], dtype=np.float64)
    ious = np.zeros((len(checked), len(checked)))
    for i, (mask_i, (ax0, ay0, ax1, ay1)) in enumerate(checked):
        for j in range(i, len(checked)):
            mask_j, (bx0, by0, bx1, by1) = checked[j]
            x0, y0, x1, y1 = max(ax0, bx0), max(ay0, by0), min(ax1, bx1), min(ay1, by1)
            inter = 0.0
            if x0 < x1 and y0 < y1:
                a = mask_i[y0 - ay0 : y1 - ay0, x0 - ax0 : x1 - ax0]
                b = mask_j[y0 - by0 : y1 - by0, x0 - bx0 : x1 - bx0]
                inter = float(np.count_nonzero(a & b))
            union = areas[i] + areas[j] - inter
            ious[i, j] = ious[j, i] = inter / union if union > 0 else 0.0
    return ious


def region_nms(masks, windows, scores, category_ids, threshold=REGION_NMS_THRESHOLD):
    """Per-category greedy NMS on mask IoU.

    Args:
        masks, windows: box-local masks (see `region_ious`).
        scores: `(N,)` finite scores.
        category_ids: `(N,)`; regions of different categories never suppress each other.
        threshold: a region is removed when its mask IoU with a higher-scored kept
            region of its category is >= this.

    Returns:
        sorted list of kept indices.
    """
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    category_ids = np.asarray(category_ids).reshape(-1)
    if not len(masks) == len(scores) == len(category_ids):
        raise ValueError(
            f"got {len(masks)} masks, {len(scores)} scores and {len(category_ids)} category ids"
        )
    if not np.all(np.isfinite(scores)):
        raise ValueError("scores must be finite numbers")
    kept = []
    for category in np.unique(category_ids):
        members = np.flatnonzero(category_ids == category)
        overlaps = region_ious([masks[i] for i in members], [windows[i] for i in members])
        kept += [int(members[i]) for i in greedy_nms(overlaps, scores[members], threshold)]
    return sorted(kept)
