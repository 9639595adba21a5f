import json

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from hckeras.data import synthetic, synthetic_candidates
from hckeras.data.synthetic_candidates import (
    PERTURBATIONS,
    perturb_mask,
    simulate_region_candidates,
)
from hckeras.metrics.overlaps import mask_iou

HEIGHT, WIDTH = 120, 160


def _disc_mask(centre=(80, 60), radius=30):
    yy, xx = np.mgrid[:HEIGHT, :WIDTH]
    return (xx - centre[0]) ** 2 + (yy - centre[1]) ** 2 <= radius**2


def test_grow_or_shrink_gives_a_superset_or_a_subset(rng):
    mask = _disc_mask()
    for _ in range(10):
        out = synthetic_candidates.grow_or_shrink(rng, mask, 0.5)
        grown, shrunk = np.all(out >= mask), np.all(out <= mask)
        assert grown != shrunk, "dilation or erosion, never both or neither"


def test_drop_disc_and_attach_blob_only_remove_or_only_add(rng):
    mask = _disc_mask()
    assert np.all(synthetic_candidates.drop_disc(rng, mask, 0.5) <= mask)
    assert np.all(synthetic_candidates.attach_blob(rng, mask, 0.5) >= mask)


def test_blocky_follows_blocks_and_keeps_most_of_a_disc(rng):
    mask = _disc_mask()
    out = synthetic_candidates.blocky(rng, mask, 0.0)
    assert out.shape == mask.shape and out.dtype == bool
    assert 0.75 < mask_iou(out, mask) < 1.0


@pytest.mark.parametrize("perturbation", PERTURBATIONS, ids=lambda f: f.__name__)
def test_perturbations_keep_shape_and_type(rng, perturbation):
    out = perturbation(rng, _disc_mask(), 1.0)
    assert out.shape == (HEIGHT, WIDTH) and out.dtype == bool


def test_perturbed_masks_are_rough_but_recognisable(rng):
    mask = _disc_mask()
    ious = [mask_iou(perturb_mask(rng, mask, s), mask) for s in np.linspace(0, 1, 40)]
    assert 0.5 < np.median(ious) < 0.95
    assert max(ious) < 1.0


def test_mask_iou_by_hand():  # hckeras.metrics.overlaps.mask_iou
    a = np.zeros((2, 4), bool)
    b = np.zeros((2, 4), bool)
    a[:, :2], b[:, 1:3] = True, True
    assert mask_iou(a, b) == pytest.approx(2 / 6)
    assert mask_iou(a & False, b & False) == 0.0


def test_candidates_are_coco_results_with_image_sized_masks():
    rng = np.random.default_rng(3)
    instances = [(1, _disc_mask()), (2, _disc_mask((40, 40), 15))]
    candidates = simulate_region_candidates(rng, 7, instances, HEIGHT, WIDTH, [1, 2, 3])
    assert candidates
    for entry in candidates:
        assert set(entry) == {"image_id", "category_id", "segmentation", "bbox", "score"}
        assert entry["image_id"] == 7 and entry["category_id"] in (1, 2, 3)
        assert 0 < entry["score"] < 1
        decoded = mask_utils.decode(entry["segmentation"])
        assert decoded.shape == (HEIGHT, WIDTH) and decoded.any()
        expected = mask_utils.toBbox(entry["segmentation"])
        np.testing.assert_allclose(entry["bbox"], expected, atol=0.01)


def test_same_generator_state_gives_identical_candidates():
    instances = [(1, _disc_mask())]
    first = simulate_region_candidates(np.random.default_rng(5), 1, instances, HEIGHT, WIDTH, [1])
    again = simulate_region_candidates(np.random.default_rng(5), 1, instances, HEIGHT, WIDTH, [1])
    assert first == again


def test_a_mask_of_another_size_is_an_error_naming_the_image():
    with pytest.raises(ValueError, match="image 4"):
        simulate_region_candidates(
            np.random.default_rng(0), 4, [(1, np.zeros((5, 5), bool))], HEIGHT, WIDTH, [1]
        )


def test_generated_candidates_cover_the_objects_roughly(tmp_path):
    path = synthetic.generate(tmp_path, 12, seed=3)
    data = json.loads(path.read_text())
    candidates = json.loads((tmp_path / "region_candidates.json").read_text())
    masks = {}
    for a in data["annotations"]:
        masks.setdefault((a["image_id"], a["category_id"]), []).append(
            mask_utils.decode(a["segmentation"]).astype(bool)
        )
    best = []
    for entry in candidates:
        mask = mask_utils.decode(entry["segmentation"]).astype(bool)
        same = masks.get((entry["image_id"], entry["category_id"]), [])
        best.append(max((mask_iou(mask, m) for m in same), default=0.0))
    best = np.array(best)
    assert len(candidates) >= len(data["annotations"])
    # Most candidates are a rough version of an object: over 0.5 but mostly under 0.9.
    assert np.mean(best > 0.5) > 0.6
    assert np.mean(best > 0.9) < 0.3
    scores = np.array([entry["score"] for entry in candidates])
    assert np.corrcoef(best, scores)[0, 1] > 0.3, "scores rise with the overlap"
