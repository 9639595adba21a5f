"""Quantization-aware training (QAT) of a saved hypercolumn model, then int8 export.

tfmot works on tf_keras (Keras 2) models only, so the Keras 3 probability graph
is rebuilt layer by layer as a tf_keras "twin" (same layer names, configs and
weights; the hckeras layers get tf_keras twins with the same math), annotated
for quantization (tfmot's default 8-bit scheme where it knows the layer, an
output-only 8-bit quantizer for `Resizing` and the hckeras layers), wrapped by
`quantize_apply`, fine-tuned with `fit` on the same data pipeline and composite
loss (`hckeras.losses.hypercolumn_loss`, whose keras.ops run on tf tensors),
and converted to an int8 `.tflite` with float32 input and output. The float
model is never modified.

    export_qat("runs/x/model.keras", "out/model_qat.tflite", train_data=train,
               config=QATConfig(epochs=2))

`tf_keras` is imported explicitly; `TF_USE_LEGACY_KERAS` is never set.
"""

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from hckeras.export.grid_stream_model import export_graph
from hckeras.export.twin import twin_from_keras3, twin_layers


@dataclass
class QATConfig:
    """QAT hyper-parameters.

    Attributes:
        epochs: fine-tuning epochs.
        learning_rate: Adam learning rate (small: the float weights are trained).
        steps_per_epoch: batches per epoch (None: the whole training set).
        loss_mode: `HypercolumnLoss` mode, "interpolated" or "cell".
        calibration_crops: training crops whose activation ranges initialise the
            quantizers (`calibrate_ranges`).
    """

    epochs: int = 2
    learning_rate: float = 1e-4
    steps_per_epoch: int | None = None
    loss_mode: str = "interpolated"
    calibration_crops: int = 64

    def __post_init__(self):
        if self.epochs < 0:
            raise ValueError(f"epochs must be >= 0, got {self.epochs}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")


def quantize_configs():
    """Two tfmot `QuantizeConfig` classes for layers tfmot's registry does not know:
    `OutputQuantizeConfig` (an 8-bit asymmetric moving-average quantizer on the
    output only) and `NoQuantizeConfig` (no quantizer at all: the layer's output
    keeps its input's scale, or the op after it fuses with it)."""
    import tensorflow_model_optimization as tfmot

    quantizers = tfmot.quantization.keras.quantizers

    class NoQuantizeConfig(tfmot.quantization.keras.QuantizeConfig):
        def get_weights_and_quantizers(self, layer):
            return []

        def get_activations_and_quantizers(self, layer):
            return []

        def set_quantize_weights(self, layer, quantize_weights):
            pass

        def set_quantize_activations(self, layer, quantize_activations):
            pass

        def get_output_quantizers(self, layer):
            return []

        def get_config(self):
            return {}

    class OutputQuantizeConfig(NoQuantizeConfig):
        def get_output_quantizers(self, layer):
            return [
                quantizers.MovingAverageQuantizer(
                    num_bits=8, per_axis=False, symmetric=False, narrow_range=False
                )
            ]

    return {"NoQuantizeConfig": NoQuantizeConfig, "OutputQuantizeConfig": OutputQuantizeConfig}


FOLDING_LAYERS = ("Conv2D", "DepthwiseConv2D")
"""Layers into which tfmot's transforms fold a following BatchNormalization."""
SAME_SCALE_LAYERS = ("Resizing", "StitchGridStreams")
"""Layers whose output keeps the input's quantization (no quantizer of their own): an
int8 RESIZE_BILINEAR with different input and output scales costs a requantize, and
grid-stream stitching only slices and concatenates."""

INTERPOLATION_LAYERS = {
    "GridInterpolation": "grid_interpolation",
    "GridStreamInterpolation": "grid_stream_interpolation",
}
"""Eq. 3 layers (fixed [0, 1] ranges in QAT) -> their layer name in the probability graph."""


def _inbound_layers(layer):
    node = layer.inbound_nodes[0] if layer.inbound_nodes else None
    if node is None:
        return []
    inbound = node.inbound_layers
    return list(inbound) if isinstance(inbound, list | tuple) else [inbound]


def _consumers(model):
    """Layer name -> the layers that take its output."""
    consumers = {layer.name: [] for layer in model.layers}
    for layer in model.layers:
        for source in _inbound_layers(layer):
            consumers[source.name].append(layer)
    return consumers


def folds_into_conv(layer, consumers):
    """Whether `layer` is a BatchNormalization that tfmot folds into the conv
    before it: that conv has a linear activation and no other consumer."""
    if type(layer).__name__ != "BatchNormalization":
        return False
    inbound = _inbound_layers(layer)
    if len(inbound) != 1 or type(inbound[0]).__name__ not in FOLDING_LAYERS:
        return False
    conv = inbound[0]
    return conv.get_config().get("activation") == "linear" and len(consumers[conv.name]) == 1


