"""Pool expansion (paper section 4.2): add the nearby boxes NMS removed.

"We pick boxes with score higher than a threshold that were suppressed by NMS but
that overlap the detections by less than 0.7. We then do a non-max suppression with
a lenient threshold of 0.7 to get a pool of candidates to rescore." Such a box was
suppressed by a higher-scored detection it overlaps by at least the NMS threshold,
yet it is not a near copy of any detection: it may be the better localised one.

    pool = expand_pool(boxes, scores, category_ids, kept=[0, 3], score_threshold=0.1)
"""

import numpy as np

from hckeras.boxes import box_iou, xywh_to_xyxy
from hckeras.sds.box_nms import _check, box_nms

EXPANSION_OVERLAP = 0.7
"""A suppressed box joins the pool only if its IoU with every kept detection of its
category is below this."""

LENIENT_NMS = 0.7
"""Threshold of the NMS of the union of kept and added boxes."""


def expand_pool(
    boxes,
    scores,
    category_ids,
    kept,
    score_threshold,
    overlap=EXPANSION_OVERLAP,
    lenient_threshold=LENIENT_NMS,
):
    """The expanded candidate pool of one image.

    Args:
        boxes, scores, category_ids: the raw (pre-NMS) pool, `(N, 4)` xyxy, `(N,)`,
            `(N,)`.
        kept: indices of the detections that survived NMS.
        score_threshold: a suppressed box is a candidate when its score is > this.
        overlap: ... and its IoU with every kept box of its category is < this.
        lenient_threshold: NMS threshold applied to kept + candidates.

    Returns:
        sorted indices into the raw pool. Every kept index is in it: a candidate
        overlaps every kept box by less than `overlap`, so with
        `lenient_threshold <= overlap` only candidates suppress each other.
    """
    boxes, scores, category_ids = _check(boxes, scores, category_ids)
    kept = np.asarray(sorted(set(int(i) for i in kept)), dtype=np.int64)
    if len(kept) and (kept.min() < 0 or kept.max() >= len(boxes)):
        raise ValueError(f"kept indices must lie in [0, {len(boxes)}), got {kept.tolist()}")
    suppressed = np.setdiff1d(np.arange(len(boxes)), kept)
    suppressed = suppressed[scores[suppressed] > score_threshold]
    candidates = []
    for index in suppressed:
        same = kept[category_ids[kept] == category_ids[index]]
        if not len(same) or box_iou(boxes[index], boxes[same]).max() < overlap:
            candidates.append(int(index))
    union = np.concatenate([kept, np.asarray(candidates, dtype=np.int64)])
    chosen = box_nms(boxes[union], scores[union], category_ids[union], lenient_threshold)
    return sorted(int(union[i]) for i in chosen)


def expand_detections(
    raw, kept=None, score_threshold=0.1, nms_threshold=0.5, min_score=None, **options
):
    """`expand_pool` over COCO results dicts, image by image.

    Args:
        raw: the raw pool, COCO results dicts (`image_id`, `category_id`, `bbox`, `score`).
        kept: the NMS output as a list of indices into `raw`; default `box_nms` of each
            image's raw pool at `nms_threshold`.
        min_score: drop raw boxes scored below this first (a detector's output floor;
            the synthetic detector's is `DETECTION_MIN_SCORE`, 0.05).
        score_threshold, options: see `expand_pool`.

    Returns:
        `(pool, stats)`: the pool's dicts in raw order, each with `"source"` set to
        `"kept"` or `"added"`; stats `{"raw", "kept", "pool", "ratio"}` (ratio: pool
        size over kept size).
    """
    by_image = {}
    for index, detection in enumerate(raw):
        if min_score is None or detection["score"] >= min_score:
            by_image.setdefault(detection["image_id"], []).append(index)
    kept_set = None if kept is None else set(int(i) for i in kept)
    chosen, kept_all = [], set()
    for indices in by_image.values():
        group = [raw[i] for i in indices]
        boxes = xywh_to_xyxy([d["bbox"] for d in group])
        scores = [d["score"] for d in group]
        categories = [d["category_id"] for d in group]
        if kept_set is None:
            local_kept = box_nms(boxes, scores, categories, nms_threshold)
        else:
            local_kept = [j for j, i in enumerate(indices) if i in kept_set]
        kept_all.update(indices[j] for j in local_kept)
        pool = expand_pool(boxes, scores, categories, local_kept, score_threshold, **options)
        chosen += [indices[j] for j in pool]
    pool = [{**raw[i], "source": "kept" if i in kept_all else "added"} for i in sorted(chosen)]
    stats = {
        "raw": len(raw),
        "kept": len(kept_all),
        "pool": len(pool),
        "ratio": len(pool) / len(kept_all) if kept_all else 0.0,
    }
    return pool, stats
