import argparse
import contextlib
import io
import json
import re

import cv2
import numpy as np
import pytest
from pycocotools.coco import COCO

from hckeras.cli.predict import assign_image_ids, register


def _run(argv):
    parser = argparse.ArgumentParser(prog="hckeras")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["predict", *argv])
    return args.func(args)


@pytest.fixture
def workspace(tmp_path, saved_segmentation_model, categories):
    (tmp_path / "images").mkdir()
    image = np.zeros((60, 80, 3), np.uint8)
    image[:, 40:] = 200
    cv2.imwrite(str(tmp_path / "images" / "000007.png"), image)
    cv2.imwrite(str(tmp_path / "images" / "street.png"), image)
    detections = [
        {"image_id": 7, "category_id": 1, "bbox": [10, 20, 40, 20], "score": 0.9},
        {"image_id": 7, "category_id": 2, "bbox": [40, 5, 30, 30], "score": 0.3},
        {"image_id": 7, "category_id": 5, "bbox": [40, 5, 30, 30], "score": 0.8},
    ]
    (tmp_path / "dets.json").write_text(json.dumps(detections))
    gt = {
        "images": [
            {"id": 7, "file_name": "images/000007.png", "width": 80, "height": 60},
            {"id": 11, "file_name": "images/street.png", "width": 80, "height": 60},
        ],
        "annotations": [],
        "categories": categories,
    }
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    return tmp_path


def test_predict_writes_overlays_and_results(workspace, capsys):
    out = workspace / "out"
    argv = ["--model", str(workspace / "run" / "model.keras"), "--out", str(out)]
    argv += ["--image", str(workspace / "images" / "000007.png")]
    argv += ["--detections", str(workspace / "dets.json"), "--min-score", "0.5"]
    assert _run(argv) == 0
    overlay = cv2.imread(str(out / "000007_overlay.png"))
    assert overlay.shape == (60, 80, 3)
    results = json.loads((out / "results.json").read_text())
    assert [(r["image_id"], r["category_id"]) for r in results] == [(7, 1)]
    captured = capsys.readouterr()
    assert "1 predictions" in captured.out and "1 unknown_category" in captured.err


def test_predict_with_ground_truth_file_names(workspace):
    out = workspace / "out"
    argv = ["--model", str(workspace / "run" / "model.keras"), "--out", str(out)]
    argv += ["--image", str(workspace / "images" / "000007.png")]
    argv += [str(workspace / "images" / "street.png"), "--threshold", "0.9"]
    argv += ["--detections", str(workspace / "dets.json"), "--gt", str(workspace / "gt.json")]
    assert _run(argv) == 0
    assert (out / "street_overlay.png").is_file() and (out / "000007_overlay.png").is_file()
    coco = COCO(str(workspace / "gt.json"))
    with contextlib.redirect_stdout(io.StringIO()):
        loaded = coco.loadRes(str(out / "results.json"))
    assert len(loaded.anns) == 2


def test_predict_reports_bad_inputs(workspace):
    argv = ["--model", str(workspace / "run" / "model.keras"), "--out", str(workspace / "o")]
    argv += ["--detections", str(workspace / "dets.json")]
    with pytest.raises(FileNotFoundError, match="nope.png"):
        _run([*argv, "--image", str(workspace / "nope.png")])
    (workspace / "dets.json").write_text(
        json.dumps([{"image_id": i, "category_id": 1, "bbox": [0, 0, 5, 5]} for i in (1, 2)])
    )
    with pytest.raises(ValueError, match="pass --gt"):
        _run([*argv, "--image", str(workspace / "images" / "street.png")])


