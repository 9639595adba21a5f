import json

import pytest

from hckeras.cli.main import main
from hckeras.data.synthetic import generate
from hckeras.training import TrainConfig, train


@pytest.mark.slow
def test_evaluate_predicts_with_a_model_first(tmp_path):
    gt = generate(tmp_path / "synth", 4, seed=11)
    config = TrainConfig(
        data=str(gt),
        backbone="tiny",
        input_size=32,
        output_size=8,
        grid_size=2,
        epochs=1,
        batch_size=8,
        workers=0,
    )
    model_path = train(config, tmp_path / "run", verbose=0)["model_path"]
    out = tmp_path / "apr.json"
    code = main(
        [
            "evaluate",
            "--model",
            str(model_path),
            "--gt",
            str(gt),
            "--detections",
            str(gt.parent / "detections_simulated.json"),
            "--json",
            str(out),
        ]
    )
    assert code == 0
    report = json.loads(out.read_text())
    assert report["metric"] == "apr" and report["columns"] == ["AP@0.5", "AP@0.7"]
    assert len(report["rows"]) == 3
    # The same numbers as predicting in Python and scoring those results.
    from hckeras.inference.dataset import predict_dataset
    from hckeras.inference.predictor import load_predictor
    from hckeras.metrics import evaluate_results

    results = predict_dataset(
        load_predictor(model_path), gt, gt.parent, gt.parent / "detections_simulated.json"
    )
    expected = json.loads(json.dumps(evaluate_results(gt, results, "apr")))
    assert report["rows"] == expected["rows"] and report["mean"] == expected["mean"]
    values = [v for row in report["rows"] for v in row["values"] if v is not None]
    assert values and all(0.0 <= v <= 1.0 for v in values)


def test_evaluate_model_needs_detections(tmp_path, capsys):
    gt = generate(tmp_path / "synth", 1, seed=1)
    code = main(["evaluate", "--model", str(tmp_path / "m.keras"), "--gt", str(gt)])
    assert code == 2 and "--model needs --detections" in capsys.readouterr().err
