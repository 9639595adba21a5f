"""`hckeras refine`: System 1 (paper section 4.1) on a split's region candidates.

    hckeras refine --refiner runs/refiner/refiner.keras --gt synth/test/annotations.json \\
        --mask-model runs/m/model.keras --out runs/refined

Refines every candidate (`region_candidates.json` beside the ground truth by default)
and prints Table 1's comparison: mean APr at 0.5 and 0.7 of the raw candidates, of the
mask model on the candidates' boxes (with `--mask-model`), and of the refined
candidates, all ranked by the candidates' scores. Writes `DIR/results.json` (the refined
candidates, COCO results) and `DIR/report.json` (the rows and counts).
"""

import json
import sys
from pathlib import Path

from hckeras.cli.train_refiner import add_candidate_arguments, split_paths


def register(subparsers):
    """Adds the `refine` subcommand to an argparse `subparsers`."""
    parser = subparsers.add_parser(
        "refine",
        help="System 1: refine region candidates and compare with the raw ones",
        description="Refine a split's region candidates with a System 1 refiner and "
        "evaluate raw vs refined (paper Table 1).",
    )
    parser.add_argument("--refiner", required=True, metavar="R", help="refiner (.keras)")
    add_candidate_arguments(parser)
    parser.add_argument(
        "--mask-model", metavar="M", help="also evaluate this mask model on the candidates' boxes"
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.set_defaults(func=run)


def format_rows(rows):
    """Table 1's rows as a Markdown table."""
    lines = ["| method | APr@0.5 | APr@0.7 | seconds |", "|---|---|---|---|"]
    for row in rows:
        lines.append(
            f"| {row['method']} | {row['apr_50']:.1f} | {row['apr_70']:.1f} | "
            f"{row['seconds']:.1f} |"
        )
    return "\n".join(lines)


def run(args):
    from hckeras.io import write_json_atomic
    from hckeras.sds.refinement import compare_refinement

    rows, results, report = compare_refinement(
        args.refiner, *split_paths(args.gt, args.images, args.candidates), args.mask_model
    )
    out = Path(args.out)
    write_json_atomic(out / "results.json", results)
    write_json_atomic(out / "report.json", {"rows": rows, "counts": report})
    print(format_rows(rows))
    print(json.dumps(report), file=sys.stderr)
    return 0