def annotation_plan(twin):
    """Layer name -> how `quantize_twin` annotates it.

    "tfmot": tfmot's own scheme (its registry, or its Conv2D/DepthwiseConv2D +
    BatchNormalization (+ ReLU) transforms, which fold the BN and fuse the
    activation: a custom config on the BN would stop them); "output": an output
    quantizer; "weights": tfmot's conv weight quantizer only (a linear Conv2D
    whose output only feeds concatenations, the classifier blocks); "none": no
    quantizer (the same-scale layers, resizing and grid-stream stitching; a
    concatenation that only feeds concatenations; a constant add that a ReLU
    after it fuses with; the eq. 3 layers, whose ranges are fixed). A tree of
    concatenations thus has one quantizer, on its root, whose scale the
    converter gives every tensor in it (a quantizer per input would cost a
    requantize per concatenation).
    """
    import tf_keras
    from tensorflow_model_optimization.python.core.quantization.keras.default_8bit import (
        default_8bit_quantize_registry,
    )

    registry = default_8bit_quantize_registry.Default8BitQuantizeRegistry()
    consumers = _consumers(twin)
    plan = {}
    for layer in twin.layers:
        kind = type(layer).__name__
        after = consumers[layer.name]
        if isinstance(layer, tf_keras.layers.InputLayer):
            continue
        into_concatenation = bool(after) and all(
            type(consumer).__name__ == "Concatenate" for consumer in after
        )
        if into_concatenation and kind == "Concatenate":
            plan[layer.name] = "none"
        elif (
            into_concatenation
            and kind == "Conv2D"
            and layer.get_config().get("activation") == "linear"
        ):
            plan[layer.name] = "weights"
        elif registry.supports(layer) or folds_into_conv(layer, consumers):
            plan[layer.name] = "tfmot"
        elif kind in (*SAME_SCALE_LAYERS, *INTERPOLATION_LAYERS):
            plan[layer.name] = "none"
        elif kind == "AddConstant" and len(after) == 1 and type(after[0]).__name__ == "ReLU":
            plan[layer.name] = "none"
        else:
            plan[layer.name] = "output"
    return plan


def quantize_twin(twin):
    """`quantize_apply` on `twin`, every layer annotated by `annotation_plan`."""
    import tensorflow_model_optimization as tfmot
    import tf_keras
    from tensorflow_model_optimization.python.core.quantization.keras.default_8bit.default_8bit_quantize_registry import (  # noqa: E501
        Default8BitConvQuantizeConfig,
    )

    configs = quantize_configs()
    plan = annotation_plan(twin)
    annotate = tfmot.quantization.keras.quantize_annotate_layer

    def clone(layer):
        if isinstance(layer, tf_keras.layers.InputLayer):
            return layer.__class__.from_config(layer.get_config())
        if type(layer).__name__ in INTERPOLATION_LAYERS:
            layer = layer.__class__.from_config({**layer.get_config(), "fixed_ranges": True})
        kind = plan[layer.name]
        if kind == "tfmot":
            return annotate(layer)
        if kind == "weights":
            return annotate(
                layer, quantize_config=Default8BitConvQuantizeConfig(["kernel"], [], False)
            )
        config = configs["OutputQuantizeConfig" if kind == "output" else "NoQuantizeConfig"]
        return annotate(layer, quantize_config=config())

    annotated = tf_keras.models.clone_model(twin, clone_function=clone)
    scope = {
        **configs,
        **twin_layers(),
        "Default8BitConvQuantizeConfig": Default8BitConvQuantizeConfig,
    }
    with tfmot.quantization.keras.quantize_scope(scope):
        return tfmot.quantization.keras.quantize_apply(annotated)


RANGE_SUFFIXES = ("post_activation", "output", "quantize_layer")