def test_assign_image_ids_rules(tmp_path):
    assert assign_image_ids(["a/000123.png"], {123, 5}) == [123]
    assert assign_image_ids(["a/street.png"], {5}) == [5]  # single image id: all of them
    assert assign_image_ids(["a/000009.png", "b/000123.png"], {123}) == [9, 123]
    assert assign_image_ids(["a/street.png"], set()) == [None]
    with pytest.raises(ValueError, match="cannot tell"):
        assign_image_ids(["a/street.png", "b/000123.png"], {123})
    images = [
        {"id": 1, "file_name": "train/x.png"},
        {"id": 2, "file_name": "val/x.png"},
        {"id": 3, "file_name": "val/y.png"},
    ]
    (tmp_path / "val").mkdir()
    assert assign_image_ids([tmp_path / "val" / "x.png"], set(), images) == [2]
    assert assign_image_ids([tmp_path / "y.png"], set(), images) == [3]  # same base name
    with pytest.raises(ValueError, match="several ground-truth file names"):
        assign_image_ids([tmp_path / "x.png"], set(), images)
    with pytest.raises(ValueError, match="not in the ground truth"):
        assign_image_ids([tmp_path / "z.png"], set(), images)


def test_ground_truth_image_without_height_names_file_and_entry(workspace):
    gt = json.loads((workspace / "gt.json").read_text())
    del gt["images"][1]["height"]
    (workspace / "gt.json").write_text(json.dumps(gt))
    argv = ["--model", str(workspace / "run" / "model.keras"), "--out", str(workspace / "o")]
    argv += ["--image", str(workspace / "images" / "000007.png")]
    argv += ["--detections", str(workspace / "dets.json"), "--gt", str(workspace / "gt.json")]
    message = f"ground-truth file {workspace / 'gt.json'}: images[1] (id 11) has no height"
    with pytest.raises(ValueError, match=re.escape(message)):
        _run(argv)


@pytest.mark.parametrize("which", ["--detections", "--gt"])
def test_malformed_json_names_the_file(workspace, which):
    broken = workspace / ("dets.json" if which == "--detections" else "gt.json")
    broken.write_text("[{")
    argv = ["--model", str(workspace / "run" / "model.keras"), "--out", str(workspace / "o")]
    argv += ["--image", str(workspace / "images" / "000007.png")]
    argv += ["--detections", str(workspace / "dets.json"), "--gt", str(workspace / "gt.json")]
    role = "detections file" if which == "--detections" else "ground-truth file"
    with pytest.raises(ValueError, match=re.escape(f"{role} {broken} is not a JSON file")):
        _run(argv)


def test_detections_that_are_not_a_list_name_the_file(workspace):
    (workspace / "dets.json").write_text(json.dumps({"image_id": 7}))
    argv = ["--model", str(workspace / "run" / "model.keras"), "--out", str(workspace / "o")]
    argv += ["--image", str(workspace / "images" / "000007.png")]
    argv += ["--detections", str(workspace / "dets.json")]
    message = f"detections file {workspace / 'dets.json'}: must be a COCO results list, got dict"
    with pytest.raises(ValueError, match=re.escape(message)):
        _run(argv)


def test_detection_without_bbox_names_the_file_and_entry(workspace):
    detections = json.loads((workspace / "dets.json").read_text())
    del detections[2]["bbox"]
    (workspace / "dets.json").write_text(json.dumps(detections))
    argv = ["--model", str(workspace / "run" / "model.keras"), "--out", str(workspace / "o")]
    argv += ["--image", str(workspace / "images" / "000007.png")]
    argv += ["--detections", str(workspace / "dets.json")]
    message = f"detections file {workspace / 'dets.json'}: detections[2] has no bbox"
    with pytest.raises(ValueError, match=re.escape(message)):
        _run(argv)


def test_nan_scores_are_skipped_and_counted_even_with_min_score(workspace, capsys):
    detections = json.loads((workspace / "dets.json").read_text())
    detections[1]["score"] = float("nan")
    (workspace / "dets.json").write_text(json.dumps(detections))
    out = workspace / "out"
    argv = ["--model", str(workspace / "run" / "model.keras"), "--out", str(out)]
    argv += ["--image", str(workspace / "images" / "000007.png")]
    argv += ["--detections", str(workspace / "dets.json"), "--min-score", "0.5"]
    assert _run(argv) == 0
    results = json.loads((out / "results.json").read_text())
    assert [(r["category_id"], r["score"]) for r in results] == [(1, 0.9)]
    assert "skipped 2 detections: 1 invalid_score, 1 unknown_category" in capsys.readouterr().err
