"""`hckeras train-refiner`: train the System 1 refiner (paper section 4.1).

    hckeras train-refiner --model runs/m/model.keras --gt synth/train/annotations.json \\
        --val-gt synth/val/annotations.json --out runs/refiner/refiner.keras --epochs 4

The refiner starts from the mask model (its backbone, and its classifiers resampled to a
10 x 10 grid) and learns to use each region candidate's inside map and 10 x 10 coarse
mask; it trains on the candidates (`region_candidates.json` beside the ground truth by
default) that overlap an instance of their category by at least 0.5. With `--val-gt` the
mask threshold is chosen on that split's candidates. Writes the .keras file and its
ModelSpec sidecar (.json).
"""

import os
import sys


def add_candidate_arguments(parser, prefix="", what="the split"):
    """`--{prefix}gt`, `--{prefix}images`, `--{prefix}candidates` for one split."""
    flag = f"--{prefix}"
    parser.add_argument(
        f"{flag}gt", required=not prefix, metavar="GT", help=f"COCO ground truth of {what}"
    )
    parser.add_argument(
        f"{flag}images", metavar="DIR", help=f"images of {what} (default: the folder of the GT)"
    )
    parser.add_argument(
        f"{flag}candidates",
        metavar="C",
        help=f"region candidates of {what}, COCO results with masks "
        "(default: region_candidates.json beside the GT)",
    )


def split_paths(gt, images, candidates):
    """`(gt, images_dir, candidates)` with the defaults of `add_candidate_arguments`."""
    folder = os.path.dirname(os.path.abspath(gt))
    return gt, images or folder, candidates or os.path.join(folder, "region_candidates.json")


def register(subparsers):
    """Adds the `train-refiner` subcommand to an argparse `subparsers`."""
    parser = subparsers.add_parser(
        "train-refiner",
        help="train the System 1 refiner of region candidates",
        description="Fine-tune a mask model into a System 1 refiner whose hypercolumns also "
        "hold each region candidate's inside map and 10 x 10 coarse mask.",
    )
    parser.add_argument("--model", required=True, metavar="M", help="mask model (.keras)")
    add_candidate_arguments(parser, what="the training split")
    add_candidate_arguments(parser, "val-", "the validation split (threshold choice)")
    parser.add_argument("--out", required=True, metavar="FILE", help="refiner file (.keras)")
    parser.add_argument("--epochs", type=int, default=4, metavar="N")
    parser.add_argument("--batch-size", type=int, default=16, metavar="N")
    parser.add_argument("--learning-rate", type=float, default=1e-3, metavar="LR")
    parser.add_argument("--seed", type=int, default=0, metavar="S")
    parser.set_defaults(func=run)


def run(args):
    from hckeras.sds.refinement import train_refiner

    if not args.out.endswith(".keras"):
        raise ValueError(f"--out {args.out} must end in .keras")
    if args.epochs < 1 or args.batch_size < 1:
        raise ValueError(
            f"--epochs and --batch-size must be >= 1, got {args.epochs}, {args.batch_size}"
        )
    val = None
    if args.val_gt:
        val = split_paths(args.val_gt, args.val_images, args.val_candidates)
    trained = train_refiner(
        args.model,
        *split_paths(args.gt, args.images, args.candidates),
        args.out,
        val=val,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        seed=args.seed,
        verbose=2,
    )
    report, loss = trained["report"], trained["history"]["loss"]
    print(
        f"{report['candidates']} candidates: {report['used']} used (x2 with flips), "
        f"{report['unmatched']} below overlap 0.5, {report['empty']} empty, "
        f"{report['unknown_category']} of other categories; loss "
        f"{loss[0]:.4f} -> {loss[-1]:.4f}; mask threshold {trained['threshold']}; wrote "
        f"{trained['path']}",
        file=sys.stderr,
    )
    return 0
