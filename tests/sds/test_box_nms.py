"""Tests of `hckeras.sds.box_nms`."""

import numpy as np
import pytest

from hckeras.sds.box_nms import box_nms, nms_detections


def test_hand_computed_suppression():
    boxes = [[0, 0, 10, 10], [1, 0, 11, 10], [5, 0, 15, 10], [1, 0, 11, 10]]
    # IoU(0, 1) = 90 / 110 = 0.82; IoU(0, 2) = 50 / 150 = 0.33; box 3 has another category.
    assert box_nms(boxes, [0.9, 0.8, 0.7, 0.1], [1, 1, 1, 2], threshold=0.5) == [0, 2, 3]
    assert box_nms(boxes, [0.9, 0.8, 0.7, 0.1], [1, 1, 1, 2], threshold=0.3) == [0, 3]
    assert box_nms(boxes, [0.9, 0.8, 0.7, 0.1], [1, 1, 1, 2], threshold=0.9) == [0, 1, 2, 3]
    # The higher score wins whatever the order.
    assert box_nms(boxes[:2], [0.2, 0.8], [1, 1]) == [1]


def test_ties_keep_the_earlier_box_and_empty_input():
    assert box_nms([[0, 0, 4, 4], [0, 0, 4, 4]], [0.5, 0.5], [1, 1]) == [0]
    assert box_nms(np.zeros((0, 4)), [], []) == []


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="2 boxes, 1 scores"):
        box_nms([[0, 0, 1, 1], [0, 0, 2, 2]], [0.5], [1, 1])
    with pytest.raises(ValueError, match="finite"):
        box_nms([[0, 0, 1, 1]], [float("nan")], [1])


def test_nms_detections_works_image_by_image():
    a = {"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.9}
    b = {"image_id": 1, "category_id": 1, "bbox": [1, 0, 10, 10], "score": 0.8}
    c = {"image_id": 2, "category_id": 1, "bbox": [1, 0, 10, 10], "score": 0.8}
    assert nms_detections([b, a, c]) == [a, c]
