"""Simulated detections for the synthetic data set (not the output of a detector).

`simulate_raw_pool` draws the pre-NMS pool a box detector would produce;
`simulate_detections` is its per-category box NMS (`hckeras.sds.box_nms`, IoU
`NMS_THRESHOLD`) with scores below `DETECTION_MIN_SCORE` dropped, so the raw pool
and the detections come from one source.

The pool is built around *anchor* boxes. Each ground-truth box is missed with
probability `MISS_RATE`; otherwise it gets an anchor jittered around it, mostly
tightly (IoU >= 0.5) and sometimes loosely, with a score that rises with the IoU
plus noise. A few duplicates (a second, looser box on the same object, scored
lower) and false positives on distractors or random background (low scores,
random categories) are anchors too. Every anchor then gets `NEIGHBOURS_PER_BOX`
(Poisson) neighbours: boxes jittered around the anchor, scored lower than it, some
of them better localised than the anchor. Background boxes scored below
`DETECTION_MIN_SCORE` complete the pool. Anchors are drawn from `rng` exactly as
before the pool existed; neighbours and background boxes from `pool_rng`.

    rng, pool_rng = np.random.default_rng(0), np.random.default_rng(1)
    raw = simulate_raw_pool(rng, pool_rng, 1, [(1, [10, 20, 50, 90])], [], 256, 256, [1, 2])
    dets = simulate_detections(raw)
    dets[0].keys()   # image_id, category_id, bbox (COCO x, y, w, h), score
"""

import numpy as np

from hckeras.sds.box_nms import nms_detections

MISS_RATE = 0.1
DUPLICATE_RATE = 0.08
FALSE_POSITIVES_PER_IMAGE = 0.8
NEIGHBOURS_PER_BOX = 5.0
NEIGHBOUR_SIGMA = (0.03, 0.12)
NEIGHBOUR_SCORE_FACTOR = (0.5, 0.98)
BACKGROUND_PER_IMAGE = 12.0
NMS_THRESHOLD = 0.5
DETECTION_MIN_SCORE = 0.05


def box_iou(a, b):
    """IoU of two COCO boxes `[x, y, w, h]`."""
    ax1, ay1, bx1, by1 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    inter_w = max(0.0, min(ax1, bx1) - max(a[0], b[0]))
    inter_h = max(0.0, min(ay1, by1) - max(a[1], b[1]))
    inter = inter_w * inter_h
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def _jitter(rng, box, sigma, width, height):
    """`box` (x, y, w, h) moved and resized by relative noise `sigma`, clipped to the image."""
    x, y, w, h = box
    cx = x + w / 2 + rng.normal(0.0, sigma) * w
    cy = y + h / 2 + rng.normal(0.0, sigma) * h
    w, h = w * np.exp(rng.normal(0.0, sigma)), h * np.exp(rng.normal(0.0, sigma))
    x0, y0 = np.clip([cx - w / 2, cy - h / 2], 0.0, [width - 1.0, height - 1.0])
    x1, y1 = np.clip([cx + w / 2, cy + h / 2], [x0 + 1.0, y0 + 1.0], [width, height])
    return [float(x0), float(y0), float(x1 - x0), float(y1 - y0)]


def _entry(image_id, category_id, box, score):
    return {
        "image_id": int(image_id),
        "category_id": int(category_id),
        "bbox": [round(v, 2) for v in box],
        "score": round(float(np.clip(score, 0.001, 0.999)), 4),
    }


def _true_positive_score(rng, iou):
    return 1.0 / (1.0 + np.exp(-(7.0 * (iou - 0.55) + rng.normal(0.0, 0.6))))


def _anchors(rng, image_id, ground_truth, distractor_boxes, width, height, category_ids):
    """The anchor boxes of one image (see the module docstring)."""
    anchors = []
    for category_id, box in ground_truth:
        if rng.random() < MISS_RATE:
            continue
        sigma = rng.uniform(0.02, 0.08) if rng.random() < 0.7 else rng.uniform(0.12, 0.35)
        found = _jitter(rng, box, sigma, width, height)
        score = _true_positive_score(rng, box_iou(found, box))
        anchors.append(_entry(image_id, category_id, found, score))
        if rng.random() < DUPLICATE_RATE:
            duplicate = _jitter(rng, box, rng.uniform(0.2, 0.4), width, height)
            score = _true_positive_score(rng, box_iou(duplicate, box)) * rng.uniform(0.3, 0.7)
            anchors.append(_entry(image_id, category_id, duplicate, score))
    for _ in range(rng.poisson(FALSE_POSITIVES_PER_IMAGE)):
        if distractor_boxes and rng.random() < 0.6:
            x0, y0, x1, y1 = distractor_boxes[rng.integers(len(distractor_boxes))]
            box = _jitter(rng, [x0, y0, x1 - x0, y1 - y0], 0.1, width, height)
        else:
            size = rng.uniform(30.0, 150.0, 2)
            corner = rng.uniform(0.0, 1.0, 2) * np.maximum([width, height] - size, 1.0)
            box = _jitter(rng, [*corner, *size], 0.0, width, height)
        category_id = category_ids[rng.integers(len(category_ids))]
        anchors.append(_entry(image_id, category_id, box, 0.6 * rng.beta(2.0, 5.0)))
    return anchors


def simulate_raw_pool(
    rng, pool_rng, image_id, ground_truth, distractor_boxes, width, height, category_ids
):
    """The simulated pre-NMS pool of one image.

    Args:
        rng: a `numpy.random.Generator` for the anchors.
        pool_rng: a second generator, for the neighbours and background boxes.
        image_id: the COCO image id.
        ground_truth: list of `(category_id, [x, y, w, h])`.
        distractor_boxes: list of `(x0, y0, x1, y1)` distractor boxes (false
            positives prefer them).
        width, height: image size.
        category_ids: the categories a false positive may get.

    Returns:
        list of COCO result dicts `{image_id, category_id, bbox, score}`: each
        anchor followed by its neighbours, then the background boxes.
    """
    pool = []
    anchors = _anchors(rng, image_id, ground_truth, distractor_boxes, width, height, category_ids)
    for anchor in anchors:
        pool.append(anchor)
        for _ in range(pool_rng.poisson(NEIGHBOURS_PER_BOX)):
            box = _jitter(
                pool_rng, anchor["bbox"], pool_rng.uniform(*NEIGHBOUR_SIGMA), width, height
            )
            score = anchor["score"] * pool_rng.uniform(*NEIGHBOUR_SCORE_FACTOR)
            pool.append(_entry(image_id, anchor["category_id"], box, score))
    for _ in range(pool_rng.poisson(BACKGROUND_PER_IMAGE)):
        size = pool_rng.uniform(20.0, 150.0, 2)
        corner = pool_rng.uniform(0.0, 1.0, 2) * np.maximum([width, height] - size, 1.0)
        box = _jitter(pool_rng, [*corner, *size], 0.0, width, height)
        category_id = category_ids[pool_rng.integers(len(category_ids))]
        score = DETECTION_MIN_SCORE * pool_rng.uniform(0.02, 0.98)
        pool.append(_entry(image_id, category_id, box, score))
    return pool


def simulate_detections(raw_pool):
    """The detections of a raw pool: per-category box NMS at `NMS_THRESHOLD`, then the
    boxes scored below `DETECTION_MIN_SCORE` dropped (dicts in pool order)."""
    kept = nms_detections(raw_pool, NMS_THRESHOLD)
    return [d for d in kept if d["score"] >= DETECTION_MIN_SCORE]
