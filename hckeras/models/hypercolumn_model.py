"""`build_hypercolumn_model`: a backbone with hypercolumn branches grafted on."""

import numbers

import keras

from hckeras.backbones import Backbone, build_backbone
from hckeras.layers.grid_weights import check_grid_arguments
from hckeras.models.heads import efficient_head, explicit_head

HEADS = {"efficient": efficient_head, "explicit": explicit_head}
LOGITS_LAYER = "hypercolumn_logits"
CANDIDATE_INSIDE = "candidate_inside"
CANDIDATE_COARSE = "candidate_coarse"
COARSE_SIZE = 10
"""Side of the coarse discretisation of a region candidate (paper section 4.1: 10 x 10,
flattened to 100 values)."""


def candidate_inputs(output_size, coarse_size=COARSE_SIZE):
    """The two System 1 inputs (paper section 4.1) as hypercolumn features.

    Returns:
        dict tap name -> (symbolic input, neighbourhood 1): `candidate_inside`
        `(B, S, S, 1)`, 1 where the location lies inside the region candidate, and
        `candidate_coarse` `(B, coarse_size**2)`, the candidate's area fraction in each
        cell of a coarse grid over the expanded box, row-major (a per-box constant,
        like an fc tap).
    """
    inside = keras.Input((output_size, output_size, 1), name=CANDIDATE_INSIDE)
    coarse = keras.Input((coarse_size * coarse_size,), name=CANDIDATE_COARSE)
    return {CANDIDATE_INSIDE: (inside, 1), CANDIDATE_COARSE: (coarse, 1)}


def takes_candidates(model):
    """Whether a Keras model takes the System 1 candidate inputs (a refiner)."""
    names = {tensor.name for tensor in model.inputs}
    return {CANDIDATE_INSIDE, CANDIDATE_COARSE} <= names


def _check_taps(backbone, taps):
    taps = dict(backbone.default_taps if taps is None else taps)
    if not taps:
        raise ValueError("taps must name at least one layer")
    features = {}
    for tap, size in taps.items():
        if not isinstance(size, numbers.Integral) or isinstance(size, bool):
            raise ValueError(f"tap {tap!r}: neighbourhood size must be an integer, got {size!r}")
        if size < 1 or size % 2 == 0:
            raise ValueError(f"tap {tap!r}: neighbourhood size must be odd and >= 1, got {size}")
        tensor = backbone.tap(tap)
        if len(tensor.shape) == 2 and size != 1:
            raise ValueError(
                f"tap {tap!r} comes after a flatten (a fully connected layer): it is a 1x1 map, "
                f"so its neighbourhood must be 1, got {size}"
            )
        features[tap] = (tensor, int(size))
    return features


def build_hypercolumn_model(
    backbone,
    taps=None,
    grid_size=5,
    num_maps=1,
    output_size=50,
    head="efficient",
    weights=None,
    input_size=None,
    tap_scales=None,
    learn_tap_scales=False,
    candidates=False,
    name=None,
):
    """Graft hypercolumn classifiers onto a backbone (paper section 3, Figure 2).

    Args:
        backbone: a name from `hckeras.backbones.BACKBONES` or a `Backbone`.
        taps: tap name -> neighbourhood size n (odd; 1 for fc layers), e.g.
            `{"fc7": 1, "conv4": 1, "pool2": 3}`. None: the paper's default for
            this backbone. An ablation is a different mapping.
        grid_size: K, the K x K grid of classifiers.
        num_maps: heatmaps per box (categories, parts or keypoints).
        output_size: S, the heatmap side (50 in the paper).
        head: "efficient" (conv, upsample, sum) or "explicit" (the literal
            concatenated hypercolumn; slow, for tests and benchmarks).
        weights: backbone weights: None, "imagenet" or a path.
        input_size: crop side, for backbones that allow a choice.
        tap_scales: optional tap name -> input scale (the authors scale low
            layers down so that all taps have similar magnitudes).
        learn_tap_scales: train those scales instead of keeping them fixed.
        candidates: add the System 1 inputs of a region candidate (paper section
            4.1, `candidate_inputs`): each location's hypercolumn gains a 0/1
            inside-the-candidate feature and the candidate's 10 x 10 coarse mask.
            The model then takes `[crops, candidate_inside, candidate_coarse]`.
        name: model name.

    Returns:
        `keras.Model` from float32 RGB crops in [0, 255] `(B, H, W, 3)` (and, with
        `candidates`, `(B, S, S, 1)` and `(B, 100)` candidate features) to logits
        `(B, S, S, num_maps, K*K)`; `hckeras.probability_model` turns it into
        probabilities.
    """
    grid_size, output_size = check_grid_arguments(grid_size, output_size)
    if not isinstance(num_maps, numbers.Integral) or isinstance(num_maps, bool) or num_maps < 1:
        raise ValueError(f"num_maps must be a positive integer, got {num_maps!r}")
    if head not in HEADS:
        raise ValueError(f"unknown head {head!r}; valid: {', '.join(HEADS)}")
    if not isinstance(backbone, Backbone):
        backbone = build_backbone(backbone, weights=weights, input_size=input_size)
    features = _check_taps(backbone, taps)
    if tap_scales is not None and set(tap_scales) - set(features):
        raise ValueError(
            f"tap_scales names taps that are not used: {set(tap_scales) - set(features)}"
        )
    inputs = backbone.model.input
    if candidates:
        extra = candidate_inputs(output_size)
        features.update(extra)
        inputs = [inputs] + [tensor for tensor, _ in extra.values()]
    cells = grid_size * grid_size
    scores = HEADS[head](features, num_maps * cells, output_size, tap_scales, learn_tap_scales)
    logits = keras.layers.Reshape(
        (output_size, output_size, num_maps, cells), dtype="float32", name=LOGITS_LAYER
    )(scores)
    model_name = name or f"hypercolumn_{backbone.name}_{head}"
    return keras.Model(inputs, logits, name=model_name)
