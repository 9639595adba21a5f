"""`report.md`: tables shaped like the paper's and side-by-side overlays."""

import json
from pathlib import Path

from hckeras.io import write_text_atomic

TASK_TITLES = {
    "segmentation": "Figure-ground segmentation, APr (SDS protocol; paper Tables 1-2)",
    "keypoints": "Keypoints, APK at 0.2 x torso height (paper Table 3)",
    "parts": "Part labelling, APr-part (paper Table 4)",
}


def _pct(value):
    return "-" if value is None else f"{100 * value:.1f}"


def _task_table(rows):
    """Markdown table: one row per category and metric column, one column per experiment."""
    columns = rows[0]["scores"]["columns"]
    header = ["", *[r["name"] for r in rows]]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    categories = [(c["id"], c["name"]) for c in rows[0]["scores"]["rows"]]
    for index, column in enumerate(columns):
        for position, (_, name) in enumerate(categories):
            cells = [_pct(r["scores"]["rows"][position]["values"][index]) for r in rows]
            lines.append(f"| {name} {column} | " + " | ".join(cells) + " |")
        means = [_pct(r["scores"]["mean"][index]) for r in rows]
        lines.append(f"| **mean {column}** | " + " | ".join(f"**{m}**" for m in means) + " |")
    return "\n".join(lines)


def _overlays(out_dir, rows, data, count=3, min_score=0.5):
    """fc7-only vs hypercolumn masks on the first validation images, side by side."""
    by_name = {r["name"]: r for r in rows}
    if not {"fc7_only", "hypercolumn"} <= set(by_name):
        return []
    from hckeras.data.images import load_image
    from hckeras.inference.overlay import draw_overlay, save_png, side_by_side
    from hckeras.inference.predictor import load_predictor

    val = Path(data["val"])
    gt = json.loads(val.read_text())
    detections = json.loads((val.parent / "detections_simulated.json").read_text())
    predictors = {
        name: load_predictor(Path(by_name[name]["run_dir"]) / "model.keras")
        for name in ("fc7_only", "hypercolumn")
    }
    figures = []
    for image in gt["images"][:count]:
        pixels = load_image(val.parent / image["file_name"])
        dets = [d for d in detections if d["image_id"] == image["id"] and d["score"] >= min_score]
        panels = [
            draw_overlay(pixels, predictors[name].predict(pixels, dets), gt["categories"])
            for name in ("fc7_only", "hypercolumn")
        ]
        path = Path(out_dir) / "figures" / f"overlay_{image['id']}.png"
        save_png(path, side_by_side([pixels, *panels], ["image", "fc7 only", "hypercolumn"]))
        figures.append(path.relative_to(out_dir))
    return figures


def write_report(out_dir, suite, rows, data, extra_sections=()):
    """Write `out_dir/report.md` from `run_experiment` rows; returns its path."""
    out_dir = Path(out_dir)
    lines = [
        f"# hckeras {suite} report",
        "",
        "Synthetic articulated-object data (`hckeras synth`), tiny backbone on CPU, "
        "boxes from `detections_simulated.json` (jittered ground truth with misses and "
        "false positives, not a detector). The metric tables give percentages (APr, APK "
        "and APr-part x 100); the LiteRT export table, where present, gives fractions in "
        "[0, 1], as `hckeras export` prints them.",
        "",
        "| experiment | task | taps | grid | final loss | training (s) |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        loss = "-" if r["final_loss"] is None else f"{r['final_loss']:.4f}"
        lines.append(
            f"| {r['name']} | {r['task']} | {r['taps']} | {r['grid_size']}x{r['grid_size']} "
            f"| {loss} | {r['train_seconds']:.0f} |"
        )
    for task, title in TASK_TITLES.items():
        task_rows = [r for r in rows if r["task"] == task]
        if task_rows:
            lines += ["", f"## {title}", "", _task_table(task_rows)]
    figures = _overlays(out_dir, rows, data)
    if figures:
        lines += ["", "## Examples: image, fc7 only, hypercolumn (paper Figure 4)", ""]
        lines += [f"![overlay]({f})" for f in figures]
    for section in extra_sections:
        lines += ["", section]
    path = out_dir / "report.md"
    write_text_atomic(path, "\n".join(lines) + "\n")
    return path
