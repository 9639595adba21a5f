"""`hckeras evaluate --model`: the metric follows the model's task and a metric its
results cannot be scored with is an error before anything is predicted."""

import json

import cv2
import numpy as np
import pytest

from hckeras.cli.main import main
from hckeras.metrics.evaluate import METRICS, TASK_METRICS


@pytest.fixture
def workspace(tmp_path, saved_segmentation_model, categories):
    (tmp_path / "images").mkdir()
    cv2.imwrite(str(tmp_path / "images" / "000007.png"), np.zeros((60, 80, 3), np.uint8))
    gt = {
        "images": [{"id": 7, "file_name": "images/000007.png", "width": 80, "height": 60}],
        "annotations": [
            {
                "id": 1,
                "image_id": 7,
                "category_id": 1,
                "bbox": [10, 20, 20, 20],
                "area": 400,
                "iscrowd": 0,
                "segmentation": [[10, 20, 30, 20, 30, 40, 10, 40]],
            }
        ],
        "categories": categories,
    }
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    detections = [{"image_id": 7, "category_id": 1, "bbox": [10, 20, 40, 20], "score": 0.9}]
    (tmp_path / "dets.json").write_text(json.dumps(detections))
    return tmp_path


def _evaluate(workspace, *extra):
    argv = ["evaluate", "--model", str(workspace / "run" / "model.keras")]
    argv += ["--gt", str(workspace / "gt.json"), "--detections", str(workspace / "dets.json")]
    return main([*argv, "--json", str(workspace / "report.json"), *extra])


def test_every_task_lists_its_own_metric_first_and_only_known_metrics():
    assert {task: metrics[0] for task, metrics in TASK_METRICS.items()} == {
        "segmentation": "apr",
        "keypoints": "apk",
        "parts": "apr-part",
    }
    assert all(set(metrics) <= set(METRICS) for metrics in TASK_METRICS.values())


def test_the_model_task_metric_is_the_default(workspace):
    assert _evaluate(workspace) == 0
    report = json.loads((workspace / "report.json").read_text())
    assert report["metric"] == "apr" and report["columns"] == ["AP@0.5", "AP@0.7"]
    assert _evaluate(workspace, "--metric", "miou") == 0
    assert json.loads((workspace / "report.json").read_text())["metric"] == "miou"


def test_a_metric_the_model_cannot_be_scored_with_fails_before_predicting(
    workspace, monkeypatch, capsys
):
    def no_prediction(*args, **kwargs):
        raise AssertionError("predicted before checking the metric")

    monkeypatch.setattr("hckeras.inference.dataset.predict_dataset", no_prediction)
    assert _evaluate(workspace, "--metric", "apk") == 2
    error = capsys.readouterr().err
    assert "model.keras is a segmentation model; --metric apk" in error
    assert "valid for it: apr, miou" in error
    assert not (workspace / "report.json").exists()
