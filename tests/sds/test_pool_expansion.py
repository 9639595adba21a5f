"""Tests of `hckeras.sds.pool_expansion` (paper section 4.2)."""

import numpy as np
import pytest

from hckeras.boxes import box_iou, xywh_to_xyxy
from hckeras.sds.box_nms import box_nms
from hckeras.sds.pool_expansion import expand_detections, expand_pool

# A kept; B suppressed, IoU(A) = 80/120 = 0.67 < 0.7: added; C IoU(A) = 0.82: a near copy;
# D IoU(A) = 70/130 = 0.54 but scored under the threshold; E IoU(A) = 75/125 = 0.6, but
# IoU(B) = 95/105 = 0.9 and B scores higher: removed by the lenient NMS; F another category.
BOXES = [
    [0, 0, 10, 10],
    [2, 0, 12, 10],
    [1, 0, 11, 10],
    [3, 0, 13, 10],
    [2.5, 0, 12.5, 10],
    [2, 0, 12, 10],
]
SCORES = [0.9, 0.8, 0.7, 0.05, 0.6, 0.5]
CATEGORIES = [1, 1, 1, 1, 1, 2]


def test_hand_computed_pool():
    kept = box_nms(BOXES, SCORES, CATEGORIES, threshold=0.5)
    assert kept == [0, 5]
    assert expand_pool(BOXES, SCORES, CATEGORIES, kept, score_threshold=0.1) == [0, 1, 5]
    # A lower score threshold makes D a candidate, but it overlaps B by 90/110 = 0.82 and
    # the lenient NMS removes it.
    assert expand_pool(BOXES, SCORES, CATEGORIES, kept, score_threshold=0.01) == [0, 1, 5]
    # Without the lenient NMS (threshold 1.01) E stays.
    pool = expand_pool(BOXES, SCORES, CATEGORIES, kept, 0.1, lenient_threshold=1.01)
    assert pool == [0, 1, 4, 5]
    # A stricter overlap limit (0.65) no longer admits B (0.67) but E (0.6) takes its place.
    assert expand_pool(BOXES, SCORES, CATEGORIES, kept, 0.1, overlap=0.65) == [0, 4, 5]


def test_random_pools_keep_every_detection_and_add_only_separated_boxes():
    rng = np.random.default_rng(0)
    for _ in range(20):
        n = rng.integers(1, 30)
        corners = rng.uniform(0, 50, (n, 2))
        boxes = np.concatenate([corners, corners + rng.uniform(5, 30, (n, 2))], axis=1)
        scores, categories = rng.uniform(0, 1, n), rng.integers(1, 3, n)
        kept = box_nms(boxes, scores, categories, 0.5)
        pool = expand_pool(boxes, scores, categories, kept, score_threshold=0.2)
        assert set(kept) <= set(pool)
        for index in set(pool) - set(kept):
            same = [k for k in kept if categories[k] == categories[index]]
            assert scores[index] > 0.2
            assert box_iou(boxes[index], boxes[same]).max() < 0.7
        # The pool itself passes NMS at 0.7.
        assert box_nms(boxes[pool], scores[pool], categories[pool], 0.7) == list(range(len(pool)))


def test_expand_detections_on_results_dicts():
    raw = [
        {
            "image_id": 3,
            "category_id": c,
            "bbox": list(b[:2]) + [b[2] - b[0], b[3] - b[1]],
            "score": s,
        }
        for b, s, c in zip(BOXES, SCORES, CATEGORIES, strict=True)
    ]
    other = {"image_id": 4, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.9}
    assert np.allclose(xywh_to_xyxy(raw[1]["bbox"]), BOXES[1])
    pool, stats = expand_detections(raw + [other], score_threshold=0.1)
    assert [p["bbox"] for p in pool] == [
        raw[0]["bbox"],
        raw[1]["bbox"],
        raw[5]["bbox"],
        other["bbox"],
    ]
    assert [p["source"] for p in pool] == ["kept", "added", "kept", "kept"]
    assert stats == {"raw": 7, "kept": 3, "pool": 4, "ratio": 4 / 3}
    # An output floor drops the raw boxes under it before NMS.
    _, floored = expand_detections(raw, score_threshold=0.1, min_score=0.55)
    assert floored["kept"] == 1 and floored["pool"] == 2
    # Given kept indices are used as they are: F, not kept, overlaps no kept box of its
    # category and is added.
    pool, stats = expand_detections(raw, kept=[0], score_threshold=0.1)
    assert stats["kept"] == 1 and [p["source"] for p in pool] == ["kept", "added", "added"]
    assert pool[2]["category_id"] == 2


def test_bad_kept_indices_raise():
    with pytest.raises(ValueError, match="kept indices"):
        expand_pool(BOXES, SCORES, CATEGORIES, [9], 0.1)
