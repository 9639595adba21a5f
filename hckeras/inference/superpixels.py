"""Superpixel projection: replace a probability map by its mean over each superpixel.

"As a last step, we project our predictions to superpixels by averaging the
prediction over each superpixel" (paper section 4). Superpixels are SLIC's
(scikit-image), computed once per image and reused for every detection.
`WindowAverager` does the same for box-local maps (`hckeras.inference.paste`)
without building an image-sized map per detection.
"""

import numpy as np

DEFAULT_SEGMENTS = 1000
DEFAULT_COMPACTNESS = 10.0


def slic_superpixels(image, n_segments=DEFAULT_SEGMENTS, compactness=DEFAULT_COMPACTNESS):
    """SLIC superpixels of an `(H, W, 3)` RGB image -> int `(H, W)` labels from 0."""
    from skimage.segmentation import slic

    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"image must be (H, W, 3) RGB, got shape {image.shape}")
    return slic(
        image, n_segments=n_segments, compactness=compactness, start_label=0, channel_axis=-1
    )


def average_over_segments(probability_map, segments):
    """Mean of `(H, W)` or `(H, W, C)` `probability_map` over each label of `segments`
    (int `(H, W)`, labels >= 0), broadcast back to every pixel. float32, same shape."""
    probability_map = np.asarray(probability_map, dtype=np.float64)
    segments = np.asarray(segments)
    if segments.shape != probability_map.shape[:2]:
        raise ValueError(
            f"segments {segments.shape} and probability map {probability_map.shape} "
            "must cover the same pixels"
        )
    flat_segments = segments.reshape(-1)
    values = probability_map.reshape(flat_segments.size, -1)
    counts = np.bincount(flat_segments)
    means = (
        np.stack([np.bincount(flat_segments, weights=channel) for channel in values.T], axis=-1)
        / np.maximum(counts, 1)[:, None]
    )
    return means[segments].reshape(probability_map.shape).astype(np.float32)


class WindowAverager:
    """`average_over_segments` for maps kept over a window of the image.

    Built once per image from its superpixel labels (int `(H, W)`, labels >= 0);
    `averager(values, window)` takes `(h, w)` or `(h, w, C)` values over the int
    xyxy `window` (0 outside it) and returns `(window, averaged)`: the window
    grown to the bounding boxes of the superpixels that get a non-zero mean, and
    the averaged values over it, float32, equal bit for bit to
    `average_over_segments` of the image-sized map there (0 outside it).
    """

    def __init__(self, segments):
        from scipy.ndimage import find_objects

        self.segments = np.asarray(segments)
        if self.segments.ndim != 2 or self.segments.size == 0 or self.segments.min() < 0:
            raise ValueError(
                f"segments must be non-empty (H, W) labels >= 0, got shape {self.segments.shape}"
            )
        self.counts = np.bincount(self.segments.reshape(-1))
        boxes = np.zeros((len(self.counts), 4), dtype=np.int64)
        for label, found in enumerate(find_objects(self.segments + 1)):
            if found is not None:
                rows, cols = found
                boxes[label] = (cols.start, rows.start, cols.stop, rows.stop)
        self.boxes = boxes

    def __call__(self, values, window):
        values = np.asarray(values, dtype=np.float64)
        x0, y0, x1, y1 = (int(v) for v in window)
        labels = self.segments[y0:y1, x0:x1].reshape(-1)
        if values.shape[:2] != (y1 - y0, x1 - x0):
            raise ValueError(f"values of shape {values.shape} do not fit window {window}")
        flat = values.reshape(labels.size, int(np.prod(values.shape[2:], dtype=np.int64)))
        sums = np.stack(
            [np.bincount(labels, weights=c, minlength=len(self.counts)) for c in flat.T], axis=-1
        )
        means = sums / np.maximum(self.counts, 1)[:, None]
        reached = self.boxes[np.any(sums != 0, axis=1)]
        if len(reached):
            x0, y0 = min(x0, int(reached[:, 0].min())), min(y0, int(reached[:, 1].min()))
            x1, y1 = max(x1, int(reached[:, 2].max())), max(y1, int(reached[:, 3].max()))
        averaged = means[self.segments[y0:y1, x0:x1]].astype(np.float32)
        return (x0, y0, x1, y1), averaged.reshape(y1 - y0, x1 - x0, *values.shape[2:])


def project_to_superpixels(
    image, probability_map, n_segments=DEFAULT_SEGMENTS, compactness=DEFAULT_COMPACTNESS
):
    """Average `probability_map` (`(H, W)` or `(H, W, C)`) over the SLIC superpixels
    of `image` (`(H, W, 3)`). Returns float32 of the map's shape."""
    return average_over_segments(
        probability_map, slic_superpixels(image, n_segments=n_segments, compactness=compactness)
    )
