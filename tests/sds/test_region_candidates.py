import numpy as np
import pytest
from pycocotools import mask as mask_utils

from hckeras.metrics.coco_io import load_ground_truth
from hckeras.sds.region_candidates import (
    candidate_box,
    candidate_expanded_box,
    candidate_features,
    read_region_candidates,
)

SIZE = 64


def _rle(mask):
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")}


def _rect(x0, y0, x1, y1, size=SIZE):
    mask = np.zeros((size, size), bool)
    mask[y0:y1, x0:x1] = True
    return mask


def _entry(mask, score=0.5, image_id=1, category_id=1):
    return {"image_id": image_id, "category_id": category_id, "score": score,
            "segmentation": _rle(mask), "bbox": [0, 0, 1, 1]}  # fmt: skip


def test_candidate_box_is_the_mask_extent_in_pixel_edges():
    np.testing.assert_array_equal(candidate_box(_rect(10, 20, 30, 25)), [10, 20, 30, 25])
    np.testing.assert_allclose(candidate_expanded_box(_rect(10, 20, 30, 40), 0.1), [8, 18, 32, 42])


def test_features_of_a_mask_covering_the_left_half_of_the_box():
    mask = _rect(0, 0, 20, 40)
    inside, coarse = candidate_features(mask, [0, 0, 40, 40], output_size=8)
    expected = np.zeros((8, 8, 1), np.float32)
    expected[:, :4] = 1
    np.testing.assert_array_equal(inside, expected)
    grid = coarse.reshape(10, 10)
    np.testing.assert_allclose(grid[:, :5], 1.0)
    np.testing.assert_allclose(grid[:, 5:], 0.0)


def test_coarse_cells_hold_the_covered_fraction():
    # The mask covers the top quarter rows of a 40-pixel box: 1 row of 10 coarse rows
    # (4 pixels each) fully, nothing else.
    _, coarse = candidate_features(_rect(0, 0, 40, 4), [0, 0, 40, 40], output_size=8)
    grid = coarse.reshape(10, 10)
    np.testing.assert_allclose(grid[0], 1.0)
    np.testing.assert_allclose(grid[1:], 0.0, atol=1e-6)
    # Half a coarse cell (2 of its 4 pixel rows) is 0.5.
    _, coarse = candidate_features(_rect(0, 0, 40, 2), [0, 0, 40, 40], output_size=8)
    np.testing.assert_allclose(coarse.reshape(10, 10)[0], 0.5, atol=1e-6)


@pytest.fixture
def coco():
    mask = _rect(10, 10, 40, 40)
    gt = {
        "images": [{"id": 1, "file_name": "a.png", "width": SIZE, "height": SIZE}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0,
                         "bbox": [10, 10, 30, 30], "area": 900, "segmentation": _rle(mask)}],
        "categories": [{"id": 1, "name": "box"}, {"id": 2, "name": "disc"}],
    }  # fmt: skip
    return load_ground_truth(gt)


def test_reader_groups_by_image_and_counts_empty_masks(coco):
    entries = [_entry(_rect(10, 10, 30, 30)), _entry(_rect(0, 0, 0, 0)), _entry(_rect(5, 5, 9, 9))]
    grouped, empty = read_region_candidates(entries, coco)
    assert empty == 1
    assert [e["score"] for e, _ in grouped[1]] == [0.5, 0.5]
    assert grouped[1][1][1].sum() == 16


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (_entry(_rect(1, 1, 5, 5), score=float("nan")), "score"),
        (_entry(_rect(1, 1, 5, 5), score=-0.1), r"entry 0 has score -0.1"),
        (_entry(_rect(1, 1, 5, 5, size=32)), "does not match image 1"),
        (_entry(_rect(1, 1, 5, 5), image_id=9), "image_id 9"),
        (_entry(_rect(1, 1, 5, 5), category_id=7), "category_id 7"),
        ({"image_id": 1, "category_id": 1, "score": 0.5}, "segmentation"),
    ],
)
def test_bad_candidates_are_errors_naming_the_entry(coco, entry, message):
    with pytest.raises(ValueError, match=message):
        read_region_candidates([entry], coco)


def test_an_empty_candidates_file_is_an_error_naming_it(coco, tmp_path):
    path = tmp_path / "cands.json"
    path.write_text("[]")
    with pytest.raises(ValueError, match=f"region candidates {path}.*empty"):
        read_region_candidates(path, coco)
