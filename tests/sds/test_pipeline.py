"""Tests of `hckeras.sds.pipeline`, `hckeras sds` and `hckeras train-rescorer` on the
rectangle data set of conftest.py (its docstring gives the hand-computed overlaps)."""

import json

import numpy as np
import pytest

from hckeras.cli.main import main
from hckeras.inference.predictor import load_predictor
from hckeras.sds.pipeline import collect_examples, rescore, run_sds, scoring_predictor
from hckeras.sds.raw_pool import read_raw_pool


@pytest.fixture(scope="module")
def predictor(mask_model_path):
    return load_predictor(mask_model_path)


def _paths(rect_dataset):
    return rect_dataset / "annotations.json", rect_dataset, rect_dataset / "detections_raw.json"


def test_training_examples_are_labelled_by_mask_overlap(predictor, rect_dataset):
    gt, images, raw = _paths(rect_dataset)
    data = collect_examples(predictor, gt, images, raw, features="region_network")
    # Per image the pool is A (IoU 1: positive), C (0.58: ignored), D (1/3: negative).
    np.testing.assert_allclose(data["overlaps"], [1, 1 / 3, 1, 1 / 3])
    assert data["labels"].tolist() == [1, 0, 1, 0]
    assert data["category_ids"].tolist() == [1, 1, 1, 1]
    assert data["box"].shape == data["region"].shape == (4, 32, 32, 3)
    assert "features" not in data
    report = data["report"]
    assert (report["raw"], report["kept"], report["added"], report["pool"]) == (8, 4, 2, 6)
    assert (report["positives"], report["negatives"], report["ignored"]) == (2, 2, 2)
    # The candidate's mask is its whole box, so the region crop is the box crop.
    np.testing.assert_array_equal(data["box"], data["region"])


def test_mask_pass_examples_are_the_box_networks_fc7_and_tap_means(predictor, rect_dataset):
    import keras

    gt, images, raw = _paths(rect_dataset)
    data = collect_examples(predictor, gt, images, raw, pooled_taps=("conv4",))
    plain = collect_examples(predictor, gt, images, raw, features="region_network")
    assert "box" not in data and data["features"].shape == (4, 32 + 16)
    np.testing.assert_array_equal(data["labels"], plain["labels"])
    # Its first columns are what the paper's (frozen) box network computes on the box crop.
    model = predictor.runner.model
    box_network = keras.Model(model.input, model.get_layer("fc7").output)
    fc7 = box_network.predict(plain["box"], verbose=0)
    np.testing.assert_allclose(data["features"][:, :32], fc7, rtol=1e-5, atol=1e-6)


def test_label_overlaps_are_options(predictor, rect_dataset):
    gt, images, raw = _paths(rect_dataset)
    data = collect_examples(predictor, gt, images, raw, positive=0.5, negative=0.3)
    # A (1) and C (0.58) are now positive, D (1/3) lies between 0.3 and 0.5: ignored.
    np.testing.assert_allclose(data["overlaps"], [1, 22 / 38, 1, 22 / 38])
    assert data["labels"].tolist() == [1, 1, 1, 1]
    assert data["report"]["ignored"] == 2


def test_system_2_without_rescorer_keeps_the_best_region(predictor, rect_dataset):
    gt, images, raw = _paths(rect_dataset)
    results, counts = run_sds(predictor, gt, images, raw)
    # Region NMS at 0.3: A suppresses C (0.58) and D (1/3).
    assert [(r["image_id"], r["bbox"], r["score"]) for r in results] == [
        (1, [10.0, 10.0, 30.0, 30.0], 0.9),
        (2, [10.0, 10.0, 30.0, 30.0], 0.9),
    ]
    assert all(r["box_score"] == r["score"] and r["source"] == "kept" for r in results)
    assert counts["pool"] == 6 and counts["final"] == 2 and counts["outside"] == 0
    assert counts["final_added"] == 0
    # A, a kept box, is each object's mask exactly.
    assert counts["coverage"] == {
        "objects": 2,
        "kept_mean_best_iou": 1.0,
        "kept_above_0.5": 2,
        "kept_above_0.7": 2,
        "pool_mean_best_iou": 1.0,
        "pool_above_0.5": 2,
        "pool_above_0.7": 2,
    }
    # At 0.35, D (1/3) survives.
    results, _ = run_sds(predictor, gt, images, raw, region_nms_threshold=0.35)
    assert [r["score"] for r in results] == [0.9, 0.5, 0.9, 0.5]


