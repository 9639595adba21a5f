"""Category-conditional models: one category's maps, sliced before upsampling."""

import json

import numpy as np
import pytest

from hckeras import build_hypercolumn_model, probability_model
from hckeras.data.images import load_image
from hckeras.export.category_model import category_model
from hckeras.export.convert import export_tflite
from hckeras.export.litert_runner import CategoryRunner, LiteRTRunner, load_litert_runner
from hckeras.export.metadata import build_metadata, conditional_category
from hckeras.inference.predictor import Predictor, load_predictor


@pytest.mark.parametrize("backbone", ["tiny", "mobilenet_v3_small"])
def test_sliced_model_equals_the_categorys_channels(make_spec, rng, backbone):
    spec = make_spec(num_maps=3)
    model = build_hypercolumn_model(
        backbone, grid_size=4, num_maps=3, output_size=16, input_size=64
    )
    x = rng.uniform(0, 255, (2, 64, 64, 3)).astype("float32")
    full = np.asarray(probability_model(model)(x))
    for category_id in spec.layout.category_ids:
        sliced = np.asarray(probability_model(category_model(model, spec.layout, category_id))(x))
        assert sliced.shape == (2, 16, 16, 1)
        np.testing.assert_array_equal(sliced, full[..., spec.layout.maps_of(category_id)])
    with pytest.raises(ValueError, match="category id 9 is not predicted"):
        category_model(model, spec.layout, 9)


def test_metadata_names_the_category_and_bad_entries_fail(make_spec):
    spec = make_spec(num_maps=3)
    document = build_metadata(spec, "int8", category_id=2)
    assert document["category_conditional"]["category_name"] == "c2"
    assert document["output"]["shape"] == [1, 16, 16, 1]
    assert conditional_category(document, "m.tflite") == 2
    assert conditional_category(build_metadata(spec, "int8"), "m.tflite") is None
    with pytest.raises(ValueError, match="m.tflite: category_conditional metadata must give"):
        conditional_category({**document, "category_conditional": {"map_names": []}}, "m.tflite")
    no_list = {**document, "layout": {"task": "segmentation"}}
    with pytest.raises(ValueError, match="m.tflite: category-conditional metadata without"):
        conditional_category(no_list, "m.tflite")


def test_per_category_models_predict_like_the_full_model(trained_run, tmp_path):
    spec = trained_run.spec
    full = tmp_path / "model_fp32.tflite"
    export_tflite(trained_run.model_path, "fp32", full)
    for category_id in spec.layout.category_ids:
        export_tflite(
            trained_run.model_path, "fp32", tmp_path / f"model_fp32_cat{category_id}.tflite",
            category_id=category_id,
        )  # fmt: skip
    first = tmp_path / f"model_fp32_cat{spec.layout.category_ids[0]}.tflite"
    runner = load_litert_runner(first)
    assert isinstance(runner, CategoryRunner) and runner.category_ids == sorted(
        spec.layout.category_ids
    )
    gt = json.loads(trained_run.val_json.read_text())
    image = load_image(trained_run.val_json.parent / gt["images"][0]["file_name"])
    detections = [
        {**a, "score": 0.9} for a in gt["annotations"] if a["image_id"] == gt["images"][0]["id"]
    ]
    expected = load_predictor(full, num_threads=1).predict(image, detections)
    results = load_predictor(first, num_threads=1).predict(image, detections)
    assert len(results) == len(expected) > 0
    for a, b in zip(results, expected, strict=True):
        assert a["category_id"] == b["category_id"]
        assert np.abs(a["probability"] - b["probability"]).max() <= 1e-4

    # Bad input: an unknown category, one conditional model where all maps are expected,
    # a model with all maps where per-category models are expected.
    with pytest.raises(ValueError, match=r"no category-conditional model for category 99: .*cat"):
        runner.runner_for(99)
    with pytest.raises(ValueError, match=r"model_fp32_cat\d+.tflite is category-conditional"):
        Predictor(LiteRTRunner(first), spec)
    with pytest.raises(ValueError, match="model_fp32.tflite has every category's maps"):
        CategoryRunner([first, full])
