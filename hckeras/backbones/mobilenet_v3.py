"""MobileNetV3 Small / Large (keras.applications) with hypercolumn taps.

Taps: `stride8` and `stride16` are the outputs of the last inverted-residual
block at 1/8 and 1/16 of the input (its residual add, or its projection's batch
norm: 24 and 48 channels in Small, 40 and 112 in Large), where LR-ASPP and
DeepLabV3 tap MobileNetV3 too. `stride8_expanded` and `stride16_expanded` are the
last feature maps at those strides, the next block's expansion (96 and 288
channels in Small), the taps before 2026-12-03: a neighbourhood classifier on them
costs 4-6x the multiply-adds (the Small keypoint model's stride-8 3x3 tap conv
was ~290 M of them against the backbone's ~60 M). `fc7` is the pooled global
feature after the 1x1 `conv_2` layer with its hard-swish, the network's stand-in
for a fully connected layer. The expanded and fc7 layers are found from the
graph, since keras names them by a global counter.

The `_minimalistic` variants (keras' `minimalistic=True`) have no squeeze-excite
blocks, no hard-swish (ReLU throughout) and 3x3 depthwise kernels only: fewer
small elementwise ops, which int8 kernels run no faster than float ones.
ImageNet weights are published for them too.
"""

import re

import keras

from hckeras.backbones.backbone import Backbone, download_failed

BLOCK_OUTPUT = re.compile(r"expanded_conv(_\d+)?_(add|project_bn)")
"""Names of the layers that end an inverted-residual block in keras' MobileNetV3."""


def _last_layer_at_stride(model, stride, names=None):
    """The name of the last layer with a map at 1/`stride` of the input, among the
    layers whose name matches `names` (a compiled pattern) if given."""
    size = (model.input.shape[1] // stride, model.input.shape[2] // stride)
    found = None
    for layer in model.layers:
        shape = layer.output.shape
        if names is not None and not names.fullmatch(layer.name):
            continue
        if len(shape) == 4 and tuple(shape[1:3]) == size:
            found = layer.name
    if found is None:
        kind = "feature map" if names is None else "block output"
        raise ValueError(f"{model.name} has no {kind} at stride {stride}")
    return found


def _consumer_of(model, layer_name):
    tensor = model.get_layer(layer_name).output
    for layer in model.layers:
        if layer.input is tensor:
            return layer.name
    raise ValueError(f"{model.name}: no layer consumes {layer_name!r}")


def _mobilenet_v3(builder, name, weights, input_size, minimalistic=False):
    size = 224 if input_size is None else input_size
    size = size[0] if isinstance(size, tuple | list) else size
    if size % 32:
        raise ValueError(f"{name} needs an input size that is a multiple of 32, got {size}")
    try:
        model = builder(
            input_shape=(size, size, 3),
            weights=weights,
            include_top=True,
            include_preprocessing=True,
            minimalistic=minimalistic,
        )
    except Exception as error:
        if weights == "imagenet":
            raise download_failed(name, error) from error
        raise ValueError(f"cannot build {name} with weights={weights!r}: {error}") from error
    tap_layers = {
        "stride8": _last_layer_at_stride(model, 8, BLOCK_OUTPUT),
        "stride16": _last_layer_at_stride(model, 16, BLOCK_OUTPUT),
        "stride8_expanded": _last_layer_at_stride(model, 8),
        "stride16_expanded": _last_layer_at_stride(model, 16),
        "fc7": _consumer_of(model, "conv_2"),
    }
    model = keras.Model(model.input, model.get_layer(tap_layers["fc7"]).output, name=name)
    return Backbone(
        name=name,
        model=model,
        tap_layers=tap_layers,
        default_taps={"fc7": 1, "stride16": 1, "stride8": 3},
    )


def mobilenet_v3_small(weights=None, input_size=None):
    """MobileNetV3-Small; input float32 RGB in [0, 255] (rescaled inside)."""
    return _mobilenet_v3(
        keras.applications.MobileNetV3Small, "mobilenet_v3_small", weights, input_size
    )


def mobilenet_v3_large(weights=None, input_size=None):
    """MobileNetV3-Large; input float32 RGB in [0, 255] (rescaled inside)."""
    return _mobilenet_v3(
        keras.applications.MobileNetV3Large, "mobilenet_v3_large", weights, input_size
    )


def mobilenet_v3_small_minimalistic(weights=None, input_size=None):
    """MobileNetV3-Small, minimalistic (ReLU, no squeeze-excite, 3x3 depthwise);
    input float32 RGB in [0, 255] (rescaled inside)."""
    return _mobilenet_v3(
        keras.applications.MobileNetV3Small,
        "mobilenet_v3_small_minimalistic",
        weights,
        input_size,
        minimalistic=True,
    )


def mobilenet_v3_large_minimalistic(weights=None, input_size=None):
    """MobileNetV3-Large, minimalistic (ReLU, no squeeze-excite, 3x3 depthwise);
    input float32 RGB in [0, 255] (rescaled inside)."""
    return _mobilenet_v3(
        keras.applications.MobileNetV3Large,
        "mobilenet_v3_large_minimalistic",
        weights,
        input_size,
        minimalistic=True,
    )
