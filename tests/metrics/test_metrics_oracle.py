import json

import numpy as np
import pytest

from hckeras.data.coco import CocoDataset
from hckeras.data.synthetic import generate
from hckeras.metrics.evaluate import evaluate_results
from hckeras.metrics.oracle import oracle_results


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("synth"), 3, seed=21)


def _gt_detections(path):
    gt = json.loads(path.read_text())
    return [
        {
            "image_id": a["image_id"],
            "category_id": a["category_id"],
            "bbox": a["bbox"],
            "score": 0.9,
        }
        for a in gt["annotations"]
    ]


@pytest.mark.parametrize(
    "task, metric", [("segmentation", "apr"), ("parts", "apr-part"), ("keypoints", "apk")]
)
def test_ground_truth_boxes_reach_the_top_score(synthetic, task, metric):
    results = oracle_results(synthetic, _gt_detections(synthetic), task=task)
    scores = evaluate_results(str(synthetic), results, metric=metric)
    if task == "keypoints":  # grid-cell centres: within 0.2 torso of the truth, not exact
        assert scores["mean"][0] > 0.9
    else:
        assert scores["mean"] == pytest.approx([1.0] * len(scores["mean"]))


def test_mask_is_clipped_to_the_expanded_box_and_misses_are_empty(synthetic):
    coco = CocoDataset.load(synthetic)
    annotation = coco.annotations[0]
    x, y, w, h = annotation["bbox"]
    half = {
        "image_id": annotation["image_id"],
        "category_id": annotation["category_id"],
        "bbox": [x, y, w / 2, h],
        "score": 0.5,
    }
    nowhere = {**half, "bbox": [0, 0, 1, 1]}
    from pycocotools import mask as mask_utils

    got_half, got_none = oracle_results(coco, [half, nowhere], context_padding=0.0)
    mask = mask_utils.decode(got_half["segmentation"]).astype(bool)
    truth = coco.mask(annotation) > 0
    assert not mask[:, int(np.ceil(x + w / 2)) + 1 :].any()
    np.testing.assert_array_equal(mask[:, : int(x + w / 2)], truth[:, : int(x + w / 2)])
    assert mask_utils.decode(got_none["segmentation"]).sum() == 0
