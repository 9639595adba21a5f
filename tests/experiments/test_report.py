"""`report.md`: metric tables in percent, the export table in fractions, each labelled."""

from hckeras.experiments.export_step import format_export_section
from hckeras.experiments.report import write_report
from hckeras.export.benchmark import Row


def _row(name, values, mean):
    return {
        "name": name,
        "task": "segmentation",
        "taps": "fc7",
        "grid_size": 2,
        "final_loss": 0.5,
        "train_seconds": 3.0,
        "run_dir": "unused",
        "scores": {
            "columns": ["AP@0.5"],
            "rows": [{"id": 1, "name": "cat", "values": values}],
            "mean": mean,
        },
    }


def test_metric_tables_are_percentages_and_say_so(tmp_path):
    rows = [_row("hypercolumn", [0.238], [0.238]), _row("grid_1x1", [None], [None])]
    text = write_report(tmp_path, "demo", rows, data={}).read_text()
    assert "The metric tables give percentages" in text
    assert "| cat AP@0.5 | 23.8 | - |" in text
    assert "| **mean AP@0.5** | **23.8** | **-** |" in text
    assert "Values are percentages" not in text  # the old claim, wrong for the export table


def test_export_section_says_its_columns_are_fractions(tmp_path):
    row = Row("fp32", exported=True, validated=True, size_mb=1.5, latency_ms={1: 2.0, 2: 1.0})
    row.ratio_to_fp32, row.parity = 1.0, {"max_abs_diff": 0.0, "mean_mask_iou": 0.9971}
    row.accuracy = {"apr AP@0.5": 0.238}
    text = format_export_section(tmp_path / "hypercolumn" / "model.keras", [row], 64)
    assert text.startswith("## LiteRT export of `hypercolumn`")
    assert "on the first 64 validation crops" in text
    assert "IoU, argmax and accuracy columns are fractions in [0, 1]" in text
    assert "loses at most 0.01 of each accuracy column (1 point)" in text
    cells = [c.strip() for c in text.splitlines()[-1].strip("|").split("|")]
    assert cells[0] == "fp32" and "0.9971" in cells and "0.2380" in cells


def test_run_table_gives_the_chosen_mask_threshold(tmp_path):
    chosen = {**_row("hypercolumn", [0.5], [0.5]), "mask_threshold": 0.4}
    text = write_report(tmp_path, "demo", [chosen, _row("grid_1x1", [0.1], [0.1])], {}).read_text()
    assert "| hypercolumn | segmentation | fc7 | 2x2 | 0.40 | 0.5000 | - | 3 | - |" in text
    assert "| grid_1x1 | segmentation | fc7 | 2x2 | - | 0.5000 | - | 3 | - |" in text


def test_mask_scored_rows_come_with_their_box_score_figures(tmp_path):
    def scores(value):
        return {"columns": ["AP@0.5"], "rows": [], "mean": [value]}

    row = {
        **_row("hypercolumn", [0.5], [0.5]),
        "test_scores": scores(0.6),
        "scoring": "mask",
        "box_scores": {"val": scores(0.4), "test": scores(0.45)},
    }
    text = write_report(tmp_path, "demo", [row], data={}).read_text()
    assert "expected IoU of the mask" in text
    assert "| mean AP@0.5, fresh test split | 60.0 |" in text
    assert "| mean AP@0.5, box scores | 40.0 |" in text
    assert "| mean AP@0.5, fresh test split, box scores | 45.0 |" in text
    plain = write_report(tmp_path, "demo", [_row("hypercolumn", [0.5], [0.5])], {}).read_text()
    assert "expected IoU" not in plain and "box scores" not in plain
