"""`export_tflite`: a Keras hypercolumn model -> one LiteRT (`.tflite`) variant.

The exported graph is the probability model (`hckeras.probability_model`), in its
grid-stream form where the model allows it (`hckeras.export.grid_stream_model`: the
same probabilities from a lighter head), with a static batch of 1 (the GPU delegate
needs static shapes):

- input `(1, H, W, 3)` float32, RGB in [0, 255] (normalization is in the graph);
- output `(1, S, S, num_maps)` float32 probabilities.

Every variant keeps this float32 interface, int8 and qat included (QUANTIZE and
DEQUANTIZE at the edges cost little next to the convolutions and spare the app
a second input path). The hckeras metadata (`hckeras.export.metadata`) is
embedded in the file and written beside it as JSON (`out.json`). Files are
written atomically: an interrupted export leaves no half-written `.tflite`.

    export_tflite("runs/x/model.keras", "fp16", "out/model_fp16.tflite")
"""

import re
from pathlib import Path

from hckeras.export.category_model import category_model
from hckeras.export.grid_stream_model import export_graph
from hckeras.export.int8_graph import int8_graph
from hckeras.export.metadata import build_metadata, embed_metadata
from hckeras.export.quantization import GPU_VARIANTS, QuantizationConfig
from hckeras.io import write_bytes_atomic, write_json_atomic

INPUT_NAME = "image"


def load_keras_model(path):
    """A saved `.keras` model (safe mode) and its `ModelSpec` sidecar (or None)."""
    import keras

    import hckeras.layers  # noqa: F401  (registers the hckeras layers)
    import hckeras.losses  # noqa: F401
    from hckeras.model_spec import ModelSpec, spec_path

    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"cannot export {path}: expected a .keras model file")
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} does not exist")
    model = keras.saving.load_model(path, compile=False, safe_mode=True)
    sidecar = spec_path(path)
    return model, (ModelSpec.load(sidecar) if sidecar.is_file() else None)


def static_probability_model(model):
    """`model`'s probability graph on a `(1, H, W, 3)` input named "image".

    Accepts the training model (5-D logits) or a probability model (4-D).
    """
    import keras

    from hckeras.models import probability_model

    if len(model.outputs) != 1 or len(model.inputs) != 1:
        raise ValueError(f"model {model.name!r} must have one input and one output to export")
    if len(model.outputs[0].shape) == 5:
        model = probability_model(model)
    if len(model.outputs[0].shape) != 4:
        raise ValueError(
            f"model {model.name!r} outputs shape {tuple(model.outputs[0].shape)}; expected "
            "(B, S, S, num_maps) probabilities or (B, S, S, num_maps, K*K) logits"
        )
    height, width, channels = model.inputs[0].shape[1:]
    if None in (height, width) or channels != 3:
        raise ValueError(
            f"model {model.name!r} input {tuple(model.inputs[0].shape)} must be (B, H, W, 3) "
            "with a fixed H and W to export"
        )
    inputs = keras.Input((height, width, 3), batch_size=1, name=INPUT_NAME)
    return keras.Model(inputs, model(inputs), name=f"{model.name}_static")


def _check_backend():
    import keras

    if keras.backend.backend() != "tensorflow":
        raise ValueError(
            f"LiteRT export needs the TensorFlow backend, but Keras runs on "
            f"{keras.backend.backend()!r}; set KERAS_BACKEND=tensorflow (the saved .keras file "
            "loads on any backend)"
        )


def convert_keras(model, config, layer_names=()):
    """`tf.lite.TFLiteConverter.from_keras_model(model)` set up by `config`, converted.

    A conversion failure is re-raised as `ValueError` naming the model layer the
    converter's message points at (searched in `layer_names`).
    """
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    config.apply(converter, tuple(model.inputs[0].shape))
    try:
        return converter.convert()
    except Exception as error:  # the converter raises several private error types
        raise conversion_error(error, layer_names, config.variant) from error


def conversion_error(error, layer_names, variant):
    """A `ValueError` naming the layer (and TensorFlow op) that `error`'s message
    points at; the converter's locations look like `.../<layer name>_1/<Op>@...`."""
    text = str(error)
    culprits = [n for n in layer_names if re.search(rf"/{re.escape(n)}(_\d+)?/", text)]
    ops = sorted(set(re.findall(r"'tf\.(\w+)' op", text)))
    what = (
        f"TensorFlow op(s) {', '.join(ops)} without a LiteRT builtin"
        if ops
        else (text.strip().splitlines()[0] if text.strip() else type(error).__name__)
    )
    if culprits:
        return ValueError(
            f"the LiteRT converter cannot convert layer {culprits[-1]!r} ({variant} variant): "
            f"{what}. Rewrite that layer with keras.ops that have LiteRT builtin kernels "
            "(no Lambda, no Python-side loops, tensors of rank <= 4), or leave it out of the "
            "probability graph"
        )
    return ValueError(
        f"the LiteRT converter failed ({variant} variant): {what}. Check that every layer "
        "uses keras.ops with LiteRT builtin kernels"
    )


