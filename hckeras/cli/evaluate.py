"""`hckeras evaluate`: score a results file against COCO ground truth.

    hckeras evaluate --gt annotations.json --results results.json --metric apr --iou 0.5 0.7
    hckeras evaluate --gt annotations.json --results results.json --metric apk --json apk.json
    hckeras evaluate --model runs/x/model.keras --gt annotations.json \
        --detections detections.json   # predicts first; the model's task's metric

Prints one row per category and the mean, and on stderr the ground-truth annotations
that failed validation (skipped, by id); `--json` also writes the report of
`hckeras.metrics.evaluate_results` (written to a temporary file, then renamed).
"""

import os
import sys

from hckeras.cli.predict import add_scoring_argument


def register(subparsers):
    """Add the `evaluate` subcommand to an argparse `subparsers` object."""
    parser = subparsers.add_parser(
        "evaluate",
        help="score results (masks, keypoints, parts) against COCO ground truth",
        description="Score COCO results with APr, APK, APr-part or mean IU (docs/metrics.md).",
    )
    parser.add_argument("--gt", required=True, help="ground-truth COCO JSON")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--results", help="COCO results JSON")
    source.add_argument(
        "--model", help="predict first with this model (.keras, or .tflite) from --detections"
    )
    parser.add_argument("--images", help="image folder for --model (default: the GT's folder)")
    parser.add_argument("--detections", help="COCO results boxes for --model")
    parser.add_argument("--min-score", type=float, help="drop detections scored below this")
    add_scoring_argument(parser)
    parser.add_argument(
        "--metric",
        choices=("apr", "apk", "apr-part", "miou"),
        help="default: the model's task's (apr, apk or apr-part) with --model, else apr",
    )
    parser.add_argument(
        "--iou",
        type=float,
        nargs="+",
        default=[0.5, 0.7],
        metavar="T",
        help="overlap thresholds of apr and apr-part (default: 0.5 0.7)",
    )
    parser.add_argument(
        "--ap-method",
        choices=("voc", "coco101"),
        default="voc",
        help="voc: all-point AP (SDS, APK); coco101: as pycocotools' COCOeval (default: voc)",
    )
    parser.add_argument(
        "--alpha",
        type=float,
        default=0.2,
        help="APK distance threshold as a fraction of the torso height (default: 0.2)",
    )
    parser.add_argument("--json", metavar="OUT", help="also write the report to this JSON file")
    parser.set_defaults(func=run)
    return parser


def run(args):
    """Score `args.results` and print (and optionally write) the report."""
    from hckeras.metrics import evaluate_results

    results, metric = args.results, args.metric or "apr"
    if args.model:
        results, metric = predict_results(args)
    report = evaluate_results(args.gt, results, metric, args.iou, args.ap_method, alpha=args.alpha)
    if report["skipped"]["counts"]:
        print(f"{args.gt}: {format_skipped(report['skipped'])}", file=sys.stderr)
    print(format_report(report))
    if args.json:
        from hckeras.io import write_json_atomic

        write_json_atomic(args.json, report)
    return 0


def predict_results(args):
    """COCO results of `args.model` on the ground truth's images and `args.detections`,
    and the metric to score them with: `args.metric`, or the model's task's when None.

    Raises:
        ValueError: no detections, or a metric the model's results cannot be scored
            with (`TASK_METRICS`), named before anything is predicted.
    """
    from hckeras.inference.dataset import predict_dataset
    from hckeras.inference.predictor import load_predictor
    from hckeras.metrics.evaluate import TASK_METRICS

    if not args.detections:
        raise ValueError("--model needs --detections (COCO results with boxes and scores)")
    images = args.images or os.path.dirname(os.path.abspath(args.gt))
    predictor = load_predictor(args.model, scoring=args.scoring)
    task = predictor.spec.task
    metric = args.metric or TASK_METRICS[task][0]
    if metric not in TASK_METRICS[task]:
        raise ValueError(
            f"model {args.model} is a {task} model; --metric {metric} scores other results "
            f"(valid for it: {', '.join(TASK_METRICS[task])})"
        )
    results = predict_dataset(predictor, args.gt, images, args.detections, min_score=args.min_score)
    return results, metric


def format_skipped(skipped, max_ids=10):
    """The `skipped` part of a report, one line per reason with up to `max_ids` ids."""
    lines = [f"skipped ground-truth annotations: {sum(skipped['counts'].values())}"]
    for reason, entries in sorted(skipped["annotations"].items()):
        ids = ", ".join(str(e["id"]) for e in entries[:max_ids])
        more = f" ... and {len(entries) - max_ids} more" if len(entries) > max_ids else ""
        details = f" ({entries[0]['detail']})" if entries[0]["detail"] else ""
        lines.append(f"  {reason}: annotations {ids}{more}{details}")
    return "\n".join(lines)


def _cell(value):
    return "-" if value is None else f"{value:.4f}"


def format_report(report):
    """The report of `evaluate_results` as a text table: one row per category, then the mean.

    APK rows are followed by one indented row per keypoint type.
    """
    title = report["metric"]
    if report["ap_method"] is not None:
        title += f" ({report['ap_method']})"
    lines = [[title, *report["columns"]]]
    for row in report["rows"]:
        lines.append([row["name"], *map(_cell, row["values"])])
        for name, ap in row.get("keypoints", {}).items():
            lines.append([f"  {name}", _cell(ap)])
    lines.append(["mean", *map(_cell, report["mean"])])
    width = max(len(line[0]) for line in lines)
    return "\n".join(
        line[0].ljust(width) + "".join(cell.rjust(10) for cell in line[1:]) for line in lines
    )
