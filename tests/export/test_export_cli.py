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
    assert report[2]["ratio_to_fp32"] > 0 and set(report[0]["latency_ms"]) == {"1", "2"}
    # One XNNPACK partition, nothing left to the builtin kernels (issue 10's regression).
    for row in report:
        assert row["profile"]["partitions"] == 1 and row["profile"]["outside"] == [], row
        assert row["graph_problems"] == [], row
    assert "XNNPACK partitions" in printed and "graph:" not in printed
    assert all(row["validated"] for row in report[:4])
    for category_id in trained_run.spec.layout.category_ids:
        assert (out / f"model_int8_cat{category_id}.tflite").is_file()
    for name in (
        "model_fp32.tflite",
        "model_int8.json",
        "backbone_fp32.tflite",
        "export_report.md",
    ):
        assert (out / name).is_file()


def test_floors_make_the_command_fail(trained_run, tmp_path):
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
