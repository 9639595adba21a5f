"""Training labels of region candidates (paper section 4.2): a candidate whose predicted
mask overlaps a ground-truth instance of its category by more than 0.7 is positive,
one below 0.5 negative, and one in between is left out.

    labels = candidate_labels([0.9, 0.6, 0.1])   # [1, -1, 0]   (-1: ignored)
"""

import numpy as np

POSITIVE_OVERLAP = 0.7
NEGATIVE_OVERLAP = 0.5
IGNORED = -1


def candidate_labels(overlaps, positive=POSITIVE_OVERLAP, negative=NEGATIVE_OVERLAP):
    """`(N,)` best mask overlaps -> int `(N,)`: 1 above `positive`, 0 below `negative`,
    `IGNORED` (-1) otherwise."""
    overlaps = np.asarray(overlaps, dtype=np.float64).reshape(-1)
    labels = np.full(len(overlaps), IGNORED, dtype=np.int64)
    labels[overlaps > positive] = 1
    labels[overlaps < negative] = 0
    return labels


def best_overlaps(results, gt_masks, gt_categories, image_size):
    """Each result's best mask IoU with a ground-truth instance of its category.

    Args:
        results: `Predictor` results of one image (box-local `mask` and `window`).
        gt_masks: `(G, H, W)` bool ground-truth masks of the image.
        gt_categories: `(G,)` their category ids.
        image_size: `(H, W)`.

    Returns:
        `(N,)` float64, 0 for a result with no instance of its category.
    """
    gt_masks = np.asarray(gt_masks, dtype=bool)
    if gt_masks.shape[1:] != (int(image_size[0]), int(image_size[1])):
        raise ValueError(f"gt_masks are {gt_masks.shape[1:]} but the image is {image_size}")
    gt_categories = np.asarray(gt_categories).reshape(-1)
    gt_areas = np.count_nonzero(gt_masks.reshape(len(gt_masks), -1), axis=1)
    best = np.zeros(len(results))
    for i, result in enumerate(results):
        same = np.flatnonzero(gt_categories == result["category_id"])
        if not len(same):
            continue
        x0, y0, x1, y1 = (int(v) for v in result["window"])
        mask = np.asarray(result["mask"], dtype=bool)
        inside = gt_masks[same, y0:y1, x0:x1]
        inter = np.count_nonzero(inside & mask, axis=(1, 2))
        union = np.count_nonzero(mask) + gt_areas[same] - inter
        best[i] = np.max(np.where(union > 0, inter / np.maximum(union, 1), 0.0))
    return best


def best_per_object(results, gt_masks, gt_categories):
    """Each ground-truth instance's best mask IoU with a result of its category: how well
    the best candidate of a pool covers it (the ceiling of rescoring that pool).

    Args:
        results: `Predictor` results of one image (box-local `mask` and `window`).
        gt_masks: `(G, H, W)` bool.
        gt_categories: `(G,)` category ids.

    Returns:
        `(G,)` float64, 0 for an instance no result of its category overlaps.
    """
    gt_masks = np.asarray(gt_masks, dtype=bool)
    gt_categories = np.asarray(gt_categories).reshape(-1)
    gt_areas = np.count_nonzero(gt_masks.reshape(len(gt_masks), -1), axis=1)
    best = np.zeros(len(gt_masks))
    for result in results:
        same = np.flatnonzero(gt_categories == result["category_id"])
        if not len(same):
            continue
        x0, y0, x1, y1 = (int(v) for v in result["window"])
        mask = np.asarray(result["mask"], dtype=bool)
        inter = np.count_nonzero(gt_masks[same, y0:y1, x0:x1] & mask, axis=(1, 2))
        union = np.count_nonzero(mask) + gt_areas[same] - inter
        iou = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
        best[same] = np.maximum(best[same], iou)
    return best
