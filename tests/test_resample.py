import tracemalloc

import numpy as np
import pytest

from hckeras.resample import box_pixels, crop_and_resize, paste_heatmap


def test_crop_of_whole_image_at_its_size_is_identity():
    image = np.random.default_rng(0).uniform(0, 255, (7, 9, 3))
    np.testing.assert_allclose(crop_and_resize(image, [0, 0, 9, 7], (7, 9)), image, atol=1e-4)


def test_crop_downsample_by_two_averages_pixel_pairs():
    image = np.arange(16, dtype=np.float32).reshape(4, 4)
    # Cell centres fall between pixels 0|1 and 2|3 in each direction.
    expected = [[(0 + 1 + 4 + 5) / 4, (2 + 3 + 6 + 7) / 4], [(8 + 9 + 12 + 13) / 4, 12.5]]
    np.testing.assert_allclose(crop_and_resize(image, [0, 0, 4, 4], (2, 2)), expected)


def test_crop_outside_image_is_fill_and_border_blends_half_a_pixel():
    image = np.full((4, 4), 10.0)
    out = crop_and_resize(image, [-4, 0, 4, 4], (4, 8), fill=2.0)
    np.testing.assert_allclose(out[:, :4], 2.0)
    np.testing.assert_allclose(out[:, 4:], 10.0)
    # Half a pixel to the left of the first pixel centre: half fill, half image.
    np.testing.assert_allclose(crop_and_resize(image, [-0.5, 0, 0.5, 1], (1, 1), fill=2.0), [[6.0]])


def test_paste_hand_computed_and_zero_outside_box():
    heatmap = np.array([[0.0, 1.0], [2.0, 3.0]], dtype=np.float32)
    out = paste_heatmap(heatmap, [1, 1, 5, 5], (6, 7))
    # Pixel centres 1.5..4.5 map to grid coordinates -0.25, 0.25, 0.75, 1.25, clamped.
    row = np.array([0.0, 0.25, 0.75, 1.0])
    np.testing.assert_allclose(out[1:5, 1:5], 2 * row[:, None] + row[None, :])
    assert out[0].sum() == 0 and out[5].sum() == 0 and out[:, 0].sum() == 0
    assert out[:, 5:].sum() == 0


def test_paste_undoes_crop_at_the_same_resolution():
    image = np.random.default_rng(1).uniform(0, 1, (12, 10, 2)).astype(np.float32)
    box = [2, 3, 8, 11]
    crop = crop_and_resize(image, box, (8, 6))
    pasted = paste_heatmap(crop, box, image.shape[:2])
    np.testing.assert_allclose(pasted[3:11, 2:8], image[3:11, 2:8], atol=1e-6)


def test_paste_clips_box_partly_outside_image():
    out = paste_heatmap(np.ones((5, 5)), [-10.0, -3.0, 4.0, 2.0], (6, 6))
    assert out.shape == (6, 6)
    assert out[:2, :4].min() == 1.0 and out[2:].sum() == 0 and out[:, 4:].sum() == 0


def _bilinear_reference(image, box, size, fill):
    """Per-sample float64 bilinear interpolation, pixel by pixel (the test oracle)."""
    height, width = size
    x0, y0, x1, y1 = box
    out = np.zeros((height, width, image.shape[2]))

    def pixel(r, c):
        inside = 0 <= r < image.shape[0] and 0 <= c < image.shape[1]
        return image[r, c].astype(np.float64) if inside else np.full(image.shape[2], fill)

    for v in range(height):
        y = y0 + (v + 0.5) * (y1 - y0) / height - 0.5
        for u in range(width):
            x = x0 + (u + 0.5) * (x1 - x0) / width - 0.5
            r, c = int(np.floor(y)), int(np.floor(x))
            fy, fx = y - r, x - c
            out[v, u] = (
                pixel(r, c) * (1 - fy) * (1 - fx)
                + pixel(r, c + 1) * (1 - fy) * fx
                + pixel(r + 1, c) * fy * (1 - fx)
                + pixel(r + 1, c + 1) * fy * fx
            )
    return out


def test_crop_matches_pixel_by_pixel_bilinear_for_random_boxes():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    for _ in range(100):
        corner = rng.uniform(-30, 70, 2)
        box = [*corner, *(corner + rng.uniform(0.5, 60, 2))]
        grid = tuple(int(v) for v in rng.integers(1, 12, 2))
        np.testing.assert_allclose(
            crop_and_resize(image, box, grid, fill=7.0),
            _bilinear_reference(image, box, grid, 7.0),
            atol=1e-3,
        )


def test_crop_does_not_copy_a_large_image():
    image = np.zeros((8000, 8000, 3), np.uint8)
    image[4000:4100, 4000:4100] = 255
    tracemalloc.start()
    crop = crop_and_resize(image, [3950, 3950, 4150, 4150], (50, 50))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 10 * 2**20
    assert crop[25, 25, 0] == 255 and crop[0, 0, 0] == 0


def test_paste_into_a_window_is_the_image_sized_paste_there():
    rng = np.random.default_rng(0)
    heatmap = rng.uniform(size=(5, 5, 2)).astype(np.float32)
    for box in ([1.3, 0.7, 6.2, 4.9], [-3.0, 2.0, 4.5, 9.0], [7.5, 5.5, 12.0, 8.0]):
        full = paste_heatmap(heatmap, box, (6, 7))
        for window in [box_pixels(box, (6, 7)), (0, 0, 7, 6), (2, 1, 5, 6), (3, 3, 3, 3)]:
            x0, y0, x1, y1 = window
            np.testing.assert_array_equal(
                paste_heatmap(heatmap, box, (6, 7), window=window), full[y0:y1, x0:x1]
            )
        x0, y0, x1, y1 = box_pixels(box, (6, 7))
        outside = np.ones((6, 7), bool)
        outside[y0:y1, x0:x1] = False
        assert not full[outside].any()
    assert box_pixels([1.4, 0.6, 3.6, 2.4], (8, 10)) == (1, 1, 4, 2)
    assert box_pixels([20.0, 1.0, 30.0, 3.0], (8, 10)) == (10, 1, 10, 3)
    with pytest.raises(ValueError, match="not a pixel rectangle"):
        paste_heatmap(heatmap, [0, 0, 2, 2], (6, 7), window=(0, 0, 8, 6))
