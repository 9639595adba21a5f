"""A small VGG-style network for tests and CPU demos."""

import keras

from hckeras.backbones.backbone import Backbone, load_local_weights, no_imagenet_weights


def tiny(
    weights=None,
    input_size=None,
    width=16,
    batch_norm=True,
    batch_norm_momentum=0.99,
    convs_per_block=(1, 1, 1, 1),
    fc_batch_norm=False,
):
    """conv1 - pool1 - conv2 - pool2 - conv3 - pool3 - conv4 - pool4 - fc6 - fc7.

    Each conv is followed by batch normalization (unless `batch_norm=False`) and
    ReLU; block b has `convs_per_block[b - 1]` 3x3 convs, and its tap `conv{b}`
    is the last one's ReLU output. Batch normalization lets it train from
    scratch in minutes; short runs want momentum 0.9 (the `synthetic-cpu` preset
    sets it through `TrainConfig.batch_norm_momentum`).

    Args:
        weights: None or the path of a weights file for this graph.
        input_size: square input side, a multiple of 16 (default 64).
        width: channels of conv1; later layers use 2x and 4x.
        batch_norm: normalise each conv's output over the batch.
        batch_norm_momentum: momentum of the moving mean and variance.
        convs_per_block: convs in each of the four blocks.
        fc_batch_norm: batch normalization in fc6 and fc7 too. It keeps their units
            alive (without it most fc6 units stop firing within a few epochs of Adam
            from scratch), but QAT parity on the test models fell below its floors
            with it (mask IoU 0.86 vs 0.95), so it is off by default.
    """
    if weights == "imagenet":
        raise no_imagenet_weights("tiny")
    size = 64 if input_size is None else input_size
    size = size[0] if isinstance(size, tuple | list) else size
    if size % 16 or size < 16:
        raise ValueError(f"tiny backbone needs an input size that is a multiple of 16, got {size}")
    layers = keras.layers
    inputs = keras.Input((size, size, 3), name="image")
    x = layers.Rescaling(1 / 127.5, offset=-1.0, name="rescale")(inputs)
    channels = (width, 2 * width, 2 * width, 4 * width)
    if len(convs_per_block) != 4 or min(convs_per_block) < 1:
        raise ValueError(f"convs_per_block must be 4 counts >= 1, got {convs_per_block}")
    for block, (filters, convs) in enumerate(zip(channels, convs_per_block, strict=True), start=1):
        for index in range(convs):
            # The last conv of a block keeps the plain names (conv{b}_conv, conv{b}).
            name = f"conv{block}" if index == convs - 1 else f"conv{block}_{index + 1}"
            x = layers.Conv2D(
                filters, 3, padding="same", use_bias=not batch_norm, name=f"{name}_conv"
            )(x)
            if batch_norm:
                x = layers.BatchNormalization(momentum=batch_norm_momentum, name=f"{name}_bn")(x)
            x = layers.ReLU(name=name)(x)
        x = layers.MaxPooling2D(2, name=f"pool{block}")(x)
    x = layers.Flatten(name="flatten")(x)
    for name in ("fc6", "fc7"):
        if batch_norm and fc_batch_norm:
            x = layers.Dense(8 * width, use_bias=False, name=f"{name}_dense")(x)
            x = layers.BatchNormalization(momentum=batch_norm_momentum, name=f"{name}_bn")(x)
            x = layers.ReLU(name=name)(x)
        else:
            x = layers.Dense(8 * width, activation="relu", name=name)(x)
    model = keras.Model(inputs, x, name="tiny")
    if weights is not None:
        load_local_weights(model, weights, "tiny")
    names = [f"{kind}{block}" for block in range(1, 5) for kind in ("conv", "pool")]
    return Backbone(
        name="tiny",
        model=model,
        tap_layers={n: n for n in [*names, "fc6", "fc7"]},
        default_taps={"fc7": 1, "conv4": 1, "pool2": 3},
    )
