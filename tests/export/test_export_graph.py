"""The int8 and QAT graphs run as one XNNPACK partition (hckeras issue 10).

Each converted graph must have its BatchNormalization folded and its
activations fused (no float MUL/ADD or standalone RELU between a conv and its
activation), QUANTIZE/DEQUANTIZE only at the float32 input and output, and no
op that XNNPACK leaves to the builtin kernels (an int8 HARD_SWISH is one).
"""

import keras
import numpy as np
import pytest

from hckeras import build_hypercolumn_model, probability_model
from hckeras.export.convert import convert_keras, export_tflite, static_probability_model
from hckeras.export.int8_graph import int8_graph
from hckeras.export.litert_runner import LiteRTRunner
from hckeras.export.parity import compare_outputs
from hckeras.export.profile import GraphProfile, graph_problems, profile_tflite
from hckeras.export.qat import QATConfig, convert_qat, export_qat, train_qat
from hckeras.export.quantization import QuantizationConfig

pytest.importorskip("ai_edge_litert")


def _qat_bytes(model, crops):
    qat_model, _ = train_qat(model, [(crops, None)], QATConfig(epochs=0))
    return convert_qat(qat_model)


def _with_data_statistics(model, crops):
    """Set every BatchNormalization's moving statistics to those of `crops` (an
    untrained model's unit statistics would give activations far out of range)."""
    norms = [
        layer
        for layer in model._flatten_layers()
        if isinstance(layer, keras.layers.BatchNormalization)
    ]
    for layer in norms:
        layer.momentum = 0.0
    model(crops, training=True)
    for layer in norms:
        layer.momentum = 0.99
    return model


def test_problems_name_partitions_outside_ops_and_unfused_activations():
    profile = GraphProfile(
        ops=("QUANTIZE", "CONV_2D", "DEQUANTIZE", "MUL", "QUANTIZE", "RELU", "DEQUANTIZE"),
        partitions=3,
        outside=("RELU",),
        inner_quantize=("DEQUANTIZE", "QUANTIZE"),
        float_ops=("MUL",),
    )
    problems = "; ".join(graph_problems(profile))
    for text in ("3 XNNPACK partitions", "outside XNNPACK: RELU", "inside the graph", "MUL"):
        assert text in problems
    assert "standalone (unfused) activations: RELU" in problems


def test_trained_tiny_int8_and_qat_are_one_partition(trained_run, tmp_path):
    int8 = tmp_path / "int8.tflite"
    export_tflite(
        trained_run.model_path, "int8", int8, representative_data=trained_run.calibration_crops
    )
    qat = tmp_path / "qat.tflite"
    export_qat(trained_run.model_path, qat, trained_run.train, config=QATConfig(epochs=0))
    keras_model = keras.saving.load_model(trained_run.model_path)
    reference = probability_model(keras_model).predict(trained_run.held_out_crops[:16], verbose=0)
    for path in (int8, qat):
        profile = profile_tflite(path)
        assert graph_problems(profile) == [], (path.name, profile.ops)
        assert profile.counts()["QUANTIZE"] == 1 and profile.counts()["DEQUANTIZE"] == 1
        # The input's rescaling is an int8 MUL and ADD in both graphs (a 1x1 depthwise
        # conv on 3 channels made QAT MobileNetV3-Small 15% slower than int8).
        assert profile.ops[:4] == ("QUANTIZE", "MUL", "ADD", "CONV_2D"), (path.name, profile.ops)
        parity = compare_outputs(LiteRTRunner(path)(trained_run.held_out_crops[:16]), reference)
        assert parity["mean_mask_iou"] >= 0.9, (path.name, parity)


@pytest.mark.slow
@pytest.mark.parametrize(
    "backbone", ["mobilenet_v3_small", "mobilenet_v3_large", "mobilenet_v3_small_minimalistic"]
)
def test_mobilenet_v3_int8_and_qat_keep_hard_swish_and_squeeze_excite_on_xnnpack(backbone):
    keras.utils.set_random_seed(0)
    crops = np.random.default_rng(0).uniform(0, 255, (8, 64, 64, 3)).astype(np.float32)
    model = build_hypercolumn_model(
        backbone, grid_size=2, num_maps=1, output_size=16, input_size=64
    )
    model = _with_data_statistics(model, crops)
    int8 = convert_keras(
        int8_graph(static_probability_model(model)), QuantizationConfig.for_int8(crops)
    )
    for data in (int8, _qat_bytes(model, crops)):
        profile = profile_tflite(data)
        assert graph_problems(profile) == [], profile.ops
        assert "HARD_SWISH" not in profile.ops


@pytest.mark.parametrize(
    ("taps", "resizes"),
    # 64 px crops: conv4 is 8 x 8 and resized to S = 16; pool2 is already 16 x 16.
    [({"fc7": 1}, 0), ({"fc7": 1, "conv4": 1, "pool2": 3}, 1)],
)
def test_fc_taps_broadcast_without_resize_and_pass_the_gpu_preflight(
    make_spec, taps, resizes, tmp_path
):
    model = build_hypercolumn_model("tiny", taps=taps, grid_size=4, num_maps=2, output_size=16)
    path = tmp_path / "m.tflite"
    document = export_tflite(model, "fp32", path, spec=make_spec())
    assert document["gpu_compatible"]
    ops = profile_tflite(path).ops
    assert "BROADCAST_TO" not in ops and ops.count("RESIZE_BILINEAR") == resizes
    x = np.random.default_rng(0).uniform(0, 255, (2, 64, 64, 3)).astype(np.float32)
    expected = probability_model(model).predict(x, verbose=0)
    np.testing.assert_allclose(LiteRTRunner(path)(x), expected, atol=1e-5)
