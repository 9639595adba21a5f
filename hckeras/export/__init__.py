"""Edge export: Keras hypercolumn models -> LiteRT (`.tflite`) files with metadata.

    from hckeras.export import QuantizationConfig, export_tflite
    export_tflite("runs/x/model.keras", "fp16", "out/model_fp16.tflite")

Modules, one job each: `quantization` (variant -> converter settings), `convert`
(Keras -> `.tflite`), `metadata` (embedded JSON, read without TensorFlow),
`litert_runner` (inference), `preflight` (GPU-delegate check), `parity` (LiteRT vs
Keras), `qat` (quantization-aware training) on the tf_keras `twin`, `int8_graph`
(int8-friendly rewrites), `category_model` (category-conditional models),
`grid_stream_model` (eq. 3 on grid streams, the export head of models with 4 or
more maps), `classifier_blocks` (its finer taps' score convs, one per classifier
band), `profile` (XNNPACK partitions and ops outside them), `benchmark` (the
export table).
Heavy imports (TensorFlow, tfmot) happen inside functions.
"""

from hckeras.export.metadata import read_metadata
from hckeras.export.quantization import VARIANTS, QuantizationConfig

__all__ = ["VARIANTS", "QuantizationConfig", "export_tflite", "read_metadata"]


def __getattr__(name):
    if name == "export_tflite":
        from hckeras.export.convert import export_tflite

        return export_tflite
    raise AttributeError(name)
