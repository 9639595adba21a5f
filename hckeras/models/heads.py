"""The two equivalent forms of the hypercolumn classifier head (paper eqs. 4-6).

Both take the tapped feature maps and return summed grid-classifier scores
`(B, S, S, num_maps * K*K)`:

- `efficient_head`: per tap an n x n conv to `num_maps * K*K` score channels on
  the coarse map, bilinear upsampling of the scores to S x S, sum over taps;
  a 1 x 1 (fc) tap's score is a per-box constant, so it is added by
  broadcasting instead of being upsampled (the same numbers, fewer ops).
- `explicit_head`: the literal hypercolumn: per tap the n x n neighbourhood
  features upsampled to S x S, concatenated (4736 channels for T-Net
  pool2 + conv4 + fc7 at 1x1), then one linear classifier per output channel.

Upsampling is linear, so the two agree once weights are copied
(`hckeras.copy_head_weights`); the explicit form is the test oracle and the
speed baseline.
"""

import keras

from hckeras.layers import BroadcastMap, NeighborhoodStack, TapScale

TAP_LAYER_SUFFIXES = ("neighborhood", "scale", "as_map", "score", "upsample", "broadcast")
"""Both heads name the layers they add for tap T `T_<suffix>`, with these suffixes."""


def _as_map(tap, features):
    """fc taps (B, C) become 1x1 maps (B, 1, 1, C): a per-box constant."""
    if len(features.shape) == 2:
        return keras.layers.Reshape((1, 1, features.shape[-1]), name=f"{tap}_as_map")(features)
    if len(features.shape) != 4:
        raise ValueError(f"tap {tap!r} has output shape {features.shape}; expected 2-D or 4-D")
    return features


def _scaled(tap, features, tap_scales, learn_tap_scales):
    if tap_scales is None or tap not in tap_scales:
        return features
    return TapScale(tap_scales[tap], trainable=learn_tap_scales, name=f"{tap}_scale")(features)


def _upsample(tap, tensor, output_size):
    if tuple(tensor.shape[1:3]) == (output_size, output_size):
        return tensor
    return keras.layers.Resizing(
        output_size, output_size, interpolation="bilinear", name=f"{tap}_upsample"
    )(tensor)


def efficient_head(features, channels, output_size, tap_scales=None, learn_tap_scales=False):
    """Conv, upsample and sum.

    The sum is a chain of two-input `Add` layers, the last one named
    "hypercolumn_sum" (binary adds quantize as int8 ADDs; an n-input add would
    leave float partial sums in a QAT graph). Taps with a 1 x 1 map (fc layers)
    enter last, broadcast over S x S by the `Add`; with fc taps only, the first
    is repeated by `BroadcastMap`.

    Args:
        features: tap name -> (symbolic tensor, neighbourhood size n).
        channels: `num_maps * K*K`.
        output_size: S.
        tap_scales: optional tap name -> input scale.
        learn_tap_scales: whether those scales are trained.

    Returns:
        symbolic `(B, S, S, channels)` scores.
    """
    maps, constants = [], []
    for tap, (tensor, size) in features.items():
        x = _scaled(tap, _as_map(tap, tensor), tap_scales, learn_tap_scales)
        x = keras.layers.Conv2D(channels, size, padding="same", name=f"{tap}_score")(x)
        if tuple(x.shape[1:3]) == (1, 1):
            constants.append((tap, x))
        else:
            maps.append(_upsample(tap, x, output_size))
    if not maps:
        tap, x = constants.pop(0)
        maps.append(BroadcastMap(output_size, name=f"{tap}_broadcast")(x))
    terms = maps + [x for _, x in constants]
    total = terms[0]
    for index, term in enumerate(terms[1:], start=1):
        name = "hypercolumn_sum" if index == len(terms) - 1 else f"hypercolumn_sum_{index}"
        total = keras.layers.Add(name=name)([total, term])
    return total


def explicit_head(features, channels, output_size, tap_scales=None, learn_tap_scales=False):
    """Neighbourhoods, upsample, concatenate, classify (same arguments as
    `efficient_head`)."""
    columns = []
    for tap, (tensor, size) in features.items():
        x = _scaled(tap, _as_map(tap, tensor), tap_scales, learn_tap_scales)
        if size > 1:
            x = NeighborhoodStack(size, name=f"{tap}_neighborhood")(x)
        columns.append(_upsample(tap, x, output_size))
    x = columns[0] if len(columns) == 1 else keras.layers.Concatenate(name="hypercolumn")(columns)
    return keras.layers.Dense(channels, name="hypercolumn_classifier")(x)
