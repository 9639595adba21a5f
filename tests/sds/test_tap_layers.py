"""Tests of `hckeras.sds.tap_layers`: paper tap names to a mask model's layers."""

from types import SimpleNamespace

import pytest

from hckeras.sds.tap_layers import tap_layers


def test_taps_resolve_by_name_or_through_the_backbone():
    import keras

    from hckeras import build_hypercolumn_model
    from hckeras.backbones import build_backbone

    # As in a fresh process that loads a saved model: keras numbers unnamed layers from a
    # per-session counter, so the backbone built for the lookup names them the same way.
    keras.backend.clear_session()
    model = build_hypercolumn_model("mobilenet_v3_small", num_maps=1, output_size=8, input_size=64)
    spec = SimpleNamespace(backbone="mobilenet_v3_small", input_size=(64, 64))
    keras.backend.clear_session()
    names = build_backbone("mobilenet_v3_small", input_size=64).tap_layers
    keras.backend.clear_session()
    layers = tap_layers(model, spec, ["stride8", "fc7"])
    assert list(layers) == ["stride8", "fc7"]
    assert {tap: layer.name for tap, layer in layers.items()} == {
        "stride8": names["stride8"],
        "fc7": names["fc7"],
    }
    keras.backend.clear_session()
    with pytest.raises(ValueError, match="backbone 'mobilenet_v3_small' has no 'pool2' tap"):
        tap_layers(model, spec, ["pool2"])
    bare = keras.Model(model.input, model.get_layer(names["stride16"]).output, name="cut")
    keras.backend.clear_session()
    with pytest.raises(ValueError, match=f"mask model 'cut' has no layer '{names['fc7']}'"):
        tap_layers(bare, spec, ["fc7"])


def test_a_tap_the_head_does_not_read_is_an_error():
    import keras

    from hckeras import build_hypercolumn_model

    keras.backend.clear_session()
    # A model built on the expansion layer under the name "stride8" (the tap before
    # 2026-12-03): the lookup finds the block output, which its head does not read.
    model = build_hypercolumn_model(
        "mobilenet_v3_small",
        taps={"fc7": 1, "stride8_expanded": 1},
        num_maps=1,
        output_size=8,
        input_size=64,
    )
    spec = SimpleNamespace(backbone="mobilenet_v3_small", input_size=(64, 64))
    # Its "stride8_expanded" head is not a "stride8" head: the block output resolves.
    assert tap_layers(model, spec, ["stride8"])["stride8"].name == "expanded_conv_2_add"
    renamed = {"stride8_expanded_score": "stride8_score"}
    for layer in model.layers:
        if layer.name in renamed:
            layer.name = renamed[layer.name]
    spec = SimpleNamespace(backbone="mobilenet_v3_small", input_size=(64, 64))
    keras.backend.clear_session()
    with pytest.raises(ValueError, match="its 'stride8' head reads"):
        tap_layers(model, spec, ["stride8"])
