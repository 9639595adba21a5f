import pytest

import hckeras
from hckeras.backbones import build_backbone

pytestmark = [pytest.mark.multibackend, pytest.mark.slow]

EXPECTED_TAPS = {
    "vgg16": {"fc7": (4096,), "conv4": (28, 28, 512), "pool3": (28, 28, 256)},
    "alexnet": {"fc7": (4096,), "conv4": (13, 13, 384), "pool2": (13, 13, 256)},
    "mobilenet_v3_small": {"fc7": (1, 1, 1024), "stride16": (14, 14, 48), "stride8": (28, 28, 24)},
    "mobilenet_v3_large": {
        "fc7": (1, 1, 1280),
        "stride16": (14, 14, 112),
        "stride8": (28, 28, 40),
    },
    "mobilenet_v3_small_minimalistic": {
        "fc7": (1, 1, 1024),
        "stride16": (14, 14, 48),
        "stride8": (28, 28, 24),
    },
}

# The last maps at each stride (the next block's expansion), the taps before 2026-12-03.
EXPANDED_TAPS = {
    "mobilenet_v3_small": {"stride8_expanded": (28, 28, 96), "stride16_expanded": (14, 14, 288)},
    "mobilenet_v3_large": {"stride8_expanded": (28, 28, 240), "stride16_expanded": (14, 14, 672)},
}


@pytest.mark.parametrize("name", list(EXPECTED_TAPS))
def test_default_taps_have_expected_shapes(name):
    backbone = build_backbone(name)
    assert set(backbone.default_taps) == set(EXPECTED_TAPS[name])
    for tap, shape in EXPECTED_TAPS[name].items():
        assert tuple(backbone.tap(tap).shape[1:]) == shape
    model = hckeras.build_hypercolumn_model(backbone, grid_size=5)
    assert model.output.shape == (None, 50, 50, 1, 25)


@pytest.mark.parametrize("name", list(EXPANDED_TAPS))
def test_mobilenet_stride_taps_are_block_outputs_and_the_expansions_stay_available(name):
    backbone = build_backbone(name)
    for stride in (8, 16):
        block_output = backbone.model.get_layer(backbone.tap_layers[f"stride{stride}"])
        # The block's residual add, whose output feeds the next block's expansion.
        assert type(block_output).__name__ == "Add"
        expansion = backbone.model.get_layer(backbone.tap_layers[f"stride{stride}_expanded"])
        assert type(expansion).__name__ == "Activation"
    for tap, shape in EXPANDED_TAPS[name].items():
        assert tuple(backbone.tap(tap).shape[1:]) == shape
    model = hckeras.build_hypercolumn_model(
        backbone, taps={"fc7": 1, "stride16_expanded": 1, "stride8_expanded": 3}, grid_size=2
    )
    channels = EXPANDED_TAPS[name]["stride8_expanded"][-1]
    assert tuple(model.get_layer("stride8_expanded_score").kernel.shape) == (3, 3, channels, 4)


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
