import contextlib
import io
import json

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from hckeras.inference.results import (
    encode_mask,
    encode_window_mask,
    results_to_coco,
    write_results,
)


def _coco(categories, height=6, width=8):
    coco = COCO()
    coco.dataset = {
        "images": [{"id": 3, "file_name": "a.png", "width": width, "height": height}],
        "annotations": [],
        "categories": categories,
    }
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def _predictions():
    mask = np.zeros((6, 8), bool)
    mask[1:4, 2:5] = True
    labels = np.zeros((6, 8), np.int32)
    labels[1:3, 2:5] = 1
    labels[3:5, 2:5] = 2
    return [
        {"box": np.array([1.0, 1.0, 6.0, 5.0]), "category_id": 1, "score": 0.9, "mask": mask},
        {
            "box": np.array([0.5, 0.5, 7.0, 6.0]),
            "category_id": 2,
            "score": 0.4,
            "keypoints": np.array([[1.0, 2.0, 0.3], [4.5, 5.5, 0.2]]),
        },
        {
            "box": np.array([2.0, 1.0, 5.0, 5.0]),
            "category_id": 1,
            "score": 0.7,
            "part_labels": labels,
            "mask": labels > 0,
            "part_names": ["upper", "lower", "feet"],
        },
    ]


def test_encode_mask_round_trips_with_str_counts():
    mask = np.random.default_rng(0).uniform(size=(7, 5)) > 0.5
    rle = encode_mask(mask)
    assert rle["size"] == [7, 5] and isinstance(rle["counts"], str)
    decoded = mask_utils.decode({"size": rle["size"], "counts": rle["counts"].encode()})
    np.testing.assert_array_equal(decoded, mask)


def test_results_are_coco_json_that_load_res_accepts(tmp_path, categories):
    results = results_to_coco(_predictions(), image_id=3)
    assert results[0]["bbox"] == [1.0, 1.0, 5.0, 4.0] and results[0]["image_id"] == 3
    assert results[1]["keypoints"] == [1.0, 2.0, 0.3, 4.5, 5.5, 0.2]
    assert "segmentation" not in results[1]
    parts = results[2]["parts"]
    assert len(parts) == 3  # one per part name, the unused third one empty
    decoded = [mask_utils.decode({**p, "counts": p["counts"].encode()}) for p in parts]
    assert decoded[0][1:3, 2:5].all() and decoded[0].sum() == 6
    assert decoded[1][3:5, 2:5].all() and decoded[1].sum() == 6 and decoded[2].sum() == 0
    path = tmp_path / "out" / "results.json"
    write_results(path, results)
    assert json.loads(path.read_text()) == results
    with contextlib.redirect_stdout(io.StringIO()):
        loaded = _coco(categories).loadRes(str(path))
    assert len(loaded.anns) == 3
    assert loaded.anns[1]["segmentation"] == results[0]["segmentation"]


def test_image_id_comes_from_the_predictions_or_the_argument():
    predictions = _predictions()[:1]
    with pytest.raises(ValueError, match="no image_id"):
        results_to_coco(predictions)
    predictions[0]["image_id"] = 5
    assert results_to_coco(predictions)[0]["image_id"] == 5
    assert results_to_coco([]) == []


def test_window_masks_encode_to_the_image_sized_masks_rle():
    rng = np.random.default_rng(0)
    for _ in range(500):
        height, width = rng.integers(1, 9, 2)
        x0, y0 = rng.integers(0, width + 1), rng.integers(0, height + 1)
        x1, y1 = rng.integers(x0, width + 1), rng.integers(y0, height + 1)
        mask = rng.uniform(size=(y1 - y0, x1 - x0)) < rng.uniform()
        image_sized = np.zeros((height, width), bool)
        image_sized[y0:y1, x0:x1] = mask
        window = (x0, y0, x1, y1)
        assert encode_window_mask(mask, window, (height, width)) == encode_mask(image_sized)
    with pytest.raises(ValueError, match="does not fit window"):
        encode_window_mask(np.ones((2, 2), bool), (0, 0, 3, 2), (4, 4))
    with pytest.raises(ValueError, match="not a pixel rectangle"):
        encode_window_mask(np.ones((2, 2), bool), (3, 0, 5, 2), (4, 4))
