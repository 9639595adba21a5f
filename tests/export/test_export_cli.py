"""`hckeras export`: variants, table, report files and floors."""

import argparse
import json

import pytest

from hckeras.cli import export as export_cli

pytestmark = pytest.mark.slow


def parse(argv):
    parser = argparse.ArgumentParser()
    export_cli.register(parser.add_subparsers())
    return parser.parse_args(["export", *argv])


def test_export_command_writes_every_variant_and_the_table(trained_run, tmp_path, capsys):
    out = tmp_path / "export"
    args = parse(
        [
            str(trained_run.model_path),
            "--variants", "fp32,int8",
            "--data", str(trained_run.val_json),
            "--out", str(out),
            "--runs", "3",
            "--eval-count", "32",
            "--calibration-count", "32",
            "--per-category",
        ]
    )  # fmt: skip
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    assert "| fp32 | yes | yes | yes |" in printed and "| backbone |" in printed
    report = json.loads((out / "export_report.json").read_text())
    assert [row["variant"] for row in report] == [
        "fp32", "fp32 per category", "int8", "int8 per category", "backbone",
    ]  # fmt: skip
    assert all(row["exported"] for row in report)
    by_variant = {row["variant"]: row for row in report}
    fp32, int8, backbone = by_variant["fp32"], by_variant["int8"], by_variant["backbone"]
    assert set(fp32["latency_ms"]) == {"1", "2"}
    assert all(ms > 0 for row in report for ms in row["latency_ms"].values())
    # The ratio is each variant's 1-thread latency over fp32's, and the table prints it.
    assert fp32["ratio_to_fp32"] == 1.0
    for row in (int8, backbone):
        assert row["ratio_to_fp32"] == pytest.approx(
            row["latency_ms"]["1"] / fp32["latency_ms"]["1"]
        )
    lines = [line.split(" | ") for line in printed.splitlines() if line.startswith("| ")]
    header = [cell.strip("| ") for cell in lines[0]]
    table_rows = {cells[0].strip("| "): cells for cells in lines}
    ratio_column = header.index("ratio to fp32")
    assert table_rows["int8"][ratio_column].strip("| ") == f"{int8['ratio_to_fp32']:.2f}"
    for row, name in zip(
        (fp32, int8, backbone), ("model_fp32", "model_int8", "backbone_fp32"), strict=True
    ):
        assert row["path"] == str(out / f"{name}.tflite")
        assert row["size_mb"] == pytest.approx((out / f"{name}.tflite").stat().st_size / 1e6)
    assert int8["size_mb"] < fp32["size_mb"]  # int8 weights: a quarter of the bytes
    # One XNNPACK partition, nothing left to the builtin kernels (issue 10's regression).
    for row in report:
        assert row["profile"]["partitions"] == 1 and row["profile"]["outside"] == [], row
        assert row["graph_problems"] == [], row
    assert "XNNPACK partitions" in printed and "graph:" not in printed
    assert all(row["validated"] for row in report[:4])
    for category_id in trained_run.spec.layout.category_ids:
        assert (out / f"model_int8_cat{category_id}.tflite").is_file()
    assert (out / "model_int8.json").is_file()
    assert (out / "export_report.md").read_text().strip() in printed


def test_floors_make_the_command_fail(trained_run, tmp_path, capsys):
    args = parse(
        [
            str(trained_run.model_path),
            "--variants", "dynamic",
            "--out", str(tmp_path),
            "--runs", "2",
            "--min-iou", "1.01",
            "--no-backbone",
        ]
    )  # fmt: skip
    assert args.func(args) == 1
    (row,) = json.loads((tmp_path / "export_report.json").read_text())
    assert (row["variant"], row["exported"], row["validated"]) == ("dynamic", True, False)
    assert row["parity"]["mean_mask_iou"] < 1.01
    last = capsys.readouterr().out.splitlines()[-1]
    assert last == "hckeras export: failed or below the floors: dynamic"


def test_int8_needs_data(trained_run, tmp_path):
    args = parse([str(trained_run.model_path), "--variants", "int8", "--out", str(tmp_path)])
    with pytest.raises(ValueError, match="need --data"):
        args.func(args)


def test_accuracy_column_and_floor(trained_run, tmp_path):
    detections = trained_run.val_json.parent / "detections_simulated.json"
    common = [
        str(trained_run.model_path), "--variants", "fp32", "--data", str(trained_run.val_json),
        "--detections", str(detections), "--runs", "2", "--eval-count", "16", "--no-backbone",
    ]  # fmt: skip
    args = parse([*common, "--out", str(tmp_path / "a"), "--max-accuracy-drop", "0.01"])
    assert args.func(args) == 0
    keras_row, fp32_row = json.loads((tmp_path / "a" / "export_report.json").read_text())
    assert keras_row["variant"] == "keras"
    assert set(keras_row["accuracy"]) == {"apr AP@0.5", "apr AP@0.7"}
    for column, value in keras_row["accuracy"].items():
        assert abs(fp32_row["accuracy"][column] - value) <= 0.01
    # A floor no variant can meet (accuracy must rise by a point) fails the command.
    args = parse([*common, "--out", str(tmp_path / "b"), "--max-accuracy-drop", "-0.01"])
    assert args.func(args) == 1
    _, fp32_row = json.loads((tmp_path / "b" / "export_report.json").read_text())
    assert fp32_row["exported"] and fp32_row["validated"] is False


def test_scoring_mask_ranks_the_accuracy_columns_as_evaluate_does(trained_run, tmp_path):
    from hckeras.inference.dataset import predict_dataset
    from hckeras.inference.predictor import load_predictor
    from hckeras.metrics import evaluate_results

    model, val = str(trained_run.model_path), trained_run.val_json
    detections = val.parent / "detections_simulated.json"
    argv = [model, "--variants", "fp32", "--data", str(val), "--detections", str(detections)]
    argv += ["--scoring", "mask", "--runs", "2", "--eval-count", "16", "--no-backbone"]
    args = parse([*argv, "--out", str(tmp_path / "mask")])
    assert args.func(args) == 0
    keras_row, _ = json.loads((tmp_path / "mask" / "export_report.json").read_text())
    results = predict_dataset(load_predictor(model, scoring="mask"), val, val.parent, detections)
    report = evaluate_results(val, results, "apr")
    measured = [keras_row["accuracy"][f"apr {column}"] for column in report["columns"]]
    assert measured == pytest.approx(report["mean"], abs=1e-12)
    # Without --detections there are no accuracy columns to rank.
    args = parse([model, "--variants", "fp32", "--scoring", "mask", "--out", str(tmp_path / "x")])
    with pytest.raises(ValueError, match="--scoring mask ranks the accuracy columns"):
        args.func(args)
