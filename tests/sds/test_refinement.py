"""System 1 end to end on a small synthetic split.

The "copying" refiner has every hypercolumn weight at zero but the inside map's (+20)
and a bias of -10: its probability is ~1 inside the candidate and ~0 outside, so the
refined masks must reproduce the candidates through the S x S grid and paste-back.
"""

import json

import numpy as np
import pytest
from pycocotools import mask as mask_utils

import hckeras
from hckeras.cli.main import main
from hckeras.data import synthetic
from hckeras.io import save_model_atomic
from hckeras.metrics.apr import evaluate_apr
from hckeras.metrics.overlaps import mask_iou
from hckeras.model_spec import ModelSpec, spec_path
from hckeras.sds.refinement import (
    compare_refinement,
    refine_candidates,
    refinement_examples,
    train_refiner,
)
from hckeras.sds.refiner import build_refiner, save_refiner
from hckeras.tasks import MapLayout

TAPS = {"fc7": 1, "conv4": 1, "pool2": 3}


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    out = tmp_path_factory.mktemp("system1")
    path = synthetic.generate(out, 6, seed=11)
    return path, out, out / "region_candidates.json"


@pytest.fixture(scope="module")
def mask_path(split, tmp_path_factory):
    categories = json.loads(split[0].read_text())["categories"]
    layout = MapLayout.from_categories(categories, "segmentation")
    model = hckeras.build_hypercolumn_model(
        "tiny", taps=TAPS, grid_size=2, num_maps=layout.num_maps, output_size=16, input_size=48
    )
    spec = ModelSpec(task="segmentation", layout=layout, backbone="tiny", taps=TAPS,
                     grid_size=2, output_size=16, input_size=(48, 48))  # fmt: skip
    path = tmp_path_factory.mktemp("mask") / "model.keras"
    save_model_atomic(model, path)
    spec.save(spec_path(path))
    return path


def _copying_refiner(mask_path):
    import keras

    model = keras.saving.load_model(mask_path, compile=False)
    spec = ModelSpec.load(spec_path(mask_path))
    refiner, refiner_spec = build_refiner(model, spec, grid_size=2)
    for layer in refiner.layers:
        if layer.name.endswith("_score"):
            kernel, bias = layer.get_weights()
            value = 20.0 if layer.name == "candidate_inside_score" else 0.0
            bias = np.full_like(bias, -10.0 if layer.name == "candidate_inside_score" else 0.0)
            layer.set_weights([np.full_like(kernel, value), bias])
    return refiner, refiner_spec


def _candidates(split):
    return json.loads(split[2].read_text())


def test_examples_pair_candidate_inputs_with_their_instance(split, mask_path):
    spec = ModelSpec.load(spec_path(mask_path))
    data = refinement_examples(spec, *split)
    report = data["report"]
    assert report["candidates"] == len(_candidates(split))
    assert report["used"] + report["unmatched"] == report["candidates"]
    assert report["unknown_category"] == 0
    count = 2 * report["used"]
    assert data["crops"].shape == (count, 48, 48, 3)
    assert data["inside"].shape == (count, 16, 16, 1)
    assert data["coarse"].shape == (count, 100)
    assert data["targets"].shape == (count, 16, 16, spec.layout.num_maps)
    assert np.all(data["overlaps"] >= 0.5)
    for target, category_id in zip(data["targets"], data["category_ids"], strict=True):
        own = spec.layout.maps_of(int(category_id))
        assert set(np.unique(target[..., own])) <= {0.0, 1.0}
        assert np.all(np.delete(target, own, axis=-1) == -1)
    # Odd examples are the even ones mirrored left to right.
    np.testing.assert_array_equal(data["crops"][1::2], data["crops"][0::2, :, ::-1])
    np.testing.assert_array_equal(data["inside"][1::2], data["inside"][0::2, :, ::-1])
    coarse = data["coarse"].reshape(count, 10, 10)
    np.testing.assert_array_equal(coarse[1::2], coarse[0::2, :, ::-1])


