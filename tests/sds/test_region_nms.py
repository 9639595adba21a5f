"""Tests of `hckeras.sds.region_nms`."""

import numpy as np
import pytest

from hckeras.inference.paste import to_image
from hckeras.metrics.overlaps import mask_ious
from hckeras.sds.region_nms import region_ious, region_nms


def _masks():
    full = np.ones((4, 4), bool)
    top = np.zeros((4, 4), bool)
    top[:2] = True
    return [full, full.copy(), top, full.copy()], [
        (0, 0, 4, 4),
        (2, 0, 6, 4),
        (0, 0, 4, 4),
        (10, 10, 14, 14),
    ]


def test_hand_computed_ious():
    masks, windows = _masks()
    ious = region_ious(masks, windows)
    # 0 and 1 share 2 columns (8 px) of 16 + 16; the top half (8 px) lies inside 0 and
    # half inside 1 (4 px, union 16 + 8 - 4 = 20); 3 is far away.
    expected = np.array(
        [[1, 8 / 24, 0.5, 0], [8 / 24, 1, 4 / 20, 0], [0.5, 4 / 20, 1, 0], [0, 0, 0, 1]]
    )
    np.testing.assert_allclose(ious, expected)


def test_hand_computed_suppression():
    masks, windows = _masks()
    # 0 suppresses 1 (1/3 >= 0.3) and 2 (0.5); 3 overlaps nothing.
    assert region_nms(masks, windows, [0.9, 0.8, 0.7, 0.1], [1, 1, 1, 1]) == [0, 3]
    # At 0.4 only 2 goes; with 1 first, it suppresses 0, and 2 (0.2) survives.
    assert region_nms(masks, windows, [0.9, 0.8, 0.7, 0.1], [1, 1, 1, 1], 0.4) == [0, 1, 3]
    assert region_nms(masks, windows, [0.8, 0.9, 0.7, 0.1], [1, 1, 1, 1]) == [1, 2, 3]
    # Other categories do not suppress each other.
    assert region_nms(masks, windows, [0.9, 0.8, 0.7, 0.1], [1, 2, 3, 1]) == [0, 1, 2, 3]
    assert region_nms([], [], [], []) == []


def test_ious_equal_image_sized_mask_ious():
    rng = np.random.default_rng(1)
    masks, windows = [], []
    for _ in range(6):
        x0, y0 = rng.integers(0, 20, 2)
        w, h = rng.integers(1, 15, 2)
        masks.append(rng.random((h, w)) < 0.6)
        windows.append((x0, y0, x0 + w, y0 + h))
    full = np.stack([to_image(m, w, (40, 40)) for m, w in zip(masks, windows, strict=True)])
    expected = mask_ious(full, full, np.zeros(len(full), bool))
    np.testing.assert_allclose(region_ious(masks, windows), expected)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match=r"masks\[0\] has shape \(2, 2\)"):
        region_ious([np.ones((2, 2), bool)], [(0, 0, 3, 2)])
    with pytest.raises(ValueError, match="finite"):
        region_nms([np.ones((1, 1), bool)], [(0, 0, 1, 1)], [np.nan], [1])
