"""Mask paste-back: an S x S figure-ground heatmap -> a probability and mask in image pixels.

The heatmap is predicted on the expanded box; it is resized to that box and
pasted into an empty image (paper section 3, "resize to the size of the expanded
bounding box and splat onto the image") with `hckeras.resample.paste_heatmap`,
the sampling rule the Android core shares. Pixels outside the expanded box, or
outside the image, are 0.

A detection's maps are kept box-local: only a *window*, an int `(x0, y0, x1, y1)`
pixel rectangle of the image (columns `x0 <= c < x1`, rows `y0 <= r < y1`), is
stored; every pixel outside it is 0 (probability), False (mask) or 0 (part
label). `to_image` pastes a window-sized array back into an image-sized one.
"""

import numpy as np

from hckeras.resample import box_pixels, check_window, paste_heatmap


def mask_window(expanded_box, image_size, threshold=0.5):
    """The window that holds a pasted mask: the expanded box's pixels
    (`resample.box_pixels`), or the whole image when `threshold <= 0` (a
    probability of 0 is then in the mask)."""
    if threshold <= 0:
        return 0, 0, int(image_size[1]), int(image_size[0])
    return box_pixels(expanded_box, image_size)


def paste_mask(heatmap, expanded_box, image_size, threshold=0.5, window=None):
    """Paste one `(S, S)` heatmap predicted on the xyxy `expanded_box`.

    Args:
        heatmap: `(S, S)` probabilities.
        expanded_box: `[x0, y0, x1, y1]`, may extend beyond the image.
        image_size: `(height, width)`.
        threshold: a pixel is in the mask when its probability is >= this.
        window: optional int `(x0, y0, x1, y1)` pixel rectangle: return only its
            pixels (the image-sized result's values there, bit for bit);
            `mask_window` gives one outside which the mask is all False.

    Returns:
        `(probability, mask)`: float32 `(height, width)` and bool `(height, width)`,
        or the window's size.

    >>> probability, mask = paste_mask(np.ones((2, 2)), [1, 1, 3, 4], (5, 5))
    >>> mask.sum()
    np.int64(6)
    >>> paste_mask(np.ones((2, 2)), [1, 1, 3, 4], (5, 5), window=(1, 1, 3, 4))[1].shape
    (3, 2)
    """
    heatmap = np.asarray(heatmap, dtype=np.float32)
    if heatmap.ndim != 2:
        raise ValueError(f"heatmap must be (S, S), got shape {heatmap.shape}")
    probability = paste_heatmap(heatmap, expanded_box, image_size, window=window)
    return probability, probability >= threshold


def paste_masks(heatmaps, expanded_boxes, image_size, threshold=0.5):
    """Paste `N` heatmaps: `(N, S, S)` and `(N, 4)` xyxy boxes ->
    float32 `(N, height, width)` probabilities and bool `(N, height, width)` masks."""
    heatmaps = np.asarray(heatmaps, dtype=np.float32)
    expanded_boxes = np.asarray(expanded_boxes, dtype=np.float64).reshape(-1, 4)
    if heatmaps.ndim != 3 or len(heatmaps) != len(expanded_boxes):
        raise ValueError(
            f"expected (N, S, S) heatmaps and (N, 4) boxes, got {heatmaps.shape} "
            f"and {expanded_boxes.shape}"
        )
    height, width = int(image_size[0]), int(image_size[1])
    probabilities = np.zeros((len(heatmaps), height, width), dtype=np.float32)
    for i, (heatmap, box) in enumerate(zip(heatmaps, expanded_boxes, strict=True)):
        probabilities[i] = paste_heatmap(heatmap, box, (height, width))
    return probabilities, probabilities >= threshold


def to_window(values, window, target):
    """Re-frame `values` (`(h, w, ...)` over the int xyxy `window`) onto the `target`
    window: the overlap is copied, the rest of `target` is 0 (False for bool).

    >>> to_window(np.ones((1, 2), bool), (1, 0, 3, 1), (0, 0, 2, 2)).astype(int).tolist()
    [[0, 1], [0, 0]]
    """
    values = np.asarray(values)
    x0, y0, x1, y1 = (int(v) for v in window)
    tx0, ty0, tx1, ty1 = (int(v) for v in target)
    if values.shape[:2] != (y1 - y0, x1 - x0):
        raise ValueError(f"values of shape {values.shape} do not fit window {(x0, y0, x1, y1)}")
    out = np.zeros((ty1 - ty0, tx1 - tx0, *values.shape[2:]), dtype=values.dtype)
    ox0, oy0, ox1, oy1 = max(x0, tx0), max(y0, ty0), min(x1, tx1), min(y1, ty1)
    if ox0 < ox1 and oy0 < oy1:
        out[oy0 - ty0 : oy1 - ty0, ox0 - tx0 : ox1 - tx0] = values[
            oy0 - y0 : oy1 - y0, ox0 - x0 : ox1 - x0
        ]
    return out


def to_image(values, window, image_size):
    """Paste window-sized `values` into an image-sized array of zeros (False for bool).

    >>> to_image(np.ones((1, 2), bool), (1, 0, 3, 1), (2, 3)).astype(int).tolist()
    [[0, 1, 1], [0, 0, 0]]
    """
    height, width = int(image_size[0]), int(image_size[1])
    window = check_window(window, image_size)
    return to_window(values, window, (0, 0, width, height))


def full_image(result, key="mask"):
    """A `Predictor` result's window-sized `key` map (`"mask"`, `"probability"`,
    `"part_labels"`) as an image-sized array, for code that wants whole-image
    maps (it costs an image's worth of memory per call)."""
    return to_image(result[key], result["window"], result["image_size"])
