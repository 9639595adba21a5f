"""The layers of a trained mask model that are its backbone's taps.

Tiny and AlexNet name their layers after the paper's taps (fc7, conv4, pool2); the
other backbones' tap names ("stride8", ...) are looked up, once, in a freshly built
backbone of the same kind (`Backbone.tap_layers`).

    tap_layers(mask_model, mask_spec, ["fc7", "pool2"])   # {"fc7": <Layer>, ...}
"""


def tap_layers(mask_model, mask_spec, taps):
    """`{tap: keras layer}` of `mask_model` for the tap names `taps`, in their order.

    Raises:
        ValueError: naming the tap when the backbone has no such tap, or the layer
            the backbone names when the mask model lacks it.
    """
    names = {layer.name for layer in mask_model.layers}
    missing = [tap for tap in taps if tap not in names]
    backbone = None
    if missing:
        from hckeras.backbones import build_backbone

        backbone = build_backbone(mask_spec.backbone, input_size=mask_spec.input_size[0])
    layers = {}
    for tap in taps:
        name = tap
        if tap in missing:
            if tap not in backbone.tap_layers:
                raise ValueError(
                    f"backbone {mask_spec.backbone!r} has no {tap!r} tap (taps: "
                    f"{', '.join(backbone.tap_layers)})"
                )
            name = backbone.tap_layers[tap]
            if name not in names:
                raise ValueError(
                    f"mask model {mask_model.name!r} has no layer {name!r} (the {tap!r} tap "
                    f"of {mask_spec.backbone!r})"
                )
        layers[tap] = mask_model.get_layer(name)
    return layers
