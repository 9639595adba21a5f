"""`hckeras sds`: System 2 of the paper (section 4.2) from a raw detection pool.

    hckeras sds --model runs/m/model.keras --rescore runs/r/rescorer.keras \\
        --raw-detections synth/detections_raw.json --gt synth/annotations.json --out runs/sds

Box NMS, pool expansion, a mask per candidate, rescoring (without `--rescore`, the box
score stays), region NMS; writes `DIR/results.json` (COCO results with masks and
`box_score`) and `DIR/report.json` (pool counts and the APr evaluation) and prints both.
"""

import os
import sys

from hckeras.cli.predict import add_scoring_argument


def add_pool_arguments(parser):
    """The pool-expansion options shared by `sds` and `train-rescorer`."""
    from hckeras.sds.pipeline import DEFAULTS

    parser.add_argument(
        "--raw-detections", required=True, metavar="RAW", help="raw (pre-NMS) pool, COCO results"
    )
    parser.add_argument("--gt", required=True, metavar="GT", help="COCO ground truth")
    parser.add_argument(
        "--images", metavar="DIR", help="folder of the images (default: the folder of --gt)"
    )
    parser.add_argument(
        "--score-threshold",
        type=float,
        default=DEFAULTS["score_threshold"],
        metavar="S",
        help="suppressed boxes above S may join the pool (default %(default)s)",
    )
    parser.add_argument(
        "--nms",
        type=float,
        default=DEFAULTS["nms_threshold"],
        metavar="T",
        help="box NMS IoU (default %(default)s)",
    )
    parser.add_argument(
        "--min-score",
        type=float,
        default=DEFAULTS["min_score"],
        metavar="S",
        help="ignore raw boxes scored below S (default %(default)s)",
    )


def pool_settings(args):
    return {
        "score_threshold": args.score_threshold,
        "nms_threshold": args.nms,
        "min_score": args.min_score,
    }


def register(subparsers):
    """Adds the `sds` subcommand to an argparse `subparsers`."""
    parser = subparsers.add_parser(
        "sds",
        help="System 2: masks and region scores for an expanded box pool, region NMS",
        description="Expand a raw detection pool (paper 4.2), predict a mask per candidate, "
        "rescore it with a region rescorer, keep the best by region NMS, evaluate APr.",
    )
    parser.add_argument("--model", required=True, metavar="M", help="mask model (.keras)")
    parser.add_argument(
        "--rescore", metavar="R", help="rescoring model (.keras); default: keep box scores"
    )
    add_scoring_argument(parser)
    add_pool_arguments(parser)
    parser.add_argument(
        "--region-nms", type=float, default=0.3, metavar="T", help="mask IoU (default 0.3)"
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.set_defaults(func=run)


def run(args):
    from pathlib import Path

    from hckeras.cli.evaluate import format_report
    from hckeras.inference.predictor import load_predictor
    from hckeras.inference.results import write_results
    from hckeras.io import write_json_atomic
    from hckeras.metrics import evaluate_results
    from hckeras.sds.pipeline import run_sds
    from hckeras.sds.rescorer import load_rescorer

    if args.rescore and args.scoring != "box":
        raise ValueError(
            "--rescore gives the scores; --scoring mask is the training-free "
            "alternative to it, not an addition"
        )
    predictor = load_predictor(args.model, scoring=args.scoring)
    rescorer = None
    if args.rescore:
        rescorer = load_rescorer(args.rescore, predictor.spec, args.model)
    images = args.images or os.path.dirname(os.path.abspath(args.gt))
    results, counts = run_sds(
        predictor,
        args.gt,
        images,
        args.raw_detections,
        rescorer=rescorer,
        region_nms_threshold=args.region_nms,
        **pool_settings(args),
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_results(out / "results.json", results)
    evaluation = evaluate_results(args.gt, results, "apr")
    ratio = counts["pool"] / counts["kept"] if counts["kept"] else 0.0
    report = {
        "model": args.model,
        "rescore": args.rescore,
        "scoring": args.scoring,
        "raw_detections": args.raw_detections,
        "settings": {**pool_settings(args), "region_nms": args.region_nms},
        "counts": {**counts, "pool_over_kept": ratio},
        "apr": evaluation,
    }
    write_json_atomic(out / "report.json", report)
    skipped = sum(counts["skipped"].values())
    print(
        f"{counts['images']} images: {counts['raw']} raw boxes ({counts['outside']} outside "
        f"their image, dropped), {counts['kept']} after NMS, {counts['pool']} candidates "
        f"({ratio:.2f}x), {skipped} skipped, {counts['final']} after region NMS",
        file=sys.stderr,
    )
    coverage = counts["coverage"]
    if coverage["objects"]:
        print(
            f"best candidate per object (of {coverage['objects']}): mean mask IoU "
            f"{coverage['kept_mean_best_iou']:.3f} among the kept boxes, "
            f"{coverage['pool_mean_best_iou']:.3f} in the pool; above 0.7: "
            f"{coverage['kept_above_0.7']} kept, {coverage['pool_above_0.7']} pool",
            file=sys.stderr,
        )
    print(format_report(evaluation))
    return 0
