import json

import cv2
import numpy as np

from hckeras.cli.main import main
from hckeras.data.images import load_image
from hckeras.export.convert import export_tflite
from hckeras.inference.predictor import load_predictor


def test_tflite_predictor_matches_keras_predictor(trained_run, tmp_path):
    tflite = tmp_path / "model_fp32.tflite"
    export_tflite(trained_run.model_path, "fp32", tflite, spec=trained_run.spec)
    gt = json.loads(trained_run.val_json.read_text())
    image = load_image(trained_run.val_json.parent / gt["images"][0]["file_name"])
    detections = [a for a in gt["annotations"] if a["image_id"] == gt["images"][0]["id"]]
    detections = [{**d, "score": 0.9} for d in detections]
    keras_results = load_predictor(trained_run.model_path).predict(image, detections)
    litert_results = load_predictor(tflite, num_threads=1).predict(image, detections)
    assert len(keras_results) == len(litert_results) > 0
    for a, b in zip(keras_results, litert_results, strict=True):
        assert np.abs(a["probability"] - b["probability"]).max() <= 1e-4
        assert (a["mask"] != b["mask"]).mean() < 1e-3


def test_predict_command_runs_a_tflite_model(trained_run, tmp_path):
    tflite = tmp_path / "model_fp16.tflite"
    export_tflite(trained_run.model_path, "fp16", tflite, spec=trained_run.spec)
    val = trained_run.val_json.parent
    gt = json.loads(trained_run.val_json.read_text())
    image = val / gt["images"][0]["file_name"]
    code = main(
        [
            "predict",
            "--model",
            str(tflite),
            "--image",
            str(image),
            "--gt",
            str(trained_run.val_json),
            "--detections",
            str(val / "detections_simulated.json"),
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert code == 0
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    info = gt["images"][0]
    detections = json.loads((val / "detections_simulated.json").read_text())
    expected = [
        d
        for d in detections
        if d["image_id"] == info["id"] and d["category_id"] in trained_run.spec.layout.category_ids
    ]
    assert len(results) == len(expected) > 0
    assert {r["image_id"] for r in results} == {info["id"]}
    assert [r["category_id"] for r in results] == [d["category_id"] for d in expected]
    assert all(r["segmentation"]["size"] == [info["height"], info["width"]] for r in results)
    overlay = cv2.imread(str(tmp_path / "out" / f"{image.stem}_overlay.png"))
    assert overlay.shape == (info["height"], info["width"], 3)
