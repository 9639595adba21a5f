"""Greedy non-maximum suppression of boxes, per category (R-CNN's detection NMS).

keep = box_nms([[0, 0, 10, 10], [1, 0, 11, 10], [20, 20, 30, 30]], [0.9, 0.8, 0.7],
               [1, 1, 1], threshold=0.5)      # [0, 2]
"""

import numpy as np

from hckeras.boxes import box_iou, xywh_to_xyxy


def _check(boxes, scores, category_ids):
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    category_ids = np.asarray(category_ids).reshape(-1)
    if not len(boxes) == len(scores) == len(category_ids):
        raise ValueError(
            f"got {len(boxes)} boxes, {len(scores)} scores and {len(category_ids)} category ids"
        )
    if not np.all(np.isfinite(scores)):
        raise ValueError(f"scores must be finite numbers, got {scores[~np.isfinite(scores)][:5]}")
    return boxes, scores, category_ids


def greedy_nms(overlaps, scores, threshold):
    """Greedy NMS given a pairwise `(N, N)` overlap matrix: visit in decreasing score
    (ties: input order) and keep a candidate unless it overlaps an already kept one by
    at least `threshold`. Returns the kept indices, best first."""
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    kept = []
    for index in order:
        if not kept or np.max(overlaps[index, kept]) < threshold:
            kept.append(int(index))
    return kept


def box_nms(boxes, scores, category_ids, threshold=0.5):
    """Per-category greedy box NMS.

    Args:
        boxes: `(N, 4)` xyxy.
        scores: `(N,)` finite scores.
        category_ids: `(N,)`; boxes of different categories never suppress each other.
        threshold: a box is suppressed when its IoU with a higher-scored kept box of its
            category is >= this.

    Returns:
        sorted list of kept indices into the inputs.
    """
    boxes, scores, category_ids = _check(boxes, scores, category_ids)
    kept = []
    for category in np.unique(category_ids):
        members = np.flatnonzero(category_ids == category)
        overlaps = box_iou(boxes[members], boxes[members])
        kept += [int(members[i]) for i in greedy_nms(overlaps, scores[members], threshold)]
    return sorted(kept)


def nms_detections(detections, threshold=0.5):
    """Box NMS of COCO results dicts (`image_id`, `category_id`, `bbox` xywh, `score`),
    image by image; returns the kept dicts in input order."""
    by_image = {}
    for index, detection in enumerate(detections):
        by_image.setdefault(detection["image_id"], []).append(index)
    keep = set()
    for indices in by_image.values():
        group = [detections[i] for i in indices]
        kept = box_nms(
            xywh_to_xyxy([d["bbox"] for d in group]),
            [d["score"] for d in group],
            [d["category_id"] for d in group],
            threshold,
        )
        keep.update(indices[i] for i in kept)
    return [d for i, d in enumerate(detections) if i in keep]
