"""Tests of `hckeras.sds.labels` and `hckeras.sds.region_crops`."""

import numpy as np

from hckeras.model_spec import ModelSpec
from hckeras.sds.labels import IGNORED, best_overlaps, best_per_object, candidate_labels
from hckeras.sds.region_crops import crop_mask, region_crops
from hckeras.tasks import MapLayout


def test_labels_at_the_paper_thresholds():
    labels = candidate_labels([0.95, 0.71, 0.7, 0.6, 0.5, 0.49, 0.0])
    assert labels.tolist() == [1, 1, IGNORED, IGNORED, IGNORED, 0, 0]


def test_best_overlaps_by_hand():
    gt = np.zeros((2, 10, 10), bool)
    gt[0, 0:4, 0:4] = True  # category 1, 16 px
    gt[1, 0:4, 4:8] = True  # category 2, 16 px
    results = [
        # 4 x 2 px inside the category-1 object: IoU 8 / 16.
        {"category_id": 1, "mask": np.ones((4, 2), bool), "window": (0, 0, 2, 4)},
        # The same pixels as category 2: no overlap with the category-2 object.
        {"category_id": 2, "mask": np.ones((4, 2), bool), "window": (0, 0, 2, 4)},
        # Columns 2-5 (16 px): 8 px of each object; category 1: 8 / 24.
        {"category_id": 1, "mask": np.ones((4, 4), bool), "window": (2, 0, 6, 4)},
        {"category_id": 3, "mask": np.ones((1, 1), bool), "window": (0, 0, 1, 1)},
    ]
    np.testing.assert_allclose(best_overlaps(results, gt, [1, 2], (10, 10)), [0.5, 0, 1 / 3, 0])


def test_best_per_object_by_hand():
    gt = np.zeros((3, 10, 10), bool)
    gt[0, 0:4, 0:4] = True  # category 1
    gt[1, 0:4, 4:8] = True  # category 2
    gt[2, 6:10, 6:10] = True  # category 1, no result reaches it
    results = [
        {"category_id": 1, "mask": np.ones((4, 2), bool), "window": (0, 0, 2, 4)},  # 8/16
        {"category_id": 1, "mask": np.ones((4, 3), bool), "window": (0, 0, 3, 4)},  # 12/16
        {"category_id": 2, "mask": np.ones((4, 4), bool), "window": (2, 0, 6, 4)},  # 8/24
    ]
    np.testing.assert_allclose(best_per_object(results, gt, [1, 2, 1]), [0.75, 1 / 3, 0])
    assert best_per_object([], gt, [1, 2, 1]).tolist() == [0, 0, 0]


def test_region_crop_masks_the_background():
    image = np.arange(8 * 8 * 3, dtype=np.float32).reshape(8, 8, 3)
    spec = ModelSpec(
        task="segmentation",
        layout=MapLayout.from_categories([{"id": 1, "name": "a"}], "segmentation"),
        backbone="tiny",
        taps={"fc7": 1},
        grid_size=1,
        output_size=4,
        input_size=(4, 4),
        context_padding=0.0,
    )
    mask = np.zeros((4, 4), bool)
    mask[:, :2] = True  # left half of the window (2, 2, 6, 6)
    result = {"expanded_box": np.array([2.0, 2.0, 6.0, 6.0]), "mask": mask, "window": (2, 2, 6, 6)}
    assert crop_mask(mask, (2, 2, 6, 6), result["expanded_box"], (4, 4)).tolist() == mask.tolist()
    box, region = region_crops(image, result, spec, background_fill=-1.0)
    np.testing.assert_array_equal(box, image[2:6, 2:6])
    np.testing.assert_array_equal(region[:, :2], image[2:6, 2:4])
    assert np.all(region[:, 2:] == -1.0)
