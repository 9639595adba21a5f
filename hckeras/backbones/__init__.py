"""Backbones with taps addressed by the paper's layer names.

backbone = build_backbone("alexnet")
backbone.tap("pool2")        # symbolic (B, 13, 13, 256)
"""

from hckeras.backbones.alexnet import alexnet
from hckeras.backbones.backbone import Backbone
from hckeras.backbones.mobilenet_v3 import (
    mobilenet_v3_large,
    mobilenet_v3_large_minimalistic,
    mobilenet_v3_small,
    mobilenet_v3_small_minimalistic,
)
from hckeras.backbones.tiny import tiny
from hckeras.backbones.vgg16 import vgg16

BACKBONES = {
    "vgg16": vgg16,
    "alexnet": alexnet,
    "mobilenet_v3_small": mobilenet_v3_small,
    "mobilenet_v3_large": mobilenet_v3_large,
    "mobilenet_v3_small_minimalistic": mobilenet_v3_small_minimalistic,
    "mobilenet_v3_large_minimalistic": mobilenet_v3_large_minimalistic,
    "tiny": tiny,
}


def build_backbone(name, weights=None, input_size=None, **options):
    """Build a registered backbone.

    Args:
        name: one of `BACKBONES`.
        weights: None (random init), "imagenet" (downloaded where published and
            reachable; a clear error otherwise), or a weights file path.
        input_size: crop side where the backbone allows a choice.
        **options: the backbone function's own arguments (e.g. `width`,
            `convs_per_block` of `tiny`).
    """
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; valid: {', '.join(BACKBONES)}")
    try:
        return BACKBONES[name](weights=weights, input_size=input_size, **options)
    except TypeError as error:
        raise ValueError(f"backbone {name!r} does not take options {sorted(options)}") from error


__all__ = ["BACKBONES", "Backbone", "build_backbone"]