@pytest.mark.parametrize("features", ["mask_pass", "region_network", "none"])
def test_rescored_results_carry_the_rescorer_scores(
    predictor, rect_dataset, make_mask_spec, features
):
    import keras

    from hckeras.sds.rescorer import CUES, RescorerSpec, build_rescorer

    keras.utils.set_random_seed(0)
    taps = ("conv4",) if features == "mask_pass" else ()
    spec = RescorerSpec.for_mask_spec(make_mask_spec(), features=features, pooled_taps=taps)
    model = build_rescorer(predictor.runner.model, make_mask_spec(), CUES, False, features, taps)
    rescorer = (model, spec)
    gt, images, raw = _paths(rect_dataset)
    results, counts = run_sds(predictor, gt, images, raw, rescorer=rescorer)
    assert counts["final"] == len(results) >= 2
    from hckeras.data.images import load_image

    image = load_image(images / "images" / "000001.png")
    pool = [r for r in read_raw_pool(raw) if r["image_id"] == 1]
    candidates = scoring_predictor(predictor, features, taps).predict(image, pool)
    expected = rescore(rescorer, image, candidates, predictor.spec)
    first = [r for r in results if r["image_id"] == 1]
    assert {r["box_score"] for r in first} <= {0.9, 0.8, 0.6, 0.5}
    for entry in first:
        assert np.isclose(expected, entry["score"], atol=1e-6).any()


def _write(path, value):
    path.write_text(json.dumps(value))
    return path


def test_bad_raw_pools_are_errors_naming_the_file(predictor, rect_dataset, tmp_path):
    gt, images, raw = _paths(rect_dataset)
    entries = json.loads(raw.read_text())
    for score, message in ((float("nan"), "score nan"), (-0.2, "score -0.2")):
        bad = _write(tmp_path / "bad.json", [*entries[:2], {**entries[2], "score": score}])
        with pytest.raises(ValueError, match=rf"raw pool .*bad\.json: entry 2 has {message}"):
            run_sds(predictor, gt, images, bad)
    with pytest.raises(ValueError, match=r"empty\.json: the pool is empty"):
        run_sds(predictor, gt, images, _write(tmp_path / "empty.json", []))
    unknown = _write(tmp_path / "unknown.json", [{**entries[0], "image_id": 99}])
    with pytest.raises(ValueError, match=r"unknown\.json: image ids \[99\]"):
        run_sds(predictor, gt, images, unknown)


def test_coverage_shows_a_better_box_the_expansion_adds(predictor, rect_dataset, tmp_path):
    gt, images, _ = _paths(rect_dataset)
    # The top box is 6 px off (IoU 24/36 with the object); the exact box scores lower, is
    # suppressed (IoU 2/3 >= 0.5) and added back (2/3 < 0.7).
    raw = [
        {"image_id": 1, "category_id": 1, "bbox": [16, 10, 30, 30], "score": 0.9},
        {"image_id": 1, "category_id": 1, "bbox": [10, 10, 30, 30], "score": 0.5},
    ]
    results, counts = run_sds(predictor, gt, images, _write(tmp_path / "shifted.json", raw))
    coverage = counts["coverage"]
    assert coverage["objects"] == 1
    assert coverage["kept_mean_best_iou"] == pytest.approx(2 / 3)
    assert (coverage["kept_above_0.5"], coverage["kept_above_0.7"]) == (1, 0)
    assert coverage["pool_mean_best_iou"] == 1.0 and coverage["pool_above_0.7"] == 1
    # Region NMS keeps the higher box score: the exact mask goes without a rescorer.
    assert [(r["score"], r["source"]) for r in results] == [(0.9, "kept")]
    assert counts["added"] == 1 and counts["final_added"] == 0


def test_boxes_outside_the_image_are_dropped_and_counted(predictor, rect_dataset, tmp_path):
    gt, images, raw = _paths(rect_dataset)
    entries = json.loads(raw.read_text())
    outside = {**entries[0], "bbox": [70.0, 5.0, 10.0, 10.0], "score": 0.99}
    results, counts = run_sds(
        predictor, gt, images, _write(tmp_path / "o.json", entries + [outside])
    )
    assert counts["outside"] == 1 and counts["raw"] == 8 and len(results) == 2


def test_cli_trains_a_rescorer_and_runs_system_2(mask_model_path, rect_dataset, tmp_path, capsys):
    gt, _, raw = _paths(rect_dataset)
    rescorer = tmp_path / "rescorer.keras"
    common = ["--raw-detections", str(raw), "--gt", str(gt)]
    train = ["train-rescorer", "--model", str(mask_model_path), *common, "--out", str(rescorer)]
    assert main([*train, "--epochs", "1", "--batch-size", "4"]) == 0
    assert "2 positive, 2 negative, 2 ignored" in capsys.readouterr().err
    out = tmp_path / "sds"
    args = ["sds", "--model", str(mask_model_path), *common, "--out", str(out)]
    assert main(args) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["counts"]["pool_over_kept"] == 1.5
    assert report["apr"]["rows"][0]["values"] == [1.0, 1.0]
    assert len(json.loads((out / "results.json").read_text())) == 2
    assert main([*args, "--rescore", str(rescorer)]) == 0
    rescored = json.loads((out / "results.json").read_text())
    assert {r["box_score"] for r in rescored} <= {0.9, 0.8, 0.6, 0.5}
    assert all(0 < r["score"] < 1 for r in rescored)