def calibrate_ranges(quantized, float_model, crops, batch_size=8):
    """Start the activation quantizers at the float model's observed ranges.

    tfmot's moving-average quantizers start at [-6, 6] and move with decay
    0.999, so a short fine-tune would keep those ranges (for probabilities in
    [0, 1] that is a 0.05 step). Each quantizer of `quantized` whose layer has
    the same name in `float_model` gets that layer's output range on `crops`
    (widened to include 0); the input quantizer gets the range of the crops.
    """
    import tf_keras

    layers = [
        layer for layer in float_model.layers if not isinstance(layer, tf_keras.layers.InputLayer)
    ]
    probe = tf_keras.Model(float_model.inputs, [layer.output for layer in layers])
    low = {layer.name: 0.0 for layer in layers}
    high = dict(low)
    crops = np.asarray(crops, dtype=np.float32)
    for start in range(0, len(crops), batch_size):
        outputs = probe(crops[start : start + batch_size], training=False)
        for layer, value in zip(layers, outputs, strict=True):
            value = np.asarray(value)
            low[layer.name] = min(low[layer.name], float(value.min()))
            high[layer.name] = max(high[layer.name], float(value.max()))
    low["quantize_layer"] = min(0.0, float(crops.min()))
    high["quantize_layer"] = max(0.0, float(crops.max()))
    for layer in quantized.layers:
        inner = getattr(layer, "layer", None)
        name = layer.name if inner is None else inner.name
        if type(layer).__name__ == "QuantizeLayer":
            # The input quantizer: "quantize_layer_1", ... once tfmot has built one before.
            name = "quantize_layer"
        if name not in low:
            continue
        for variable in layer.non_trainable_weights:
            short = variable.name.split("/")[-1].split(":")[0]
            if short.startswith(RANGE_SUFFIXES) and short.endswith("_min"):
                variable.assign(np.full(variable.shape, low[name], np.float32))
            elif short.startswith(RANGE_SUFFIXES) and short.endswith("_max"):
                variable.assign(np.full(variable.shape, high[name], np.float32))
        if inner is not None:
            _weight_ranges(layer)


def _weight_ranges(wrapper):
    """Set the weight quantizers' ranges of a `QuantizeWrapper` to its weights'
    symmetric range (per output channel where the quantizer is per-axis), as
    tfmot's weight quantizers do on each training step: without it, a model
    that is not fine-tuned (epochs=0) keeps their initial [-6, 6] and rounds
    small kernels to zero."""
    weights = {w.name.split("/")[-1].split(":")[0]: np.asarray(w) for w in wrapper.weights}
    for variable in wrapper.non_trainable_weights:
        short = variable.name.split("/")[-1].split(":")[0]
        base, _, bound = short.rpartition("_")
        if bound not in ("min", "max") or base not in weights:
            continue
        size = int(np.prod(variable.shape))
        extent = np.abs(weights[base]).reshape(-1, size).max(axis=0)
        ranged = -extent if bound == "min" else extent
        variable.assign(np.reshape(ranged, variable.shape).astype(np.float32))


def qat_loss(grid_size, output_size, num_maps, mode="interpolated", streams=False):
    """The composite loss on 4-D scores, reusing `hckeras.losses.hypercolumn_loss`
    (keras.ops on tf tensors): dense scores `(B, S, S, num_maps * K*K)`, or with
    `streams` the grid-stream scores `(B, S, S, streams * num_maps)` with their
    weights (`hckeras.layers.grid_streams`: the same loss, the zero-weight terms
    left out)."""
    import tensorflow as tf

    from hckeras.layers.grid_streams import stream_cell_weights, stream_count, stream_weights
    from hckeras.layers.grid_weights import cell_weights, grid_weights
    from hckeras.losses.hypercolumn_loss import hypercolumn_loss

    if streams:
        weights = stream_weights if mode == "interpolated" else stream_cell_weights
        count = stream_count(grid_size) ** 2
        alpha = weights(grid_size, output_size)

        def loss(y_true, scores):
            grouped = tf.reshape(scores, (-1, output_size, output_size, count, num_maps))
            return hypercolumn_loss(y_true, tf.transpose(grouped, (0, 1, 2, 4, 3)), alpha)

        return loss
    alpha = (grid_weights if mode == "interpolated" else cell_weights)(grid_size, output_size)
    shape = (-1, output_size, output_size, num_maps, grid_size * grid_size)

    def loss(y_true, scores):
        return hypercolumn_loss(y_true, tf.reshape(scores, shape), alpha)

    return loss


def _batches(dataset):
    """Endless `(x, y[, w])` batches of a `PyDataset` (epochs reshuffle)."""
    while True:
        for index in range(len(dataset)):
            yield tuple(dataset[index])
        dataset.on_epoch_end()


def _first_crops(dataset, count):
    crops, total = [], 0
    for index in range(len(dataset)):
        if total >= count:
            break
        crops.append(np.asarray(dataset[index][0], dtype=np.float32)[: count - total])
        total += len(crops[-1])
    return np.concatenate(crops)


