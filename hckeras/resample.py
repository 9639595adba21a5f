"""Bilinear sampling between image pixels and box-aligned grids.

One sampling rule, shared by training crops, inference crops, heatmap paste-back
and the Android core (android_demo/core), so a pixel means the same thing
everywhere. In continuous coordinates (pixel `c` covers `[c, c + 1)`), output
cell `u` of an `n`-cell grid over `[x0, x1)` has its centre at
`x0 + (u + 0.5) * (x1 - x0) / n`; the sample is the bilinear interpolation of the
four pixels around that point, pixels whose centres are at `c + 0.5`.

- `crop_and_resize`: image -> box grid. Neighbours outside the image count as
  `fill` (so a box partly outside the image fades to `fill` over half a pixel,
  as OpenCV's BORDER_CONSTANT does, but with exact rather than 1/32-quantised
  weights).
- `paste_heatmap`: box grid -> image. Every image pixel whose centre lies inside
  the box takes the bilinear sample of the grid at that point, with the grid's
  edge cells extended (clamped); pixels outside the box are 0.
"""

import math

import numpy as np


def _sample_positions(start, stop, count):
    """Centres of `count` equal cells over `[start, stop)`, in pixel-index units."""
    step = (stop - start) / count
    return start + (np.arange(count) + 0.5) * step - 0.5


def _neighbours(positions, size):
    """Integer neighbours and weights for 1-D linear interpolation.

    Returns `(low, high, weight_high)`; neighbours outside `[0, size)` map to the
    index `size` (a padding slot the caller fills).
    """
    low = np.floor(positions)
    weight_high = positions - low
    low = low.astype(np.int64)
    high = low + 1
    low = np.where((low < 0) | (low >= size), size, low)
    high = np.where((high < 0) | (high >= size), size, high)
    return low, high, weight_high


def sampled_window(image, box):
    """The pixels of `image` that `crop_and_resize`'s samples over `box` can read.

    Returns `(window, shifted_box)`: resampling `window` over `shifted_box`
    equals resampling `image` over `box`. Samples lie in `[x0 - 0.5, x1 - 0.5]`
    (pixel-index units) and each reads its floor and floor + 1.
    """
    x0, y0, x1, y1 = (float(v) for v in box)
    image_h, image_w = image.shape[:2]
    col0 = min(max(math.floor(x0 - 0.5), 0), image_w)
    col1 = max(min(math.floor(x1 - 0.5) + 2, image_w), col0)
    row0 = min(max(math.floor(y0 - 0.5), 0), image_h)
    row1 = max(min(math.floor(y1 - 0.5) + 2, image_h), row0)
    return image[row0:row1, col0:col1], (x0 - col0, y0 - row0, x1 - col0, y1 - row0)


def crop_and_resize(image, box, size, fill=0.0):
    """Crop the xyxy `box` out of `image` and resample it to `size`.

    Only the window of pixels the samples reach is read and converted, so the
    cost depends on the box and the output size, not on the image (an
    8000 x 8000 image is never copied).

    Args:
        image: `(H, W, C)` or `(H, W)` array (any real dtype).
        box: `[x0, y0, x1, y1]`, may extend beyond the image.
        size: `(height, width)` of the output grid.
        fill: value of the pixels outside the image.

    Returns:
        float32 array `(height, width, C)` (or `(height, width)`).
    """
    image = np.asarray(image)
    squeeze = image.ndim == 2
    if squeeze:
        image = image[..., None]
    height, width = int(size[0]), int(size[1])
    window, (x0, y0, x1, y1) = sampled_window(image, box)
    rows_low, rows_high, wy = _neighbours(_sample_positions(y0, y1, height), window.shape[0])
    cols_low, cols_high, wx = _neighbours(_sample_positions(x0, x1, width), window.shape[1])
    padded = np.full(
        (window.shape[0] + 1, window.shape[1] + 1, window.shape[2]), fill, dtype=np.float32
    )
    padded[:-1, :-1] = window
    wy = wy.astype(np.float32)[:, None, None]
    wx = wx.astype(np.float32)[None, :, None]
    top = padded[rows_low][:, cols_low] * (1 - wx) + padded[rows_low][:, cols_high] * wx
    bottom = padded[rows_high][:, cols_low] * (1 - wx) + padded[rows_high][:, cols_high] * wx
    out = top * (1 - wy) + bottom * wy
    return out[..., 0] if squeeze else out


