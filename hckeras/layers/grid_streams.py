"""Grid streams: eq. 3 evaluated on only the classifiers a pixel uses.

Eq. 3 blends each pixel's probability from at most 2 x 2 of the K x K grid
classifiers, yet the dense head upsamples, squashes and weights all K*K score
maps at every pixel. Split the classifiers into streams by (row mod 3, column
mod 3): the supports of two classifiers in one stream are at least one grid cell
apart, so the coarse source pixels that bilinear upsampling reads for one never
feed the other. Each stream's classifiers can then be stitched into one coarse map
(classifier k's score in k's band of source rows and columns) before upsampling,
and the upsampled stitched map equals, at every pixel a stream classifier covers,
that classifier's dense upsampled score. The head then works on min(K, 3)^2
streams instead of K*K maps (9 instead of 25 for K = 5); the probabilities are the
same up to float rounding.

- `stream_bands`: per axis, the source bands of each stream's classifiers (or
  `ValueError` where a coarse map is too small to separate them).
- `StitchGridStreams`: `(B, h, w, K*K * M)` scores, classifier-major -> `(B, h, w,
  streams * M)` stitched maps, stream-major.
- `stitch_blocks`: the same stitching from any per-classifier blocks
  (`hckeras.export.classifier_blocks` computes each classifier only on its band).
- `GridStreamInterpolation`: sigmoid, the streams' weights, and their sum.

`hckeras.export.grid_stream_model` builds the export graph from them.
"""

import keras
import numpy as np
from keras import ops

from hckeras.layers.grid_weights import _axis_weights, check_grid_arguments

STREAM_STRIDE = 3
"""Classifiers `STREAM_STRIDE` apart along an axis share a stream."""


def stream_count(grid_size):
    """Streams per axis: min(K, 3)."""
    return min(grid_size, STREAM_STRIDE)


def _source_rows(output_size, source_size):
    """`(S, 2)` the two source rows that half-pixel bilinear resizing (TF, LiteRT
    and XNNPACK's `RESIZE_BILINEAR`) reads for each output row, clamped."""
    position = (np.arange(output_size) + 0.5) * source_size / output_size - 0.5
    low = np.floor(position)
    rows = np.stack([low, low + 1], axis=1)
    return np.clip(rows, 0, source_size - 1).astype(np.int64)


def stream_bands(grid_size, output_size, source_size):
    """Source bands of each stream's classifiers along one axis.

    Classifier k (a grid row or column index) covers the output rows where its
    eq. 3 weight is non-zero; upsampling from `source_size` rows reads two source
    rows for each. Within a stream (k mod 3), those source rows must not overlap.

    Args:
        grid_size: K.
        output_size: S, the upsampled side.
        source_size: h, the coarse side of the map before upsampling.

    Returns:
        a list, one entry per stream, of `(k, start, stop)` source bands that
        partition `range(source_size)` in order.

    Raises:
        ValueError: a source row feeds two classifiers of one stream (the map is
            too coarse for this K and S).

    >>> stream_bands(5, 50, 7)[0]
    [(0, 0, 3), (3, 3, 7)]
    """
    grid_size, output_size = check_grid_arguments(grid_size, output_size)
    weights = _axis_weights(grid_size, output_size)
    rows = _source_rows(output_size, source_size)
    streams = []
    for stream in range(stream_count(grid_size)):
        cells = list(range(stream, grid_size, STREAM_STRIDE))
        spans = [rows[weights[:, k] > 0] for k in cells]
        bands, start = [], 0
        for index, k in enumerate(cells):
            stop = source_size
            if index + 1 < len(cells):
                stop = int(spans[index + 1].min())
                if int(spans[index].max()) >= stop:
                    raise ValueError(
                        f"grid streams: a {source_size}-pixel map upsampled to {output_size} "
                        f"feeds grid classifiers {k} and {cells[index + 1]} (K={grid_size}) "
                        "from the same source pixel; too coarse to stitch"
                    )
            bands.append((k, start, stop))
            start = stop
        streams.append(bands)
    return streams


def stream_weights(grid_size, output_size):
    """`(S, S, streams)` eq. 3 weight of each stream's covering classifier at each
    pixel (0 where none covers it); stream `u * min(K, 3) + v` holds the
    classifiers with row mod 3 = u and column mod 3 = v. Sums to 1 over streams."""
    grid_size, output_size = check_grid_arguments(grid_size, output_size)
    axis = _axis_weights(grid_size, output_size)
    count = stream_count(grid_size)
    per_stream = np.stack(
        [axis[:, stream::STREAM_STRIDE].sum(axis=1) for stream in range(count)], axis=1
    )
    weights = per_stream[:, None, :, None] * per_stream[None, :, None, :]
    return weights.reshape(output_size, output_size, count * count).astype(np.float32)