def finish_export(tflite_bytes, out_path, spec, config, extra=None, category_id=None):
    """Embed metadata, run the GPU preflight for GPU variants, write atomically.

    `category_id`: the category of a category-conditional model (its metadata).

    Returns the metadata document that was written.
    """
    from hckeras.export.preflight import check_gpu_compatible, gpu_compatibility

    out_path = Path(out_path)
    if config.variant in GPU_VARIANTS:
        problems = check_gpu_compatible(tflite_bytes, f"the {config.variant} export {out_path}")
        gpu = {"gpu_compatible": True, "gpu_problems": problems}
    else:
        ok, problems = gpu_compatibility(tflite_bytes)
        gpu = {"gpu_compatible": ok, "gpu_problems": problems}
    document = build_metadata(
        spec,
        config.variant,
        config.describe(),
        input_name=INPUT_NAME,
        extra={**gpu, **(extra or {})},
        category_id=category_id,
    )
    data = embed_metadata(tflite_bytes, document)
    write_bytes_atomic(out_path, data)
    write_json_atomic(out_path.with_suffix(".json"), document)
    return document


def export_tflite(
    model_or_path,
    variant,
    out_path,
    spec=None,
    representative_data=None,
    category_id=None,
    head="auto",
):
    """Export one variant of a hypercolumn model as a `.tflite` file with metadata.

    Args:
        model_or_path: a `keras.Model` from `build_hypercolumn_model` (or its
            probability model), or the path of a saved `.keras` file (loaded in
            safe mode, with its `ModelSpec` sidecar).
        variant: "fp32", "fp16", "dynamic" or "int8" (for "qat" use
            `hckeras.export.qat.export_qat`), or a `QuantizationConfig`.
        out_path: the `.tflite` file to write; `out_path.with_suffix(".json")`
            gets the same metadata as JSON.
        spec: the model's `ModelSpec` (default: the sidecar of the `.keras` file).
        representative_data: int8 only: float32 `(N, H, W, 3)` calibration crops.
        category_id: export a category-conditional model with only this
            category's maps (`hckeras.export.category_model`); None: all maps.
        head: "auto", "streams" or "dense" (`hckeras.export.grid_stream_model`):
            eq. 3 on grid streams (the same probabilities, a lighter head) where
            the model allows it; the metadata's `head` says which was written.

    Returns:
        the metadata document (a dict) written into the file.

    Raises:
        ValueError: unknown variant, bad representative data, a layer the
            converter cannot handle (named), or a GPU variant that the GPU
            delegate cannot run (ops named).
    """
    _check_backend()
    if isinstance(model_or_path, str | Path):
        model, saved_spec = load_keras_model(model_or_path)
        spec = spec or saved_spec
    else:
        model = model_or_path
    if spec is None:
        raise ValueError(
            "export needs the model's ModelSpec (pass spec=..., or keep the model's .json "
            "sidecar next to the .keras file)"
        )
    config = variant if isinstance(variant, QuantizationConfig) else None
    if config is None:
        if variant == "qat":
            raise ValueError("the qat variant is exported by hckeras.export.qat.export_qat")
        config = QuantizationConfig.for_variant(variant, representative_data)
    if category_id is not None:
        model = category_model(model, spec.layout, category_id)
    graph, form = export_graph(model, head)
    static = static_probability_model(graph)
    _check_spec(static, spec, category_id)
    if config.variant == "int8":
        static = int8_graph(static)
    names = [layer.name for layer in graph.layers]
    tflite_bytes = convert_keras(static, config, names)
    return finish_export(
        tflite_bytes, out_path, spec, config, extra={"head": form}, category_id=category_id
    )


def _check_spec(model, spec, category_id=None):
    height, width = model.inputs[0].shape[1:3]
    size, maps = model.outputs[0].shape[1], model.outputs[0].shape[3]
    if (height, width) != tuple(spec.input_size) or size != spec.output_size:
        raise ValueError(
            f"the model ({height}x{width} -> {size}x{size}) does not match its spec "
            f"(input_size {tuple(spec.input_size)}, output_size {spec.output_size})"
        )
    expected = spec.layout.num_maps
    if category_id is not None:
        channels = spec.layout.maps_of(category_id)
        expected = channels.stop - channels.start
    if maps != expected:
        raise ValueError(f"the model has {maps} maps but its spec's layout has {expected}")
