"""`int8_graph`: the probability graph rewritten so that its int8 form stays on XNNPACK.

The LiteRT converter fuses `x * relu6(x + 3) / 6` (MobileNetV3's hard-swish,
Keras 3's `hard_silu`) into one HARD_SWISH op. XNNPACK runs it in float32 but
not in int8 (ai-edge-litert 2.3): each int8 HARD_SWISH runs on the builtin
kernel and splits the graph, 20 partitions for MobileNetV3-Small, which made
int8 twice as slow as fp32. Written as `(x / 6) * relu6(x + 3)`, the same
function converts to an int8 ADD (with a fused RELU6) and two MULs, all
delegated. Float variants keep the fused op.

    static = int8_graph(static_probability_model(model))
"""

import keras
from keras import ops

HARD_SWISH_NAMES = ("hard_silu", "hard_swish")


@keras.saving.register_keras_serializable(package="hckeras")
class Int8HardSwish(keras.layers.Layer):
    """Hard-swish as `(x / 6) * relu6(x + 3)`, a form the converter does not fuse.

    Input shape: any. Output shape: the same.
    """

    def call(self, inputs):
        return (inputs * (1.0 / 6.0)) * ops.relu6(inputs + 3.0)

    def compute_output_shape(self, input_shape):
        return input_shape


def is_hard_swish(layer):
    """Whether `layer` is an `Activation` layer computing hard-swish."""
    if not isinstance(layer, keras.layers.Activation):
        return False
    activation = layer.get_config().get("activation")
    return isinstance(activation, str) and activation in HARD_SWISH_NAMES


def replace_hard_swish(model, make_layer):
    """`model` with every hard-swish `Activation` replaced by `make_layer(name)` (same
    name), also inside nested models; other layers are shared, not copied. Returns
    `model` itself when it has no hard-swish."""
    if not any(is_hard_swish(layer) for layer in model._flatten_layers()):
        return model

    def clone(layer):
        if is_hard_swish(layer):
            return make_layer(layer.name)
        if isinstance(layer, keras.Model):
            return keras.models.clone_model(layer, clone_function=clone)
        return layer

    return keras.models.clone_model(model, clone_function=clone)


def int8_graph(model):
    """`model` with every hard-swish `Activation` replaced by `Int8HardSwish` (same
    name); other layers are shared, not copied. Returns `model` itself when it has
    no hard-swish."""
    return replace_hard_swish(model, lambda name: Int8HardSwish(name=name))
