"""`hckeras evaluate`: parses, prints a table, writes the JSON report atomically."""

import argparse
import json
import re

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from hckeras.cli import evaluate

MASK = np.pad(np.ones((4, 4), np.uint8), 2)  # 8 x 8 image
PERSON = {"id": 1, "name": "person", "keypoints": ["top", "bottom"], "torso": [["top"], ["bottom"]]}


def write_dataset(folder):
    rle = mask_utils.encode(np.asfortranarray(MASK))
    rle["counts"] = rle["counts"].decode("ascii")
    annotation = {"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0, "segmentation": rle}
    gt = {
        "images": [{"id": 1, "width": 8, "height": 8, "file_name": "1.png"}],
        "annotations": [{**annotation, "keypoints": [4, 2, 2, 4, 6, 2]}],
        "categories": [PERSON, {"id": 2, "name": "dog"}],
    }
    results = [
        {
            "image_id": 1,
            "category_id": 1,
            "score": 0.9,
            "segmentation": rle,
            "keypoints": [4, 2, 1] * 2,
        }
    ]
    (folder / "gt.json").write_text(json.dumps(gt))
    (folder / "results.json").write_text(json.dumps(results))
    return folder / "gt.json", folder / "results.json"


def _parse(argv):
    parser = argparse.ArgumentParser()
    evaluate.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["evaluate", *argv])


def test_evaluate_prints_and_writes_json(tmp_path, capsys):
    gt_path, results_path = write_dataset(tmp_path)
    out = tmp_path / "report.json"
    args = _parse(["--gt", str(gt_path), "--results", str(results_path), "--json", str(out)])
    # No --metric: results files are scored with apr (a --model, with its task's metric).
    assert (args.metric, args.iou, args.ap_method) == (None, [0.5, 0.7], "voc")
    assert args.func(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["apr", "(voc)", "AP@0.5", "AP@0.7"]
    assert lines[1].split() == ["person", "1.0000", "1.0000"]
    assert lines[2].split() == ["dog", "-", "-"]
    assert lines[-1].split() == ["mean", "1.0000", "1.0000"]
    assert json.loads(out.read_text())["metric"] == "apr"
    assert json.loads(out.read_text())["mean"] == [1.0, 1.0]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_evaluate_apk_table_has_keypoint_rows(tmp_path, capsys):
    gt_path, results_path = write_dataset(tmp_path)
    args = _parse(["--gt", str(gt_path), "--results", str(results_path), "--metric", "apk"])
    args.func(args)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["apk", "person", "top", "bottom", "mean"]


def test_evaluate_rejects_unknown_choices(tmp_path):
    with pytest.raises(SystemExit):
        _parse(["--gt", "a", "--results", "b", "--metric", "ap"])


def test_degenerate_ground_truth_is_skipped_by_id_not_counted(tmp_path, capsys):
    gt_path, results_path = write_dataset(tmp_path)
    gt = json.loads(gt_path.read_text())
    base = {"image_id": 1, "category_id": 1, "iscrowd": 0}
    gt["annotations"] += [
        {**base, "id": 7, "segmentation": [[1, 1, 5, 5]]},  # 2 points: pycocotools crashes
        {**base, "id": 8, "segmentation": [[1, 1, 3, 3, 5, 5]]},  # collinear: zero area
    ]
    gt_path.write_text(json.dumps(gt))
    out = tmp_path / "report.json"
    args = _parse(["--gt", str(gt_path), "--results", str(results_path), "--json", str(out)])
    assert args.func(args) == 0
    captured = capsys.readouterr()
    # One detection, one real object: AP 1 (0.5 if either degenerate polygon counted).
    assert captured.out.splitlines()[1].split() == ["person", "1.0000", "1.0000"]
    assert f"{gt_path}: skipped ground-truth annotations: 2" in captured.err
    assert "degenerate_polygon: annotations 7, 8 (polygon 0 has 4 coordinates)" in captured.err
    report = json.loads(out.read_text())
    assert report["mean"] == [1.0, 1.0]
    assert report["skipped"]["annotations"] == {
        "degenerate_polygon": [
            {"id": 7, "detail": "polygon 0 has 4 coordinates"},
            {"id": 8, "detail": "polygon 0 has zero area"},
        ]
    }


def test_valid_ground_truth_reports_no_skips(tmp_path, capsys):
    gt_path, results_path = write_dataset(tmp_path)
    out = tmp_path / "report.json"
    args = _parse(["--gt", str(gt_path), "--results", str(results_path), "--json", str(out)])
    args.func(args)
    assert capsys.readouterr().err == ""
    assert json.loads(out.read_text())["skipped"] == {
        "counts": {},
        "annotations": {},
        "missing_files": [],
    }


@pytest.mark.parametrize("which", ["--gt", "--results"])
def test_malformed_json_names_the_file(tmp_path, which):
    gt_path, results_path = write_dataset(tmp_path)
    broken = gt_path if which == "--gt" else results_path
    broken.write_text('{"images": [')
    args = _parse(["--gt", str(gt_path), "--results", str(results_path)])
    role = "ground-truth file" if which == "--gt" else "results file"
    message = f"{role} {broken} is not a JSON file: Expecting value: line 1 column 13"
    with pytest.raises(ValueError, match=re.escape(message)):
        args.func(args)


@pytest.mark.parametrize(
    ("results", "message"),
    [
        ({"image_id": 1}, r"results\.json: must be a list of dicts, got dict"),
        (
            [{"image_id": 1, "category_id": 1, "segmentation": [], "score": None}],
            r"results\.json: results\[0\]: score None is not a finite number",
        ),
        (
            [{"image_id": 1, "category_id": 1, "segmentation": []}],
            r"results\.json: results\[0\] has no 'score' field",
        ),
    ],
)
def test_bad_results_name_the_file_and_the_entry(tmp_path, results, message):
    gt_path, results_path = write_dataset(tmp_path)
    results_path.write_text(json.dumps(results))
    args = _parse(["--gt", str(gt_path), "--results", str(results_path)])
    with pytest.raises(ValueError, match=message):
        args.func(args)


def test_nan_score_is_rejected_never_ranked(tmp_path):
    gt_path, results_path = write_dataset(tmp_path)
    results = json.loads(results_path.read_text())
    results.append({**results[0], "score": float("nan")})
    results_path.write_text(json.dumps(results))  # writes the NaN literal, as json allows
    args = _parse(["--gt", str(gt_path), "--results", str(results_path)])
    with pytest.raises(ValueError, match=r"results\[1\]: score nan is not a finite number"):
        args.func(args)
