import numpy as np

from hckeras.inference.superpixels import (
    WindowAverager,
    average_over_segments,
    project_to_superpixels,
    slic_superpixels,
)


def _blocky_image():
    rng = np.random.default_rng(0)
    blocks = rng.integers(0, 256, size=(4, 5, 3), dtype=np.uint8)
    return np.repeat(np.repeat(blocks, 12, axis=0), 10, axis=1)  # 48 x 50


def test_map_constant_on_each_superpixel_is_unchanged():
    image = _blocky_image()
    segments = slic_superpixels(image, n_segments=20, compactness=10)
    assert segments.shape == image.shape[:2] and segments.min() == 0
    values = np.random.default_rng(1).uniform(size=segments.max() + 1)
    probability = values[segments].astype(np.float32)
    projected = project_to_superpixels(image, probability, n_segments=20, compactness=10)
    np.testing.assert_allclose(projected, probability, rtol=1e-6)


def test_average_over_segments_hand_example_and_channels():
    segments = np.array([[0, 0, 1], [1, 1, 1]])
    probability = np.array([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]])
    np.testing.assert_allclose(
        average_over_segments(probability, segments), [[0.5, 0.5, 3.5], [3.5, 3.5, 3.5]]
    )
    stacked = np.stack([probability, 2 * probability], axis=-1)
    out = average_over_segments(stacked, segments)
    assert out.shape == (2, 3, 2) and out.dtype == np.float32
    np.testing.assert_allclose(out[..., 1], 2 * out[..., 0])


def test_window_averager_equals_the_image_sized_average_and_grows_the_window():
    segments = np.array([[0, 0, 1, 1], [2, 2, 1, 1], [2, 2, 3, 3]])
    averager = WindowAverager(segments)
    values = np.array([[0.0, 0.4], [0.8, 0.0]])  # over window x 1..3, y 0..2
    window, averaged = averager(values, (1, 0, 3, 2))
    image_sized = np.zeros((3, 4))
    image_sized[0:2, 1:3] = values
    expected = average_over_segments(image_sized, segments)
    # Segments 1 and 2 get values (0 and 3 do not); with the window they span the image.
    assert window == (0, 0, 4, 3)
    np.testing.assert_array_equal(averaged, expected)
    window, averaged = averager(np.zeros((1, 1, 2)), (3, 2, 4, 3))
    assert window == (3, 2, 4, 3) and averaged.shape == (1, 1, 2) and not averaged.any()
    window, averaged = averager(np.zeros((0, 2)), (1, 3, 3, 3))
    assert window == (1, 3, 3, 3) and averaged.shape == (0, 2)
