"""`twin_from_keras3`: a Keras 3 functional model rebuilt as tf_keras layers, for tfmot.

tfmot quantizes tf_keras (Keras 2) models only, so QAT works on a "twin": the
same layer names, inbound connections, configs (minus Keras-3-only keys) and
weights, as tf_keras layers. Layers that tf_keras lacks, or that tfmot would
quantize badly, get twins here with the same math:

- the hckeras layers (`GridInterpolation`, `GridStreamInterpolation`,
  `StitchGridStreams`, `TapScale`, `NeighborhoodStack`, `BroadcastMap`);
- `Rescaling` by numbers becomes `<name>_scale` (MultiplyConstant) and `<name>`
  (AddConstant): an int8 MUL and ADD, as in the post-training int8 graph. (A 1x1
  `DepthwiseConv2D` on the 3 input channels, its earlier twin, made the QAT
  MobileNetV3-Small 0.23 ms slower at 224 px: XNNPACK's depthwise kernel is slow
  on 3 channels.) Per-channel `Rescaling` becomes that 1x1 `DepthwiseConv2D`
  (kernel = scale, bias = offset), one int8 op instead of a float MUL and ADD;
- `Activation("hard_silu")` (MobileNetV3's hard-swish) becomes four layers,
  `(x / 6) * relu6(x + 3)`: `<name>_div6` (MultiplyConstant), `<name>_add3`
  (AddConstant), `<name>_relu6` (ReLU) and `<name>` (Multiply). Each gets its
  own quantizer, so the int8 graph has an ADD with a fused RELU6 and two MULs,
  which XNNPACK runs, instead of an int8 HARD_SWISH, which it does not
  (`hckeras.export.int8_graph`);
- Keras 3 op nodes with a constant operand (`x + 3.0`, `x * (1 / 6)` in
  MobileNetV3's hard-sigmoid) become `AddConstant` / `MultiplyConstant`.

    twin = twin_from_keras3(probability_model(model))   # a tf_keras.Model

`tf_keras` is imported explicitly; `TF_USE_LEGACY_KERAS` is never set.
"""

import inspect

import numpy as np

from hckeras.export.int8_graph import HARD_SWISH_NAMES

KERAS3_ONLY_KEYS = (
    "dtype",
    "kernel_initializer",
    "bias_initializer",
    "kernel_regularizer",
    "bias_regularizer",
    "activity_regularizer",
    "kernel_constraint",
    "bias_constraint",
    "depthwise_initializer",
    "depthwise_regularizer",
    "depthwise_constraint",
    "beta_initializer",
    "gamma_initializer",
    "moving_mean_initializer",
    "moving_variance_initializer",
    "beta_regularizer",
    "gamma_regularizer",
    "beta_constraint",
    "gamma_constraint",
    "lora_rank",
    "lora_alpha",
    "quantization_config",
)

CONSTANT_OPS = {"Add": "AddConstant", "Multiply": "MultiplyConstant"}
"""Keras 3 op classes (`keras.src.ops.numpy`) with a constant operand -> twin class."""


