"""The System 1 refinement model (paper section 4.1), built from a trained mask model.

A refiner is a hypercolumn segmentation model whose hypercolumns also hold a region
candidate's features (`build_hypercolumn_model(..., candidates=True)`): a 0/1
inside-the-candidate value per location and the candidate's 10 x 10 coarse mask, with a
10 x 10 grid of classifiers. `build_refiner` starts it from a trained mask model, the
paper's fine-tuning: the backbone is a copy of the mask model's, each tap's classifiers
are the mask model's resampled from its K x K grid to the refiner's
(`resample_grid_classifiers`), and the candidate features' weights start at zero, so the
untrained refiner predicts what the mask model predicts and training teaches it to use
the candidate.

    refiner, spec = build_refiner(mask_model, mask_spec)     # inputs: crops, inside, coarse
    save_refiner(refiner, spec, "runs/refiner/refiner.keras")  # + refiner.json (ModelSpec)
    refiner, spec = load_refiner("runs/refiner/refiner.keras")

The sidecar is an ordinary `ModelSpec` (grid_size 10); what marks a refiner is its two
candidate inputs, which `load_refiner` checks and `Predictor` refuses.
"""

import dataclasses
from pathlib import Path

import numpy as np

from hckeras.io import save_model_atomic
from hckeras.layers.grid_weights import grid_weights
from hckeras.model_spec import ModelSpec, checked_sidecar, spec_path
from hckeras.models.hypercolumn_model import (
    CANDIDATE_COARSE,
    CANDIDATE_INSIDE,
    COARSE_SIZE,
    takes_candidates,
)
from hckeras.sds.tap_layers import tap_layers

REFINER_NAME = "region_refiner"
REFINER_GRID = 10
"""The paper's 10 x 10 grid of classifiers for System 1."""


def resample_grid_classifiers(values, num_maps, source_grid, target_grid):
    """Move classifiers from a K x K grid to a K' x K' one.

    Each target classifier is the bilinear blend (paper eq. 3's weights, clamped at the
    border) of the source classifiers around its cell centre; every classifier is linear,
    so this blends the score maps the same way.

    Args:
        values: array `(..., num_maps * source_grid**2)`: a score conv's kernel or bias,
            channel `map * K*K + cell`.
        num_maps, source_grid, target_grid: M, K, K'.

    Returns:
        array `(..., num_maps * target_grid**2)`.

    >>> resample_grid_classifiers(np.array([1.0, 2.0]), 2, 1, 2).tolist()
    [1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0]
    """
    values = np.asarray(values)
    weights = grid_weights(source_grid, target_grid).reshape(target_grid**2, source_grid**2)
    split = values.reshape(*values.shape[:-1], num_maps, source_grid**2)
    moved = np.einsum("...mc,kc->...mk", split, weights)
    return moved.reshape(*values.shape[:-1], num_maps * target_grid**2).astype(values.dtype)


def _tap_scales(mask_model, mask_spec):
    scales = {}
    for tap in mask_spec.taps:
        try:
            layer = mask_model.get_layer(f"{tap}_scale")
        except ValueError:
            continue
        scales[tap] = float(np.asarray(layer.get_weights()[0]))
    return scales or None


def build_refiner(mask_model, mask_spec, grid_size=None):
    """The System 1 refiner of a trained segmentation model (see the module docstring).

    Args:
        mask_model: the training (logits) model saved by `train`.
        mask_spec: its `ModelSpec`.
        grid_size: K of the refiner; default `REFINER_GRID` (10, the paper's), or S
            for a mask model whose S is smaller (a K x K grid needs S >= K).

    Returns:
        `(model, spec)`: an uncompiled `keras.Model` from `[crops (B, H, W, 3),
        candidate_inside (B, S, S, 1), candidate_coarse (B, 100)]` to logits
        `(B, S, S, M, K*K)`, and its `ModelSpec` (the mask model's with `grid_size`).
    """
    import keras

    from hckeras.backbones import Backbone
    from hckeras.models.hypercolumn_model import build_hypercolumn_model

    if mask_spec.task != "segmentation":
        raise ValueError(f"the refiner needs a segmentation model, got a {mask_spec.task!r} one")
    if takes_candidates(mask_model):
        raise ValueError(f"model {mask_model.name!r} is already a refiner")
    if grid_size is None:
        grid_size = min(REFINER_GRID, mask_spec.output_size)
    taps = tap_layers(mask_model, mask_spec, mask_spec.taps)
    source = keras.models.clone_model(mask_model)
    source.set_weights(mask_model.get_weights())
    backbone = Backbone(
        name=mask_spec.backbone,
        model=source,
        tap_layers={tap: layer.name for tap, layer in taps.items()},
        default_taps=dict(mask_spec.taps),
    )
    num_maps = mask_spec.layout.num_maps
    model = build_hypercolumn_model(
        backbone,
        taps=dict(mask_spec.taps),
        grid_size=grid_size,
        num_maps=num_maps,
        output_size=mask_spec.output_size,
        tap_scales=_tap_scales(mask_model, mask_spec),
        candidates=True,
        name=REFINER_NAME,
    )
    for tap in mask_spec.taps:
        kernel, bias = mask_model.get_layer(f"{tap}_score").get_weights()
        model.get_layer(f"{tap}_score").set_weights(
            [
                resample_grid_classifiers(kernel, num_maps, mask_spec.grid_size, grid_size),
                resample_grid_classifiers(bias, num_maps, mask_spec.grid_size, grid_size),
            ]
        )
    for name in (CANDIDATE_INSIDE, CANDIDATE_COARSE):
        layer = model.get_layer(f"{name}_score")
        layer.set_weights([np.zeros_like(w) for w in layer.get_weights()])
    spec = dataclasses.replace(mask_spec, grid_size=grid_size)
    return model, spec


def save_refiner(model, spec, path):
    """Write `path` (.keras) and its `ModelSpec` sidecar `spec_path(path)`."""
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"refiner file {path} must end in .keras")
    if not takes_candidates(model):
        raise ValueError(f"model {model.name!r} has no candidate inputs; it is not a refiner")
    save_model_atomic(model, path)
    spec.save(spec_path(path))
    return path


def load_refiner(path):
    """`(model, ModelSpec)` of a saved refiner, loaded in safe mode."""
    import keras

    import hckeras.layers  # noqa: F401  (registers the hckeras layers for deserialization)

    path = Path(path)
    spec = ModelSpec.load(checked_sidecar(path, "refiner"))
    model = keras.saving.load_model(path, compile=False, safe_mode=True)
    if not takes_candidates(model):
        raise ValueError(
            f"{path} holds model {model.name!r} without the candidate inputs "
            f"({CANDIDATE_INSIDE}, {CANDIDATE_COARSE}): a mask model, not a System 1 refiner"
        )
    coarse = model.get_layer(CANDIDATE_COARSE).output.shape[-1]
    if coarse != COARSE_SIZE**2:
        raise ValueError(f"{path}: candidate_coarse has {coarse} values, expected {COARSE_SIZE**2}")
    return model, spec
