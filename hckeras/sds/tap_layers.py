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
            _check_feeds_head(mask_model, name, tap, mask_spec.backbone)
        layers[tap] = mask_model.get_layer(name)
    return layers


def _check_feeds_head(mask_model, name, tap, backbone):
    """A tap looked up through a fresh backbone must be the layer the model's head
    reads for it, when the model has a head for that tap."""
    from hckeras.models.heads import TAP_LAYER_SUFFIXES

    head_names = {f"{tap}_{suffix}" for suffix in TAP_LAYER_SUFFIXES}
    head = [layer for layer in mask_model.layers if layer.name in head_names]
    if not head:
        return
    read = {
        tensor._keras_history[0].name
        for layer in head
        for node in layer._inbound_nodes
        for tensor in node.input_tensors
    }
    if name not in read:
        raise ValueError(
            f"mask model {mask_model.name!r}: its {tap!r} head reads {sorted(read - {name})}, "
            f"not {name!r}, the {tap!r} tap of {backbone!r} today (the model was built with "
            "another definition of the tap, e.g. a MobileNetV3 model saved before the stride "
            "taps moved to the block outputs): name that layer instead of the tap"
        )