def _pixel_span(start, stop, limit):
    """`(first, last)`: pixels `first <= c < last` of `[0, limit)` have their centre
    `c + 0.5` in `[start, stop)`."""
    first = min(max(int(np.ceil(start - 0.5)), 0), limit)
    last = max(min(int(np.ceil(stop - 0.5)), limit), first)
    return first, last


def box_pixels(box, image_size):
    """The pixels `paste_heatmap` writes for the xyxy `box`: those whose centre lies in it.

    Returns:
        int `(x0, y0, x1, y1)`, the columns `x0 <= c < x1` and rows `y0 <= r < y1`
        (empty, `x0 == x1` or `y0 == y1`, for a box that misses the image).

    >>> box_pixels([1.4, 0.6, 3.6, 2.4], (8, 10))
    (1, 1, 4, 2)
    """
    x0, y0, x1, y1 = (float(v) for v in box)
    col0, col1 = _pixel_span(x0, x1, int(image_size[1]))
    row0, row1 = _pixel_span(y0, y1, int(image_size[0]))
    return col0, row0, col1, row1


def check_window(window, image_size, where="window"):
    """`window` as int `(x0, y0, x1, y1)` with `0 <= x0 <= x1 <= width` and
    `0 <= y0 <= y1 <= height`, or raise naming `where`."""
    height, width = int(image_size[0]), int(image_size[1])
    try:
        x0, y0, x1, y1 = (int(v) for v in window)
    except (TypeError, ValueError):
        raise ValueError(f"{where} must be 4 integers (x0, y0, x1, y1), got {window!r}") from None
    if not (0 <= x0 <= x1 <= width and 0 <= y0 <= y1 <= height):
        raise ValueError(
            f"{where} {(x0, y0, x1, y1)} is not a pixel rectangle of a {height} x {width} image"
        )
    return x0, y0, x1, y1


def paste_heatmap(heatmap, box, image_size, window=None):
    """Resize a box-aligned heatmap to its box and paste it into an empty image.

    Args:
        heatmap: `(S, S)` or `(S, S, C)` grid over the xyxy `box`.
        box: `[x0, y0, x1, y1]` (the expanded box the heatmap was predicted on).
        image_size: `(height, width)` of the image.
        window: optional int `(x0, y0, x1, y1)` pixel rectangle of the image:
            return only those pixels (the same values as the image-sized
            result's, bit for bit), so that a box's paste costs its own size
            rather than the image's. `box_pixels(box, image_size)` holds every
            non-zero pixel.

    Returns:
        float32 `(height, width)` or `(height, width, C)` (the window's height
        and width when given), zero outside the box.
    """
    heatmap = np.asarray(heatmap, dtype=np.float32)
    squeeze = heatmap.ndim == 2
    if squeeze:
        heatmap = heatmap[..., None]
    grid_h, grid_w = heatmap.shape[:2]
    height, width = int(image_size[0]), int(image_size[1])
    win_x0, win_y0, win_x1, win_y1 = (
        (0, 0, width, height) if window is None else check_window(window, image_size)
    )
    x0, y0, x1, y1 = (float(v) for v in box)
    out = np.zeros((win_y1 - win_y0, win_x1 - win_x0, heatmap.shape[2]), dtype=np.float32)
    rows = np.arange(*_pixel_span(y0, y1, height))
    cols = np.arange(*_pixel_span(x0, x1, width))
    rows = rows[(rows >= win_y0) & (rows < win_y1)]
    cols = cols[(cols >= win_x0) & (cols < win_x1)]
    if rows.size and cols.size:
        ys = np.clip((rows + 0.5 - y0) * grid_h / (y1 - y0) - 0.5, 0, grid_h - 1)
        xs = np.clip((cols + 0.5 - x0) * grid_w / (x1 - x0) - 0.5, 0, grid_w - 1)
        ry0 = np.floor(ys).astype(np.int64)
        cx0 = np.floor(xs).astype(np.int64)
        ry1 = np.minimum(ry0 + 1, grid_h - 1)
        cx1 = np.minimum(cx0 + 1, grid_w - 1)
        wy = (ys - ry0).astype(np.float32)[:, None, None]
        wx = (xs - cx0).astype(np.float32)[None, :, None]
        top = heatmap[ry0][:, cx0] * (1 - wx) + heatmap[ry0][:, cx1] * wx
        bottom = heatmap[ry1][:, cx0] * (1 - wx) + heatmap[ry1][:, cx1] * wx
        out[rows[0] - win_y0 : rows[-1] + 1 - win_y0, cols[0] - win_x0 : cols[-1] + 1 - win_x0] = (
            top * (1 - wy) + bottom * wy
        )
    return out[..., 0] if squeeze else out
