import numpy as np
import pytest

from hckeras.inference.mask_quality import expected_iou
from hckeras.inference.predictor import Predictor
from hckeras.inference.results import results_to_coco

IMAGE = np.full((60, 80, 3), 128, np.uint8)


def test_expected_iou_by_hand():
    probability = np.array([[0.9, 0.6, 0.2, 0.0]])
    mask = probability >= 0.5
    # Intersection 0.9 + 0.6, union 2 mask pixels + 0.2 outside.
    assert expected_iou(probability, mask) == pytest.approx(1.5 / 2.2)
    certain = np.array([[1.0, 1.0, 0.0]])
    assert expected_iou(certain, certain >= 0.5) == 1.0
    assert expected_iou(np.zeros((2, 2)), np.zeros((2, 2), bool)) == 0.0
    with pytest.raises(ValueError, match="same shape"):
        expected_iou(np.zeros((2, 2)), np.zeros((2, 3), bool))


def test_mask_scoring_multiplies_the_box_score_by_the_masks_quality(segmentation_model, spec_for):
    """Two maps of the same certainty ranked the box's way; a blurred one below."""
    spec = spec_for("segmentation")
    boxed = Predictor(segmentation_model, spec)
    scored = Predictor(segmentation_model, spec, scoring="mask")
    detections = [{"bbox": [10, 20, 40, 20], "category_id": 1, "score": 0.9, "image_id": 3}]
    (plain,) = boxed.predict(IMAGE, detections)
    (result,) = scored.predict(IMAGE, detections)
    np.testing.assert_array_equal(result["mask"], plain["mask"])
    quality = expected_iou(result["probability"], result["mask"])
    assert 0.5 < quality < 1.0  # the bilinear paste blurs the halves' edge
    assert result["mask_quality"] == quality and result["box_score"] == 0.9
    assert result["score"] == pytest.approx(0.9 * quality)
    assert "mask_quality" not in plain and plain["score"] == 0.9
    (entry,) = results_to_coco([result])
    assert entry["score"] == pytest.approx(0.9 * quality) and entry["box_score"] == 0.9
    assert entry["mask_quality"] == pytest.approx(quality)


def test_mask_scoring_is_for_segmentation_models(segmentation_model, spec_for):
    with pytest.raises(ValueError, match="unknown scoring 'iou'"):
        Predictor(segmentation_model, spec_for("segmentation"), scoring="iou")
    with pytest.raises(ValueError, match="keypoints models use 'box'"):
        Predictor(lambda crops: None, spec_for("keypoints"), scoring="mask")