@keras.saving.register_keras_serializable(package="hckeras")
class StitchGridStreams(keras.layers.Layer):
    """Stitch each stream's classifier scores into one coarse map.

    Args:
        grid_size: K.
        output_size: S, the side the stitched maps will be upsampled to.

    Input shape: `(B, h, w, K*K * M)` scores, classifier-major (channel
    `k * M + m` is grid classifier k of map m).
    Output shape: `(B, h, w, streams * M)`, stream-major (channel `s * M + m`),
    streams = min(K, 3)^2.

    Raises:
        ValueError (at build): channels not divisible by K*K, or a map too coarse
            to stitch (`stream_bands`).
    """

    def __init__(self, grid_size, output_size, **kwargs):
        super().__init__(**kwargs)
        self.grid_size, self.output_size = check_grid_arguments(grid_size, output_size)

    def build(self, input_shape):
        _, height, width, channels = input_shape
        cells = self.grid_size * self.grid_size
        if channels % cells:
            raise ValueError(
                f"StitchGridStreams {self.name!r} expects channels divisible by K*K={cells}, "
                f"got {channels}"
            )
        self.num_maps = channels // cells
        self._rows = stream_bands(self.grid_size, self.output_size, int(height))
        self._columns = stream_bands(self.grid_size, self.output_size, int(width))

    def call(self, scores):
        return stitch_streams(scores, self._rows, self._columns, self.grid_size, ops.concatenate)

    def compute_output_shape(self, input_shape):
        count = stream_count(self.grid_size)
        cells = self.grid_size * self.grid_size
        return (*input_shape[:3], count * count * (input_shape[3] // cells))

    def get_config(self):
        return {
            **super().get_config(),
            "grid_size": self.grid_size,
            "output_size": self.output_size,
        }


def stitch_streams(scores, row_bands, column_bands, grid_size, concatenate):
    """`StitchGridStreams`'s computation with any backend's `concatenate(tensors,
    axis=...)` (the tf_keras twin passes `tf.concat`): slices and concatenations.

    Args:
        scores: `(B, h, w, K*K * M)` classifier-major scores.
        row_bands, column_bands: `stream_bands` along h and w.
        grid_size: K.
        concatenate: the backend's concatenation.

    Returns:
        `(B, h, w, streams * M)`, stream-major.
    """
    maps = int(scores.shape[-1]) // (grid_size * grid_size)

    def block(row, top, bottom, column, left, right):
        first = (row * grid_size + column) * maps
        return scores[:, top:bottom, left:right, first : first + maps]

    return stitch_blocks(block, row_bands, column_bands, concatenate)


def stitch_blocks(block, row_bands, column_bands, concatenate):
    """Stitch per-classifier blocks into stream-major maps.

    Args:
        block: `block(row, top, bottom, column, left, right)` -> `(B, bottom - top,
            right - left, M)`, grid classifier (row, column)'s scores on its band.
        row_bands, column_bands: `stream_bands` along h and w.
        concatenate: `concatenate(tensors, axis=...)`.

    Returns:
        `(B, h, w, streams * M)`, stream-major (stream `u * min(K, 3) + v` holds
        the classifiers with row mod 3 = u and column mod 3 = v).
    """

    def join(tensors, axis):
        return tensors[0] if len(tensors) == 1 else concatenate(tensors, axis=axis)

    stream_rows = []
    for bands in row_bands:
        streams = []
        for columns in column_bands:
            strips = [
                join([block(row, top, bottom, *column) for column in columns], axis=2)
                for row, top, bottom in bands
            ]
            streams.append(join(strips, axis=1))
        stream_rows.append(join(streams, axis=3))
    # Three-input concatenations: XNNPACK left one of nine inputs to the builtin kernel.
    return join(stream_rows, axis=3)


def stream_cell_weights(grid_size, output_size):
    """`cell_weights` for streams: `(S, S, streams)`, one-hot at the stream of the
    classifier whose cell holds the pixel (the paper's training heuristic)."""
    grid_size, output_size = check_grid_arguments(grid_size, output_size)
    cell = ((np.arange(output_size) + 0.5) * grid_size / output_size).astype(np.int64)
    stream = cell % STREAM_STRIDE
    count = stream_count(grid_size)
    index = stream[:, None] * count + stream[None, :]
    return np.eye(count * count, dtype=np.float32)[index]


@keras.saving.register_keras_serializable(package="hckeras")
class GridStreamInterpolation(keras.layers.Layer):
    """Eq. 3 on stitched streams: `p = sum_s alpha_s * sigmoid(t_s)`.

    Args:
        grid_size: K.

    Input shape: `(B, S, S, streams * M)` upsampled stitched scores, stream-major.
    Output shape: `(B, S, S, M)` probabilities in [0, 1], equal (up to float
    rounding) to `GridInterpolation` on the dense scores.
    """

    def __init__(self, grid_size, **kwargs):
        super().__init__(**kwargs)
        self.grid_size = grid_size

    def build(self, input_shape):
        _, height, width, channels = input_shape
        if height != width or height is None:
            raise ValueError(
                f"GridStreamInterpolation expects square (B, S, S, C) scores, got {input_shape}"
            )
        count = stream_count(self.grid_size) ** 2
        if channels % count:
            raise ValueError(
                f"GridStreamInterpolation with grid_size={self.grid_size} expects channels "
                f"divisible by its {count} streams, got {channels}"
            )
        self.num_maps = channels // count
        weights = stream_weights(self.grid_size, int(height))
        self._alpha = np.repeat(weights, self.num_maps, axis=-1)

    def call(self, scores):
        size = ops.shape(scores)[1]
        weighted = ops.sigmoid(ops.cast(scores, "float32")) * ops.convert_to_tensor(self._alpha)
        count = stream_count(self.grid_size) ** 2
        grouped = ops.reshape(weighted, (-1, size * size, count, self.num_maps))
        return ops.reshape(ops.sum(grouped, axis=2), (-1, size, size, self.num_maps))

    def compute_output_shape(self, input_shape):
        count = stream_count(self.grid_size) ** 2
        return (*input_shape[:3], input_shape[3] // count)

    def get_config(self):
        return {**super().get_config(), "grid_size": self.grid_size}
