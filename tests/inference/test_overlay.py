import cv2
import numpy as np
import pytest

from hckeras.inference.overlay import (
    INSTANCE_COLORS,
    PART_COLORS,
    draw_overlay,
    save_png,
    side_by_side,
)


def test_overlay_tints_masks_and_parts_and_draws_keypoints(categories):
    # Box labels are drawn above each box; the checked pixels avoid them.
    image = np.zeros((100, 80, 3), np.uint8)
    mask = np.zeros((100, 80), bool)
    mask[80:95, 5:25] = True
    labels = np.zeros((100, 80), np.int32)
    labels[5:20, 50:70] = 1
    labels[20:28, 50:70] = 2
    predictions = [
        {"box": [5, 80, 25, 95], "category_id": 1, "score": 0.9, "mask": mask},
        {
            "box": [50, 5, 70, 28],
            "category_id": 2,
            "score": 0.5,
            "part_labels": labels,
            "mask": labels > 0,
        },
        {
            "box": [40, 80, 75, 98],
            "category_id": 1,
            "score": 0.8,
            "keypoints": np.array([[45.5, 85.5, 0.9], [60.5, 90.5, 0.8], [70.5, 95.5, 0.0]]),
        },
    ]
    out = draw_overlay(image, predictions, categories, alpha=0.5)
    assert out.shape == image.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out[88, 15], np.round(np.array(INSTANCE_COLORS[0]) / 2))
    np.testing.assert_array_equal(out[16, 60], np.round(np.array(PART_COLORS[0]) / 2))
    np.testing.assert_array_equal(out[25, 60], np.round(np.array(PART_COLORS[1]) / 2))
    assert (out[85, 45] == 255).all()  # keypoint dot centre at pixel (45, 85)
    assert out[88, 53].any()  # on the skeleton line from keypoint 1 to keypoint 2
    untouched = draw_overlay(image, predictions, categories, keypoint_threshold=0.95)
    assert not untouched[85, 45].any()
    assert not out[0:3, 0:3].any()


def test_overlay_survives_boxes_far_outside_the_image():
    image = np.zeros((10, 10, 3), np.uint8)
    out = draw_overlay(image, [{"box": [-1e12, 5, 1e12, 8], "category_id": 3, "score": 1.0}])
    assert out.shape == (10, 10, 3)


def test_side_by_side_pads_and_converts(tmp_path):
    rgb = np.full((20, 30, 3), 200, np.uint8)
    probability = np.linspace(0, 1, 10 * 12).reshape(10, 12)
    mask = np.eye(15, dtype=bool)
    figure = side_by_side([rgb, probability, mask], ["image", "p", "mask"], gap=4)
    assert figure.shape == (20 + 20, 30 + 12 + 15 + 8, 3) and figure.dtype == np.uint8
    np.testing.assert_array_equal(figure[20:40, :30], rgb)
    assert figure[20 + 9, 34 + 11].tolist() == [255, 255, 255]  # probability 1.0
    assert figure[20, 34].tolist() == [0, 0, 0]
    with pytest.raises(ValueError, match="2 titles for 3 images"):
        side_by_side([rgb, rgb, rgb], ["a", "b"])
    path = tmp_path / "figs" / "f.png"
    save_png(path, figure)
    np.testing.assert_array_equal(cv2.imread(str(path))[..., ::-1], figure)


def test_in_place_drawing_and_writing_equal_the_copying_ones(tmp_path, categories):
    image = np.random.default_rng(0).integers(0, 256, (30, 40, 3), np.uint8)
    mask = np.zeros((10, 12), bool)
    mask[2:8, 3:9] = True
    predictions = [
        {"box": [5, 5, 17, 15], "category_id": 1, "score": 0.9, "mask": mask},
    ]
    predictions[0].update(window=(5, 5, 17, 15), image_size=(30, 40))
    expected = draw_overlay(image, predictions, categories)
    canvas = image.copy()
    assert draw_overlay(canvas, predictions, categories, in_place=True) is canvas
    np.testing.assert_array_equal(canvas, expected)
    save_png(tmp_path / "copy.png", expected)
    save_png(tmp_path / "in_place.png", canvas, copy=False)
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / "in_place.png"))[..., ::-1], expected)
    np.testing.assert_array_equal(canvas, expected[..., ::-1])  # left in BGR order
    assert (tmp_path / "copy.png").read_bytes() == (tmp_path / "in_place.png").read_bytes()
    with pytest.raises(ValueError, match="writeable C-contiguous uint8"):
        draw_overlay(image.astype(np.float32), predictions, in_place=True)