def _tf_keras_layers():
    """tf_keras twins of the hckeras layers and of the Keras 3 pieces tf_keras lacks
    (built lazily: tf_keras is heavy)."""
    import tensorflow as tf
    import tf_keras

    from hckeras.layers.grid_streams import (
        stitch_streams,
        stream_bands,
        stream_count,
        stream_weights,
    )
    from hckeras.layers.grid_weights import grid_weights

    class GridInterpolation(tf_keras.layers.Layer):
        """tf_keras twin of `hckeras.layers.GridInterpolation` (eq. 3).

        `fixed_ranges=True` (for QAT) fake-quantizes the weighted terms and their
        sum to their known range [0, 1], so the converter keeps the MUL and SUM
        in int8; the float twin leaves it False.
        """

        def __init__(self, grid_size, fixed_ranges=False, **kwargs):
            super().__init__(**kwargs)
            self.grid_size = grid_size
            self.fixed_ranges = fixed_ranges

        def build(self, input_shape):
            size, channels = int(input_shape[1]), int(input_shape[3])
            self.num_maps = channels // (self.grid_size**2)
            self._alpha = np.tile(grid_weights(self.grid_size, size), (1, 1, self.num_maps))
            super().build(input_shape)

        def _unit_range(self, x):
            if not self.fixed_ranges:
                return x
            return tf.quantization.fake_quant_with_min_max_args(x, min=0.0, max=1.0)

        def call(self, scores):
            size, cells = int(scores.shape[1]), self.grid_size**2
            weighted = self._unit_range(tf.sigmoid(scores) * tf.constant(self._alpha))
            grouped = tf.reshape(weighted, (-1, size, size * self.num_maps, cells))
            summed = self._unit_range(tf.reduce_sum(grouped, axis=-1))
            return tf.reshape(summed, (-1, size, size, self.num_maps))

        def compute_output_shape(self, input_shape):
            return (*input_shape[:3], input_shape[3] // self.grid_size**2)

        def get_config(self):
            return {
                **super().get_config(),
                "grid_size": self.grid_size,
                "fixed_ranges": self.fixed_ranges,
            }

    class StitchGridStreams(tf_keras.layers.Layer):
        """tf_keras twin of `hckeras.layers.StitchGridStreams` (slices and concats)."""

        def __init__(self, grid_size, output_size, **kwargs):
            super().__init__(**kwargs)
            self.grid_size, self.output_size = grid_size, output_size

        def build(self, input_shape):
            self._rows = stream_bands(self.grid_size, self.output_size, int(input_shape[1]))
            self._columns = stream_bands(self.grid_size, self.output_size, int(input_shape[2]))
            super().build(input_shape)

        def call(self, scores):
            return stitch_streams(scores, self._rows, self._columns, self.grid_size, tf.concat)

        def compute_output_shape(self, input_shape):
            streams = stream_count(self.grid_size) ** 2
            return (*input_shape[:3], streams * input_shape[3] // self.grid_size**2)

        def get_config(self):
            return {
                **super().get_config(),
                "grid_size": self.grid_size,
                "output_size": self.output_size,
            }

    class GridStreamInterpolation(GridInterpolation):
        """tf_keras twin of `hckeras.layers.GridStreamInterpolation` (eq. 3 on grid
        streams); `fixed_ranges` as in `GridInterpolation`."""

        def build(self, input_shape):
            streams = stream_count(self.grid_size) ** 2
            size = int(input_shape[1])
            self.num_maps = int(input_shape[3]) // streams
            self._alpha = np.repeat(stream_weights(self.grid_size, size), self.num_maps, axis=-1)
            tf_keras.layers.Layer.build(self, input_shape)

        def call(self, scores):
            size, streams = int(scores.shape[1]), stream_count(self.grid_size) ** 2
            weighted = self._unit_range(tf.sigmoid(scores) * tf.constant(self._alpha))
            grouped = tf.reshape(weighted, (-1, size * size, streams, self.num_maps))
            summed = self._unit_range(tf.reduce_sum(grouped, axis=2))
            return tf.reshape(summed, (-1, size, size, self.num_maps))

        def compute_output_shape(self, input_shape):
            return (*input_shape[:3], input_shape[3] // stream_count(self.grid_size) ** 2)

    class TapScale(tf_keras.layers.Layer):
        """tf_keras twin of `hckeras.layers.TapScale`."""

        def __init__(self, scale=1.0, **kwargs):
            super().__init__(**kwargs)
            self.scale = float(scale)

        def build(self, input_shape):
            self.factor = self.add_weight(
                name="factor",
                shape=(),
                initializer=tf_keras.initializers.Constant(self.scale),
                trainable=self.trainable,
            )
            super().build(input_shape)

        def call(self, inputs):
            return inputs * self.factor

        def get_config(self):
            return {**super().get_config(), "scale": self.scale}

    class NeighborhoodStack(tf_keras.layers.Layer):
        """tf_keras twin of `hckeras.layers.NeighborhoodStack`."""

        def __init__(self, size, **kwargs):
            super().__init__(**kwargs)
            self.size = size

        def call(self, inputs):
            radius = (self.size - 1) // 2
            height, width = int(inputs.shape[1]), int(inputs.shape[2])
            padded = tf.pad(inputs, [[0, 0], [radius, radius], [radius, radius], [0, 0]])
            shifted = [
                padded[:, dy : dy + height, dx : dx + width, :]
                for dy in range(self.size)
                for dx in range(self.size)
            ]
            return tf.concat(shifted, axis=-1)

        def get_config(self):
            return {**super().get_config(), "size": self.size}

    class BroadcastMap(tf_keras.layers.Layer):
        """tf_keras twin of `hckeras.layers.BroadcastMap`."""

        def __init__(self, size, **kwargs):
            super().__init__(**kwargs)
            self.size = size

        def call(self, inputs):
            return inputs * tf.ones((1, self.size, self.size, 1), inputs.dtype)

        def get_config(self):
            return {**super().get_config(), "size": self.size}

    class AddConstant(tf_keras.layers.Layer):
        """`inputs + value` for a Python number `value`."""

        def __init__(self, value, **kwargs):
            super().__init__(**kwargs)
            self.value = float(value)

        def call(self, inputs):
            return inputs + self.value

        def get_config(self):
            return {**super().get_config(), "value": self.value}

    class MultiplyConstant(AddConstant):
        """`inputs * value` for a Python number `value`."""

        def call(self, inputs):
            return inputs * self.value

    return {
        "GridInterpolation": GridInterpolation,
        "GridStreamInterpolation": GridStreamInterpolation,
        "StitchGridStreams": StitchGridStreams,
        "TapScale": TapScale,
        "NeighborhoodStack": NeighborhoodStack,
        "BroadcastMap": BroadcastMap,
        "AddConstant": AddConstant,
        "MultiplyConstant": MultiplyConstant,
    }


_TWIN_LAYERS = None


def twin_layers():
    """Class name -> tf_keras twin class of each layer defined here."""
    global _TWIN_LAYERS
    if _TWIN_LAYERS is None:
        _TWIN_LAYERS = _tf_keras_layers()
    return _TWIN_LAYERS


def _twin_layer(class_name, config):
    import tf_keras

    cls = twin_layers().get(class_name) or getattr(tf_keras.layers, class_name, None)
    if cls is None:
        raise ValueError(
            f"layer {config.get('name')!r} ({class_name}) has no tf_keras counterpart for QAT; "
            "add a twin to hckeras/export/twin.py or export the int8 variant instead"
        )
    accepted = set(inspect.signature(cls.__init__).parameters) | {"name", "trainable"}
    return cls(**{k: v for k, v in config.items() if k in accepted and k not in KERAS3_ONLY_KEYS})


def _scalar(value):
    """`value` as a Python float if it is one number (a list of one included), else None."""
    array = np.asarray(value, np.float32)
    return float(array.reshape(-1)[0]) if array.size == 1 else None


def _scalar_rescaling_twin(x, name, scale, offset):
    """`Rescaling(scale, offset)` by the numbers `scale` and `offset` as
    MultiplyConstant and AddConstant."""
    layers = twin_layers()
    if not offset:
        return layers["MultiplyConstant"](scale, name=name)(x)
    scaled = layers["MultiplyConstant"](scale, name=f"{name}_scale")(x)
    return layers["AddConstant"](offset, name=name)(scaled)


def _rescaling_twin(config):
    """A 1x1 depthwise conv equal to a per-channel `Rescaling(scale, offset)` on 3
    channels, and its weights."""
    import tf_keras

    scale = np.broadcast_to(np.asarray(config["scale"], np.float32), (3,))
    offset = np.broadcast_to(np.asarray(config["offset"], np.float32), (3,))
    layer = tf_keras.layers.DepthwiseConv2D(1, name=config["name"])
    return layer, [scale.reshape(1, 1, 3, 1).copy(), offset.copy()]


def _twin_node(spec, args):
    """The twin layer of one Keras 3 layer (or op node) spec, the arguments to call
    it with, and weights to set (None: copy the source layer's)."""
    name, class_name, config = spec["name"], spec["class_name"], spec["config"]
    if spec.get("module", "").startswith("keras.src.ops") and class_name in CONSTANT_OPS:
        tensors = [a for a in args if not isinstance(a, int | float)]
        constants = [a for a in args if isinstance(a, int | float)]
        if len(tensors) == 1 and len(constants) == 1:
            layer = twin_layers()[CONSTANT_OPS[class_name]](constants[0], name=name)
            return layer, tensors, None
    if class_name == "Rescaling" and int(args[0].shape[-1]) == 3:
        layer, weights = _rescaling_twin(config)
        return layer, args, weights
    return _twin_layer(class_name, config), args, None


def _hard_swish_twin(x, name):
    """`(x / 6) * relu6(x + 3)` as four tf_keras layers (see the module docstring)."""
    import tf_keras

    layers = twin_layers()
    sixth = layers["MultiplyConstant"](1.0 / 6.0, name=f"{name}_div6")(x)
    shifted = layers["AddConstant"](3.0, name=f"{name}_add3")(x)
    gate = tf_keras.layers.ReLU(6.0, name=f"{name}_relu6")(shifted)
    return tf_keras.layers.Multiply(name=name)([sixth, gate])


def _dense_batch_norms(config, sources):
    """`{dense name: batch-norm name}` of Dense layers whose only consumer is a
    BatchNormalization (tfmot folds BN into convolutions, not into Dense)."""
    consumers = {}
    for spec in config["layers"]:
        for node in spec["inbound_nodes"]:
            for arg in node["args"]:
                if isinstance(arg, dict) and arg.get("class_name") == "__keras_tensor__":
                    consumers.setdefault(arg["config"]["keras_history"][0], []).append(spec)
    pairs = {}
    for name, specs in consumers.items():
        if (
            isinstance(sources.get(name), _keras_dense())
            and len(specs) == 1
            and specs[0]["class_name"] == "BatchNormalization"
            and len(specs[0]["inbound_nodes"]) == 1
        ):
            pairs[name] = specs[0]["name"]
    return pairs


def _keras_dense():
    import keras

    return keras.layers.Dense


def _folded_dense(dense, batch_norm):
    """Kernel and bias of `dense` followed by inference-mode `batch_norm`:
    `gamma (x W + b - mean) / sqrt(var + eps) + beta = x (W s) + (b - mean) s + beta`."""
    weights = dict(zip(("kernel", "bias"), dense.get_weights(), strict=False))
    mean = np.asarray(batch_norm.moving_mean, np.float64)
    variance = np.asarray(batch_norm.moving_variance, np.float64)
    gamma = 1.0 if batch_norm.gamma is None else np.asarray(batch_norm.gamma, np.float64)
    beta = 0.0 if batch_norm.beta is None else np.asarray(batch_norm.beta, np.float64)
    scale = gamma / np.sqrt(variance + batch_norm.epsilon)
    bias = weights.get("bias", 0.0)
    kernel = (weights["kernel"] * scale).astype(np.float32)
    return [kernel, ((bias - mean) * scale + beta).astype(np.float32)]


def twin_from_keras3(model):
    """A tf_keras functional model equal to the Keras 3 functional `model`.

    Same layer names and inbound connections, configs minus Keras-3-only keys,
    weights copied; the layers listed in the module docstring get their twins.
    A Dense layer followed only by BatchNormalization becomes one Dense with the
    (inference-mode) normalisation folded into its kernel and bias, and the
    normalisation's output is that Dense's: the quantized graph then fuses the
    activation after it, as tfmot does for Conv2D + BatchNormalization.
    """
    import tf_keras

    config = model.get_config()
    tensors = {}
    sources = {layer.name: layer for layer in model.layers}
    folded = _dense_batch_norms(config, sources)
    skipped = {bn: dense for dense, bn in folded.items()}

    def resolve(value):
        if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
            name, node, index = value["config"]["keras_history"]
            return tensors[(name, node, index)]
        if isinstance(value, list | tuple):
            return [resolve(v) for v in value]
        return value

    for spec in config["layers"]:
        name, layer_config = spec["name"], spec["config"]
        if spec["class_name"] == "InputLayer":
            shape = layer_config["batch_shape"]
            tensors[(name, 0, 0)] = tf_keras.Input(batch_shape=shape, name=name, dtype="float32")
            continue
        layer, weights = None, None
        if name in skipped:
            tensors[(name, 0, 0)] = tensors[(skipped[name], 0, 0)]
            continue
        if name in folded:
            spec = {**spec, "config": {**layer_config, "use_bias": True}}
            weights = _folded_dense(sources[name], sources[folded[name]])
        activation = layer_config.get("activation")
        if spec["class_name"] == "Activation" and activation in HARD_SWISH_NAMES:
            (node,) = spec["inbound_nodes"]
            tensors[(name, 0, 0)] = _hard_swish_twin(resolve(node["args"])[0], name)
            continue
        if spec["class_name"] == "Rescaling" and len(spec["inbound_nodes"]) == 1:
            scale, offset = _scalar(layer_config["scale"]), _scalar(layer_config["offset"])
            if scale is not None and offset is not None:
                (node,) = spec["inbound_nodes"]
                x = resolve(node["args"])[0]
                tensors[(name, 0, 0)] = _scalar_rescaling_twin(x, name, scale, offset)
                continue
        for node_index, node in enumerate(spec["inbound_nodes"]):
            args = resolve(list(node["args"]))
            kwargs = {k: resolve(v) for k, v in node["kwargs"].items() if k != "training"}
            if layer is None:
                layer, args, node_weights = _twin_node(spec, args)
                weights = node_weights if weights is None else weights
            else:
                args = [a for a in args if not isinstance(a, int | float)] or args
            outputs = layer(*args, **kwargs)
            for i, out in enumerate(outputs if isinstance(outputs, list | tuple) else [outputs]):
                tensors[(name, node_index, i)] = out
        if weights is not None:
            layer.set_weights(weights)
        elif name in sources and sources[name].weights:
            layer.set_weights(sources[name].get_weights())

    def endpoint(entry):
        return tensors[tuple(entry)]

    inputs = [endpoint(e) for e in _entries(config["input_layers"])]
    outputs = [endpoint(e) for e in _entries(config["output_layers"])]
    return tf_keras.Model(
        inputs[0] if len(inputs) == 1 else inputs,
        outputs[0] if len(outputs) == 1 else outputs,
        name=model.name,
    )


def _entries(value):
    return [value] if value and not isinstance(value[0], list | tuple) else value
