"""`ap_method="coco101"` agrees with pycocotools' COCOeval(iouType="segm") to 1e-6."""

import contextlib
import copy
import io

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from hckeras.metrics import evaluate_apr

HEIGHT, WIDTH = 36, 44


def _rle(mask):
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    rle["counts"] = rle["counts"].decode("ascii")
    return rle


def _box_mask(x0, y0, x1, y1):
    mask = np.zeros((HEIGHT, WIDTH), dtype=bool)
    mask[max(y0, 0) : max(y1, 0), max(x0, 0) : max(x1, 0)] = True
    return mask


def _random_box(rng, min_size=6, max_size=20):
    w, h = rng.integers(min_size, max_size, size=2)
    x0, y0 = rng.integers(0, WIDTH - w), rng.integers(0, HEIGHT - h)
    return x0, y0, x0 + w, y0 + h


def _clipped_xywh(box):
    x0, y0, x1, y1 = max(box[0], 0), max(box[1], 0), min(box[2], WIDTH), min(box[3], HEIGHT)
    return [x0, y0, x1 - x0, y1 - y0]


def _jitter(rng, box, amount):
    return tuple(int(v + rng.integers(-amount, amount + 1)) for v in box)


def _fixture(seed):
    """A messy data set: 6 categories, crowds, duplicates, misses, false positives, ties."""
    rng = np.random.default_rng(seed)
    categories = [{"id": c, "name": f"cat{c}"} for c in (1, 2, 3, 4, 5, 7)]
    images, annotations, results = [], [], []
    for image_id in (3, 1, 8, 5, 2, 9, 4):  # unsorted on purpose
        images.append({"id": image_id, "width": WIDTH, "height": HEIGHT, "file_name": "x.png"})
        if image_id in (8, 9):  # images without ground truth, only false positives
            for _ in range(3):
                results.append(
                    {
                        "image_id": image_id,
                        "category_id": int(rng.choice([1, 2, 3])),
                        "segmentation": _rle(_box_mask(*_random_box(rng))),
                        "score": float(np.round(rng.uniform(), 1)),
                    }
                )
            continue
        # category 4 has ground truth but no detections; 5 only detections; 7 only crowds.
        for category_id in (1, 2, 3, 4, 7):
            crowd_box = (
                _random_box(rng, 12, 30) if rng.uniform() < 0.4 or category_id == 7 else None
            )
            if crowd_box is not None:
                annotations.append(
                    {
                        "id": len(annotations) + 1,
                        "image_id": image_id,
                        "category_id": category_id,
                        "iscrowd": 1,
                        "segmentation": _rle(_box_mask(*crowd_box)),
                        "area": 1.0,
                        "bbox": [0, 0, 1, 1],
                    }
                )
                for _ in range(2 * (category_id != 4)):  # detections inside the crowd region
                    results.append(
                        {
                            "image_id": image_id,
                            "category_id": category_id,
                            "segmentation": _rle(_box_mask(*_jitter(rng, crowd_box, 3))),
                            "score": float(np.round(rng.uniform(), 2)),
                        }
                    )
            if category_id == 7:
                continue
            boxes = [_random_box(rng) for _ in range(rng.integers(1, 4))]
            if rng.uniform() < 0.5:  # a near twin: one detection can pass on both objects
                boxes.append(_jitter(rng, boxes[0], 2))
            for box in boxes:
                x0, y0, x1, y1 = box
                segmentation = (
                    [[x0, y0, x1, y0, x1, y1, x0, y1]]  # polygons, decoded like COCO does
                    if rng.uniform() < 0.3
                    else _rle(_box_mask(*box))
                )
                annotations.append(
                    {
                        "id": len(annotations) + 1,
                        "image_id": image_id,
                        "category_id": category_id,
                        "iscrowd": 0,
                        "segmentation": segmentation,
                        "area": float((x1 - x0) * (y1 - y0)),
                        # The mask's box: a twin may reach beyond the image, its mask does not.
                        "bbox": _clipped_xywh(box),
                    }
                )
                if category_id == 4 or rng.uniform() < 0.2:  # missed
                    continue
                copies = 1 + int(rng.uniform() < 0.4)  # duplicates
                for _ in range(copies):
                    amount = int(rng.choice([0, 0, 1, 1, 2, 4]))
                    results.append(
                        {
                            "image_id": image_id,
                            "category_id": category_id,
                            "segmentation": _rle(_box_mask(*_jitter(rng, box, amount))),
                            "score": float(np.round(rng.uniform(), 1)),  # ties
                        }
                    )
        for _ in range(rng.integers(1, 4)):  # false positives, category 5 among them
            results.append(
                {
                    "image_id": image_id,
                    "category_id": int(rng.choice([1, 2, 3, 5])),
                    "segmentation": _rle(_box_mask(*_random_box(rng))),
                    "score": float(np.round(rng.uniform(), 1)),
                }
            )
    # More than COCOeval's maxDets=100 on one image and category.
    for _ in range(104):
        results.append(
            {
                "image_id": 1,
                "category_id": 2,
                "segmentation": _rle(_box_mask(*_random_box(rng))),
                "score": float(np.round(rng.uniform(0.2, 1.0), 2)),
            }
        )
    order = rng.permutation(len(results))
    results = [results[i] for i in order]
    gt = {"images": images, "annotations": annotations, "categories": categories}
    return gt, results


def _cocoeval(gt, results, threshold):
    """Per-category AP and mean AP as COCOeval.summarize computes them at one threshold."""
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = copy.deepcopy(gt)
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(copy.deepcopy(results))
        evaluator = COCOeval(coco_gt, coco_dt, iouType="segm")
        evaluator.params.iouThrs = np.array([threshold])
        evaluator.evaluate()
        evaluator.accumulate()
    # precision: [T, R, K, A, M]; area "all" is index 0, maxDets=100 index 2.
    precision = evaluator.eval["precision"][0, :, :, 0, 2]
    per_category = {}
    for k, category_id in enumerate(evaluator.params.catIds):
        column = precision[:, k]
        per_category[category_id] = float(np.mean(column)) if np.all(column > -1) else None
    return per_category, float(np.mean(precision[precision > -1]))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_coco101_matches_cocoeval(seed):
    gt, results = _fixture(seed)
    thresholds = (0.5, 0.7, 0.75, 0.95, 1.0)
    ours = evaluate_apr(gt, results, thresholds, ap_method="coco101")
    for t_index, threshold in enumerate(thresholds):
        expected, expected_mean = _cocoeval(gt, results, threshold)
        assert set(ours) == set(expected)
        for category_id, ap in expected.items():
            if ap is None:
                assert np.isnan(ours[category_id][t_index]), (category_id, threshold)
            else:
                assert ours[category_id][t_index] == pytest.approx(ap, abs=1e-6), (
                    category_id,
                    threshold,
                )
        mean = np.nanmean([aps[t_index] for aps in ours.values()])
        assert mean == pytest.approx(expected_mean, abs=1e-6), threshold


def test_fixture_exercises_the_hard_cases():
    gt, results = _fixture(0)
    expected, _ = _cocoeval(gt, results, 0.5)
    assert not any(r["category_id"] == 4 for r in results)
    assert expected[4] == 0.0  # ground truth, no detections
    assert expected[5] is None and expected[7] is None  # no (non-crowd) ground truth
    assert any(a["iscrowd"] for a in gt["annotations"])
    assert 0.0 < expected[1] < 1.0
