import pytest

import hckeras
from hckeras.backbones import build_backbone

pytestmark = [pytest.mark.multibackend, pytest.mark.slow]

EXPECTED_TAPS = {
    "vgg16": {"fc7": (4096,), "conv4": (28, 28, 512), "pool3": (28, 28, 256)},
    "alexnet": {"fc7": (4096,), "conv4": (13, 13, 384), "pool2": (13, 13, 256)},
    "mobilenet_v3_small": {"fc7": (1, 1, 1024), "stride16": (14, 14, 288), "stride8": (28, 28, 96)},
    "mobilenet_v3_large": {
        "fc7": (1, 1, 1280),
        "stride16": (14, 14, 672),
        "stride8": (28, 28, 240),
    },
    "mobilenet_v3_small_minimalistic": {
        "fc7": (1, 1, 1024),
        "stride16": (14, 14, 288),
        "stride8": (28, 28, 96),
    },
}


@pytest.mark.parametrize("name", list(EXPECTED_TAPS))
def test_default_taps_have_expected_shapes(name):
    backbone = build_backbone(name)
    assert set(backbone.default_taps) == set(EXPECTED_TAPS[name])
    for tap, shape in EXPECTED_TAPS[name].items():
        assert tuple(backbone.tap(tap).shape[1:]) == shape
    model = hckeras.build_hypercolumn_model(backbone, grid_size=5)
    assert model.output.shape == (None, 50, 50, 1, 25)


def test_vgg_tap_aliases():
    backbone = build_backbone("vgg16")
    assert backbone.tap_layers["conv4"] == "block4_conv3"
    assert backbone.tap_layers["pool2"] == "block2_pool" and backbone.tap_layers["fc6"] == "fc1"


def test_minimalistic_mobilenet_has_no_squeeze_excite_or_hard_swish():
    ops = {type(layer).__name__ for layer in build_backbone("mobilenet_v3_small").model.layers}
    assert "Multiply" in ops  # squeeze-excite and hard-swish
    backbone = build_backbone("mobilenet_v3_large_minimalistic", input_size=64)
    layers = backbone.model.layers
    activations = {layer.activation.__name__ for layer in layers if hasattr(layer, "activation")}
    assert "hard_silu" not in activations and "hard_swish" not in activations
    assert not [layer for layer in layers if type(layer).__name__ == "Multiply"]
    assert tuple(backbone.tap("stride8").shape[1:3]) == (8, 8)