def test_a_copying_refiner_reproduces_the_candidates(split, mask_path):
    refiner, spec = _copying_refiner(mask_path)
    results, report = refine_candidates(refiner, spec, *split, threshold=0.5)
    candidates = _candidates(split)
    assert report["candidates"] == len(candidates) == len(results)
    assert report["unknown_category"] == 0
    ious = []
    for result, candidate in zip(results, candidates, strict=True):
        assert result["score"] == candidate["score"]
        assert result["category_id"] == candidate["category_id"]
        refined = mask_utils.decode(result["segmentation"]).astype(bool)
        ious.append(mask_iou(refined, mask_utils.decode(candidate["segmentation"]) > 0))
    # Through a 16 x 16 grid and back a boundary moves by up to half a cell (2-4 px
    # here; a 50 x 60 rectangle comes back at IoU 0.90), and these masks are blocky.
    assert np.median(ious) > 0.75 and min(ious) > 0.5


def test_table_rows_start_with_the_raw_candidates(split, mask_path, tmp_path):
    refiner, spec = _copying_refiner(mask_path)
    path = save_refiner(refiner, spec, tmp_path / "refiner.keras")
    rows, refined, _ = compare_refinement(path, *split, mask_path=mask_path)
    assert [row["method"] for row in rows] == [
        "candidates",
        "mask model on candidate boxes",
        "refined (System 1)",
    ]
    direct = np.array(list(evaluate_apr(split[0], _candidates(split)).values()))
    np.testing.assert_allclose([rows[0]["apr_50"], rows[0]["apr_70"]],
                               100 * np.nanmean(direct, axis=0))  # fmt: skip
    assert len(refined) == len(_candidates(split))
    # Copying the candidates keeps most of their APr at 0.5.
    assert rows[2]["apr_50"] > rows[0]["apr_50"] - 15


@pytest.mark.slow
def test_train_refiner_and_the_cli(split, mask_path, tmp_path):
    out = tmp_path / "refiner.keras"
    trained = train_refiner(mask_path, *split, out, val=split, epochs=2, batch_size=8)
    loss = trained["history"]["loss"]
    assert np.all(np.isfinite(loss)) and loss[-1] < loss[0]
    assert trained["threshold"] in trained["quality"]
    assert ModelSpec.load(spec_path(out)).thresholds["mask"] == trained["threshold"]
    gt, images, candidates = split
    cli_model = tmp_path / "cli.keras"
    args = ["train-refiner", "--model", str(mask_path), "--gt", str(gt), "--out",
            str(cli_model), "--epochs", "1", "--batch-size", "8"]  # fmt: skip
    assert main(args) == 0 and cli_model.is_file()
    assert main(["refine", "--refiner", str(cli_model), "--gt", str(gt), "--out",
                 str(tmp_path / "refined")]) == 0  # fmt: skip
    report = json.loads((tmp_path / "refined" / "report.json").read_text())
    assert [row["method"] for row in report["rows"]] == ["candidates", "refined (System 1)"]
    results = json.loads((tmp_path / "refined" / "results.json").read_text())
    assert len(results) == report["counts"]["candidates"] == len(json.loads(candidates.read_text()))


def test_candidates_of_categories_the_model_lacks_are_counted_not_used(split, mask_path):
    import dataclasses

    spec = ModelSpec.load(spec_path(mask_path))
    first = spec.layout.category_ids[0]
    layout = MapLayout("segmentation", (first,), spec.layout.category_names[:1],
                       spec.layout.map_names_per_category[:1])  # fmt: skip
    data = refinement_examples(dataclasses.replace(spec, layout=layout), *split, flip=False)
    report = data["report"]
    others = sum(c["category_id"] != first for c in _candidates(split))
    assert report["unknown_category"] == others > 0
    assert set(data["category_ids"]) == {first}
