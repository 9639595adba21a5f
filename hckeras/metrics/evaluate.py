"""One entry point for all metrics: score a results list and return a JSON-ready report.

    report = evaluate_results("annotations.json", "results.json", metric="apr")
    report["columns"]   # ["AP@0.5", "AP@0.7"]
    report["rows"]      # [{"id": 1, "name": "person", "values": [0.81, 0.62]}, ...]
    report["mean"]      # [0.77, 0.58]
    report["skipped"]   # ground-truth annotations left out, by reason and id

Values are fractions in [0, 1]; None where a value is undefined (a category without
ground truth), and such values are left out of the means.
"""

import math
import os

from hckeras.metrics.ap import AP_METHODS
from hckeras.metrics.apk import DEFAULT_ALPHA, evaluate_apk
from hckeras.metrics.apr import evaluate_apr
from hckeras.metrics.apr_part import evaluate_apr_part
from hckeras.metrics.coco_io import read_ground_truth
from hckeras.metrics.miou import evaluate_miou

METRICS = ("apr", "apk", "apr-part", "miou")

TASK_METRICS = {
    "segmentation": ("apr", "miou"),
    "keypoints": ("apk",),
    "parts": ("apr-part", "apr", "miou"),
}
"""The metrics a model of each task can be scored with (its results carry masks,
keypoints, or part labels and the foreground mask); the first is the task's own."""


def _mean(values):
    defined = [v for v in values if v is not None and not math.isnan(v)]
    return sum(defined) / len(defined) if defined else None


def _value(value):
    return None if value is None or math.isnan(value) else float(value)


def _mean_row(rows, num_columns):
    return [_mean([row["values"][i] for row in rows]) for i in range(num_columns)]


def evaluate_results(
    gt,
    results,
    metric="apr",
    ious=(0.5, 0.7),
    ap_method="voc",
    *,
    alpha=DEFAULT_ALPHA,
    parts_root=None,
):
    """Score results against ground truth with one metric.

    Args:
        gt: ground-truth COCO JSON path, dict or `pycocotools.coco.COCO`.
        results: COCO results JSON path or list of dicts (docs/data_format.md).
        metric: "apr", "apk", "apr-part" or "miou" (docs/metrics.md).
        ious: overlap thresholds of "apr" and "apr-part".
        ap_method: "voc" (all-point) or "coco101" (COCOeval); not used by "miou".
        alpha: APK distance threshold, a fraction of the torso height.
        parts_root: folder of the ground truth's `parts_file` PNGs ("apr-part"); default:
            the folder of `gt` when it is a path.

    Returns:
        dict with `metric`, `ap_method`, `ious` or `alpha` (the settings used), `columns`
        (column names), `rows` (one per category: `id`, `name`, `values`, one per column;
        APK rows add `keypoints`, AP per keypoint type; mean IU rows include the background,
        id 0), `mean` (per column, over the rows with a defined value) and `skipped` (the
        ground-truth annotations that failed validation, `SkipReport.to_dict()`: never
        counted as objects).
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    if ap_method not in AP_METHODS:
        raise ValueError(f"ap_method must be one of {AP_METHODS}, got {ap_method!r}")
    if metric == "apr-part" and parts_root is None and isinstance(gt, str | os.PathLike):
        parts_root = os.path.dirname(os.path.abspath(gt))
    coco, skipped = read_ground_truth(gt)
    names = {category_id: category["name"] for category_id, category in coco.cats.items()}
    report = {"metric": metric, "ap_method": None if metric == "miou" else ap_method}
    if metric in ("apr", "apr-part"):
        ious = [float(t) for t in ious]
        if metric == "apr":
            per_category = evaluate_apr(coco, results, ious, ap_method)
        else:
            per_category = evaluate_apr_part(coco, results, ious, ap_method, parts_root)
        report["ious"] = ious
        report["columns"] = [f"AP@{t:g}" for t in ious]
        rows = [
            {"id": c, "name": names[c], "values": [_value(ap) for ap in aps]}
            for c, aps in per_category.items()
        ]
    elif metric == "apk":
        per_category = evaluate_apk(coco, results, alpha, ap_method)
        report["alpha"] = float(alpha)
        report["columns"] = ["APK"]
        rows = [
            {
                "id": c,
                "name": names[c],
                "values": [_mean(list(aps.values()))],
                "keypoints": {name: _value(ap) for name, ap in aps.items()},
            }
            for c, aps in per_category.items()
        ]
    else:
        per_class = evaluate_miou(coco, results)
        names[0] = "background"
        report["columns"] = ["IU"]
        rows = [{"id": c, "name": names[c], "values": [_value(iu)]} for c, iu in per_class.items()]
    report["rows"] = rows
    report["mean"] = _mean_row(rows, len(report["columns"]))
    report["skipped"] = skipped.to_dict()
    return report
