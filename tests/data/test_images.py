import cv2
import numpy as np
import pytest

from hckeras.data.images import load_image


def test_rgb_png_is_read_in_rgb_order(tmp_path):
    rgb = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255]]], np.uint8)
    cv2.imwrite(str(tmp_path / "rgb.png"), rgb[..., ::-1])
    image = load_image(tmp_path / "rgb.png")
    assert image.dtype == np.uint8
    np.testing.assert_array_equal(image, rgb)


def test_grayscale_becomes_rgb(tmp_path):
    gray = np.array([[0, 7], [128, 255]], np.uint8)
    cv2.imwrite(str(tmp_path / "gray.png"), gray)
    image = load_image(str(tmp_path / "gray.png"))
    assert image.shape == (2, 2, 3)
    np.testing.assert_array_equal(image[1, 0], [128, 128, 128])
    np.testing.assert_array_equal(image[0, 1], [7, 7, 7])


def test_rgba_drops_alpha(tmp_path):
    bgra = np.array([[[10, 20, 30, 0], [40, 50, 60, 255]]], np.uint8)
    cv2.imwrite(str(tmp_path / "rgba.png"), bgra)
    image = load_image(tmp_path / "rgba.png")
    np.testing.assert_array_equal(image, [[[30, 20, 10], [60, 50, 40]]])


def test_16_bit_is_divided_by_257_and_rounded(tmp_path):
    gray = np.array([[0, 128, 129, 257, 385, 386, 65535]], np.uint16)
    cv2.imwrite(str(tmp_path / "gray16.png"), gray)
    image = load_image(tmp_path / "gray16.png")
    np.testing.assert_array_equal(image[..., 0], [[0, 0, 1, 1, 1, 2, 255]])
    bgr = np.array([[[65535, 0, 25700]]], np.uint16)
    cv2.imwrite(str(tmp_path / "rgb16.png"), bgr)
    np.testing.assert_array_equal(load_image(tmp_path / "rgb16.png"), [[[100, 0, 255]]])


def test_missing_file_names_the_path(tmp_path):
    path = tmp_path / "nope.png"
    with pytest.raises(FileNotFoundError, match="nope.png"):
        load_image(path)


def test_unreadable_file_names_the_path(tmp_path):
    path = tmp_path / "broken.png"
    path.write_bytes(b"not an image")
    with pytest.raises(ValueError, match="broken.png"):
        load_image(path)


def test_very_large_image_is_read_at_full_size(tmp_path):
    gray = np.zeros((8000, 8000), np.uint8)
    gray[7999, 7999] = 200
    cv2.imwrite(str(tmp_path / "big.png"), gray)
    image = load_image(tmp_path / "big.png")
    assert image.shape == (8000, 8000, 3)
    np.testing.assert_array_equal(image[7999, 7999], [200, 200, 200])


def test_load_coco_image_checks_the_entrys_size(tmp_path):
    from hckeras.data.images import load_coco_image

    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((4, 6, 3), np.uint8))
    image = load_coco_image(tmp_path, {"id": 3, "file_name": "a.png", "width": 6, "height": 4})
    assert image.shape == (4, 6, 3)
    message = r"a.png is 6x4 but the ground truth says 5x4 \(image id 3"
    with pytest.raises(ValueError, match=message):
        load_coco_image(tmp_path, {"id": 3, "file_name": "a.png", "width": 5, "height": 4})