def test_cli_rejects_inverted_label_overlaps(mask_model_path, rect_dataset, tmp_path, capsys):
    gt, _, raw = _paths(rect_dataset)
    args = ["train-rescorer", "--model", str(mask_model_path), "--raw-detections", str(raw)]
    args += ["--gt", str(gt), "--out", str(tmp_path / "r.keras"), "--negative", "0.8"]
    assert main(args) == 2
    assert "need 0 <= --negative <= --positive <= 1, got 0.8 and 0.7" in capsys.readouterr().err


def test_cli_rejects_a_rescorer_of_other_categories(
    mask_model_path, rect_dataset, tmp_path, capsys, make_mask_model, make_mask_spec
):
    from hckeras.sds.rescorer import RescorerSpec, build_rescorer, save_rescorer

    other = make_mask_spec(categories=[{"id": 1, "name": "box"}, {"id": 9, "name": "cone"}])
    rescorer = save_rescorer(
        build_rescorer(make_mask_model(), other),
        RescorerSpec.for_mask_spec(other),
        tmp_path / "other.keras",
    )
    gt, _, raw = _paths(rect_dataset)
    args = ["sds", "--model", str(mask_model_path), "--rescore", str(rescorer)]
    args += ["--raw-detections", str(raw), "--gt", str(gt), "--out", str(tmp_path / "o")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "other.keras was trained for another mask model than" in err
    assert "categories [1, 9] vs [1, 2]" in err


def test_cli_mask_scoring_is_the_alternative_to_a_rescorer(
    mask_model_path, rect_dataset, tmp_path, capsys
):
    gt, _, raw = _paths(rect_dataset)
    out = tmp_path / "sds"
    args = ["sds", "--model", str(mask_model_path), "--raw-detections", str(raw), "--gt", str(gt)]
    assert main([*args, "--out", str(out), "--scoring", "mask"]) == 0
    results = json.loads((out / "results.json").read_text())
    assert json.loads((out / "report.json").read_text())["scoring"] == "mask"
    assert {r["box_score"] for r in results} <= {0.9, 0.8, 0.6, 0.5}
    for r in results:
        assert 0.99 < r["mask_quality"] <= 1.0  # the model's masks are all ~1 inside
        assert r["score"] == pytest.approx(r["box_score"] * r["mask_quality"])
    rescore = ["--rescore", str(tmp_path / "r.keras"), "--scoring", "mask"]
    assert main([*args, "--out", str(out), *rescore]) == 2
    assert "--rescore gives the scores" in capsys.readouterr().err


def test_cli_trains_each_kind_of_rescorer_and_rejects_contradictions(
    mask_model_path, rect_dataset, tmp_path, capsys
):
    from hckeras.sds.rescorer import load_rescorer

    gt, _, raw = _paths(rect_dataset)
    train = ["train-rescorer", "--model", str(mask_model_path), "--raw-detections", str(raw)]
    train += ["--gt", str(gt), "--epochs", "1"]
    for extra, names in (
        (["--pooled-taps", "conv4,pool2"], ["features", "category", "cues"]),
        (["--features", "region_network", "--cues", "none"], ["box", "region", "category"]),
        (["--features", "none", "--cues", "mask_quality"], ["category", "cues"]),
    ):
        out = tmp_path / f"{len(names)}_{extra[1]}.keras"
        assert main([*train, "--out", str(out), *extra]) == 0
        model, spec = load_rescorer(out)
        assert [t.name for t in model.inputs] == names
    assert spec.features == "none" and spec.cues == ("mask_quality",)
    mask_pass = load_rescorer(tmp_path / "3_conv4,pool2.keras")[1]
    assert mask_pass.features == "mask_pass" and mask_pass.pooled_taps == ("conv4", "pool2")
    capsys.readouterr()
    for extra, message in (
        (["--fine-tune-region"], "add --features region_network"),
        (["--features", "none", "--cues", "none"], "--cues none leaves nothing"),
        (["--features", "none", "--pooled-taps", "conv4"], "--pooled-taps is for --features"),
        (["--pooled-taps", "conv9"], "backbone 'tiny' has no 'conv9' tap"),
    ):
        assert main([*train, "--out", str(tmp_path / "bad.keras"), *extra]) == 2
        assert message in capsys.readouterr().err


def test_mask_pass_rescoring_needs_the_keras_model_and_features_of_its_width(
    predictor, make_mask_spec
):
    from hckeras.inference.predictor import Predictor
    from hckeras.sds.rescorer import RescorerSpec, build_rescorer

    spec = make_mask_spec()
    boxes = Predictor(lambda crops: np.ones((len(crops), 8, 8, 2), "float32"), spec)
    assert scoring_predictor(boxes, "region_network") is boxes
    with pytest.raises(ValueError, match="reads the Keras mask model's fc7 .* FunctionRunner"):
        scoring_predictor(boxes, "mask_pass")
    model = build_rescorer(predictor.runner.model, spec)  # fc7 alone: 32 features
    rescorer = (model, RescorerSpec.for_mask_spec(spec))
    result = {"category_id": 1, "score": 0.9, "mask_quality": 1.0, "features": np.ones(3)}
    with pytest.raises(ValueError, match="carry 3 mask-pass features but the rescorer takes 32"):
        rescore(rescorer, np.zeros((8, 8, 3)), [result], spec)