def train_qat(model, train_data, config=None, validation_data=None, head="auto"):
    """Quantization-aware fine-tuning of a copy of `model`.

    Args:
        model: a Keras 3 hypercolumn model (training model or probability model);
            it is not modified.
        train_data: `hckeras.data.training_dataset(...)` batches (a PyDataset).
        config: `QATConfig`.
        validation_data: optional validation PyDataset.
        head: the probability graph's form, "auto", "streams" or "dense"
            (`hckeras.export.grid_stream_model.export_graph`): QAT fine-tunes
            the graph that is exported.

    Returns:
        `(qat_model, history)`: a tf_keras model from crops to probabilities,
        with fake-quant nodes, ready for `convert_qat`; its name ends in
        "_streams" when it runs eq. 3 on grid streams.
    """
    import tf_keras

    from hckeras.models import probability_model

    config = config or QATConfig()
    model, form = export_graph(model, head)
    if len(model.outputs[0].shape) == 5:
        model = probability_model(model)
    twin = twin_from_keras3(model)
    streams = form == "grid_streams"
    interpolation = twin.get_layer(
        INTERPOLATION_LAYERS["GridStreamInterpolation" if streams else "GridInterpolation"]
    )
    two_outputs = tf_keras.Model(twin.input, [interpolation.input, twin.output], name=twin.name)
    quantized = quantize_twin(two_outputs)
    calibrate_ranges(quantized, two_outputs, _first_crops(train_data, config.calibration_crops))
    scores_name, probs_name = quantized.output_names
    size, grid = int(twin.output.shape[1]), interpolation.grid_size
    maps = int(twin.output.shape[3])
    quantized.compile(
        optimizer=tf_keras.optimizers.Adam(config.learning_rate),
        loss={
            scores_name: qat_loss(grid, size, maps, config.loss_mode, streams),
            probs_name: None,
        },
    )
    steps = config.steps_per_epoch or len(train_data)

    def with_dict_targets(batches):
        for batch in batches:
            yield (
                batch[0],
                {scores_name: batch[1]},
                *(({scores_name: batch[2]},) if len(batch) > 2 else ()),
            )

    history = None
    if config.epochs:
        fit_kwargs = {}
        if validation_data is not None:
            fit_kwargs = {
                "validation_data": with_dict_targets(_batches(validation_data)),
                "validation_steps": len(validation_data),
            }
        history = quantized.fit(
            with_dict_targets(_batches(train_data)),
            epochs=config.epochs,
            steps_per_epoch=steps,
            verbose=0,
            **fit_kwargs,
        )
    probabilities = tf_keras.Model(quantized.input, quantized.outputs[1], name=f"{twin.name}_qat")
    return probabilities, history


def convert_qat(qat_model):
    """int8 `.tflite` bytes of a QAT tf_keras model, float32 input and output,
    static batch 1."""
    import tensorflow as tf

    from hckeras.export.quantization import QuantizationConfig

    height, width = qat_model.input.shape[1:3]
    signature = tf.TensorSpec((1, height, width, 3), tf.float32, name="image")
    function = tf.function(lambda x: qat_model(x, training=False), input_signature=[signature])
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [function.get_concrete_function()], qat_model
    )
    QuantizationConfig.for_qat().apply(converter)
    return converter.convert()


def export_qat(
    model_or_path,
    out_path,
    train_data,
    spec=None,
    config=None,
    validation_data=None,
    category_id=None,
    head="auto",
):
    """QAT-fine-tune a copy of a saved model and write an int8 `.tflite` with metadata.

    Args:
        model_or_path: a `.keras` path (safe-mode load, spec from its sidecar) or model.
        out_path: the `.tflite` to write (and `.json` beside it).
        train_data: training batches (`hckeras.data.training_dataset`).
        spec: the `ModelSpec` (default: the `.keras` sidecar).
        config: `QATConfig`.
        validation_data: optional validation batches.
        category_id: fine-tune and export a category-conditional model with only
            this category's maps (`hckeras.export.category_model`).
        head: "auto", "streams" or "dense", as in `export_tflite`.

    Returns:
        the metadata document written into the file.
    """
    from hckeras.export.convert import _check_backend, finish_export, load_keras_model
    from hckeras.export.quantization import QuantizationConfig

    _check_backend()
    config = config or QATConfig()
    if isinstance(model_or_path, str | Path):
        model, saved_spec = load_keras_model(model_or_path)
        spec = spec or saved_spec
    else:
        model = model_or_path
    if spec is None:
        raise ValueError("QAT export needs the model's ModelSpec (spec=... or the .json sidecar)")
    if category_id is not None:
        from hckeras.export.category_model import CategoryBatches, category_model

        model = category_model(model, spec.layout, category_id)
        train_data = CategoryBatches(train_data, spec.layout, category_id)
        if validation_data is not None:
            validation_data = CategoryBatches(validation_data, spec.layout, category_id)
    model, form = export_graph(model, head)
    qat_model, history = train_qat(model, train_data, config, validation_data, head)
    losses = [] if history is None else [float(v) for v in history.history.get("loss", [])]
    extra = {"qat": {**asdict(config), "loss_per_epoch": losses}, "head": form}
    return finish_export(
        convert_qat(qat_model), out_path, spec, QuantizationConfig.for_qat(), extra, category_id
    )
