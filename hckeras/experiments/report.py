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


def _task_table(rows, oracle=None):
    """Markdown table: one row per category and metric column, one column per
    experiment, and the oracle (ground-truth heatmaps, the ceiling) last; then the
    means on the fresh test split and the heatmap quality on ground-truth boxes."""
    columns = rows[0]["scores"]["columns"]
    header = ["", *[r["name"] for r in rows]] + (["oracle (ceiling)"] if oracle else [])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    categories = [(c["id"], c["name"]) for c in rows[0]["scores"]["rows"]]
    for index, column in enumerate(columns):
        for position, (_, name) in enumerate(categories):
            scored = [*rows, {"scores": oracle}] if oracle else rows
            cells = [_pct(r["scores"]["rows"][position]["values"][index]) for r in scored]
            lines.append(f"| {name} {column} | " + " | ".join(cells) + " |")
        means = [_pct(r["scores"]["mean"][index]) for r in rows]
        means += [_pct(oracle["mean"][index])] if oracle else []
        lines.append(f"| **mean {column}** | " + " | ".join(f"**{m}**" for m in means) + " |")
    blank = [""] if oracle else []
    if all("test_scores" in r for r in rows):
        for index, column in enumerate(columns):
            cells = [_pct(r["test_scores"]["mean"][index]) for r in rows]
            lines.append(f"| mean {column}, fresh test split | " + " | ".join(cells + blank) + " |")
    if all(r.get("box_scores") for r in rows):
        for split, label in (("val", ""), ("test", ", fresh test split")):
            for index, column in enumerate(columns):
                cells = [_pct(r["box_scores"][split]["mean"][index]) for r in rows]
                lines.append(
                    f"| mean {column}{label}, box scores | " + " | ".join(cells + blank) + " |"
                )
    if all("crop_quality" in r for r in rows):
        name = rows[0]["crop_quality"]["name"]
        cells = [_pct(r["crop_quality"]["value"]) for r in rows]
        lines.append(f"| {name} | " + " | ".join(cells + (["100.0"] if oracle else [])) + " |")
    return "\n".join(lines)


def _overlays(out_dir, rows, data, count=3, min_score=0.5):
    """fc7-only vs hypercolumn masks on the first validation images, side by side,
    labelled with the scores the metric tables rank by."""
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
        name: load_predictor(
            Path(by_name[name]["run_dir"]) / "model.keras",
            scoring=by_name[name].get("scoring", "box"),
        )
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


def headline_differences(rows, pairs):
    """`[(a, b, column, [difference per seed], mean)]` of experiment groups `a`
    minus `b` on their first metric columns, over the seeds both were run with."""
    by_group = {}
    for r in rows:
        by_group.setdefault(r.get("group", r["name"]), {})[r.get("seed", 0)] = r
    found = []
    for a, b in pairs:
        if a not in by_group or b not in by_group:
            continue
        seeds = sorted(set(by_group[a]) & set(by_group[b]))
        columns = by_group[a][seeds[0]]["scores"]["columns"]
        for index, column in enumerate(columns):
            differences = [
                by_group[a][s]["scores"]["mean"][index] - by_group[b][s]["scores"]["mean"][index]
                for s in seeds
            ]
            found.append((a, b, column, differences, sum(differences) / len(differences)))
    return found


def _headline_table(rows, pairs):
    found = headline_differences(rows, pairs)
    if not found:
        return []
    lines = [
        "## Headline differences (points, per seed and mean)",
        "",
        "| comparison | metric | per seed | mean |",
        "|---|---|---|---|",
    ]
    for a, b, column, differences, mean in found:
        per_seed = ", ".join(f"{100 * d:+.1f}" for d in differences)
        lines.append(f"| {a} - {b} | {column} | {per_seed} | {100 * mean:+.1f} |")
    return ["", *lines]


def _threshold(value):
    return "-" if value is None else f"{value:.2f}"


def _loss(value):
    return "-" if value is None else f"{value:.4f}"


def write_report(out_dir, suite, rows, data, oracle=None, extra_sections=(), headlines=()):
    """Write `out_dir/report.md` from `run_experiment` rows; returns its path.

    `oracle`: task -> scores of ground-truth heatmaps on the same detections
    (`ablation.oracle_scores`), shown as the last column of each task table.
    `headlines`: pairs of experiment groups whose differences get their own table.
    """
    out_dir = Path(out_dir)
    oracle = oracle or {}
    lines = [
        f"# hckeras {suite} report",
        "",
        "Synthetic articulated-object data (`hckeras synth`), tiny backbone on CPU, "
        "boxes from `detections_simulated.json` (jittered ground truth with misses and "
        "false positives, not a detector). The metric tables give percentages (APr, APK "
        "and APr-part x 100); the LiteRT export table, where present, gives fractions in "
        "[0, 1], as `hckeras export` prints them. The oracle column gives each detection "
        "the ground truth of its best-overlapping object through the same box: the ceiling "
        "of these detections. The last rows of each table: the means on a fresh test split "
        "of another seed, and the heatmap quality on ground-truth boxes (detection taken out). "
        "The mask threshold is chosen after training on the validation split's ground-truth "
        "boxes (best mean mask IoU, `hckeras.training.threshold`; - where none was chosen, "
        "0.5), so the fresh test split is the check that is blind to every choice.",
        *(
            [
                "",
                "Segmentation results are ranked by the detection's score times the expected "
                "IoU of the mask under its own probabilities (`--scoring mask`, "
                "`hckeras.inference.mask_quality`); the rows marked 'box scores' rank the same "
                "masks by the detections' scores alone, the paper's protocol.",
            ]
            if any(r.get("scoring") == "mask" for r in rows)
            else []
        ),
        "",
        "| experiment | task | taps | grid | mask threshold | final loss | final val loss "
        "| training (s) | curves |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        curves = Path(r["run_dir"]) / "curves.png"
        link = f"[png]({curves.relative_to(out_dir)})" if curves.exists() else "-"
        lines.append(
            f"| {r['name']} | {r['task']} | {r['taps']} | {r['grid_size']}x{r['grid_size']} "
            f"| {_threshold(r.get('mask_threshold'))} | {_loss(r['final_loss'])} "
            f"| {_loss(r.get('final_val_loss'))} "
            f"| {r['train_seconds']:.0f} | {link} |"
        )
    for task, title in TASK_TITLES.items():
        task_rows = [r for r in rows if r["task"] == task]
        if task_rows:
            lines += ["", f"## {title}", "", _task_table(task_rows, oracle.get(task))]
    lines += _headline_table(rows, headlines)
    figures = _overlays(out_dir, rows, data)
    if figures:
        lines += ["", "## Examples: image, fc7 only, hypercolumn (paper Figure 4)", ""]
        lines += [f"![overlay]({f})" for f in figures]
    for section in extra_sections:
        lines += ["", section]
    path = out_dir / "report.md"
    write_text_atomic(path, "\n".join(lines) + "\n")
    return path
