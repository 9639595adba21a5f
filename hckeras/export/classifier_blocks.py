"""`classifier_block_scores`: a tap's grid-stream maps from one conv per classifier band.

Stitching (`hckeras.layers.StitchGridStreams`) keeps, at each coarse pixel of a
stream, the score of the one classifier whose band holds it: of the K*K
classifiers a tap's score conv computes at every pixel, min(K, 3)^2 are kept (9
of 25 for K = 5). Here each classifier's conv runs on its band only: the tap's
features are zero-padded once as "same" padding would, cropped to the band plus
the kernel's halo, and convolved ("valid") with that classifier's M output
channels; the blocks are stitched as before (`hckeras.layers.stitch_blocks`).
The result equals the stitched score conv up to float rounding at a third of
its multiply-adds, in standard layers (ZeroPadding2D, Cropping2D, Conv2D,
Concatenate) that tfmot quantizes itself.

    if has_classifier_blocks(conv):
        maps = classifier_block_scores(conv, grid_size=5, output_size=50, name="stride8")
"""

import itertools

import numpy as np


def has_classifier_blocks(conv):
    """Whether score conv `conv` can be split into classifier blocks: stride 1, no
    dilation, "same" padding and a linear activation."""
    config = conv.get_config()
    return (
        tuple(config["strides"]) == (1, 1)
        and tuple(config["dilation_rate"]) == (1, 1)
        and config["padding"] == "same"
        and config["activation"] == "linear"
        and config.get("groups", 1) == 1
    )


def classifier_block_scores(conv, grid_size, output_size, name):
    """The stitched grid-stream maps of score conv `conv`, one conv per classifier.

    Args:
        conv: a tap's score `Conv2D`, channel `m * K*K + k` = map m of grid
            classifier k, `(B, h, w, C)` features -> `(B, h, w, K*K * M)`, with
            `has_classifier_blocks(conv)`.
        grid_size: K.
        output_size: S, the side the maps will be upsampled to.
        name: the tap's name, prefix of the new layers' names.

    Returns:
        `(B, h, w, streams * M)` stream-major maps (channel `s * M + m`) on
        `conv.input`, equal to `StitchGridStreams(K, S)` of the classifier-major
        score conv.

    Raises:
        ValueError: the tap's map is too coarse to stitch (`stream_bands`).
    """
    import keras

    from hckeras.layers.grid_streams import stitch_blocks, stream_bands

    features = conv.input
    height, width = int(features.shape[1]), int(features.shape[2])
    rows = stream_bands(grid_size, output_size, height)
    columns = stream_bands(grid_size, output_size, width)
    kernel_height, kernel_width = conv.kernel_size
    # "same" padding of a stride-1 conv: (k - 1) // 2 before, the rest after.
    top_pad, left_pad = (kernel_height - 1) // 2, (kernel_width - 1) // 2
    padded = keras.layers.ZeroPadding2D(
        ((top_pad, kernel_height - 1 - top_pad), (left_pad, kernel_width - 1 - left_pad)),
        name=f"{name}_blocks_pad",
    )(features)
    weights = conv.get_weights()
    cells = grid_size * grid_size
    maps = conv.filters // cells

    def block(row, top, bottom, column, left, right):
        cropped = keras.layers.Cropping2D(
            ((top, height - bottom), (left, width - right)), name=f"{name}_crop_{row}_{column}"
        )(padded)
        layer = keras.layers.Conv2D(
            maps,
            conv.kernel_size,
            padding="valid",
            use_bias=conv.use_bias,
            dtype=conv.dtype_policy,
            name=f"{name}_classifier_{row}_{column}",
        )
        scores = layer(cropped)
        channels = np.arange(maps) * cells + row * grid_size + column
        layer.set_weights([weight[..., channels] for weight in weights])
        return scores

    number = itertools.count(1)

    def concatenate(tensors, axis):
        return keras.layers.Concatenate(axis=axis, name=f"{name}_blocks_concat_{next(number)}")(
            tensors
        )

    return stitch_blocks(block, rows, columns, concatenate)
