"""`hckeras train-rescorer`: train the region rescorer of System 2 (paper section 4.2).

    hckeras train-rescorer --model runs/m/model.keras --raw-detections synth/detections_raw.json \\
        --gt synth/annotations.json --out runs/r/rescorer.keras --epochs 5

Candidates are the expanded pool of the training images; a predicted mask overlapping a
ground-truth instance of its category by more than 0.7 is positive, below 0.5 negative.
Writes the .keras file and its sidecar (.json).
"""

import sys

from hckeras.cli.sds import add_pool_arguments, pool_settings


def register(subparsers):
    """Adds the `train-rescorer` subcommand to an argparse `subparsers`."""
    parser = subparsers.add_parser(
        "train-rescorer",
        help="train the region rescorer of System 2 on an expanded pool",
        description="Train a region rescorer (box fc7 + region fc7 -> logistic score) for a "
        "mask model on the expanded raw pool of a training split.",
    )
    parser.add_argument("--model", required=True, metavar="M", help="mask model (.keras)")
    add_pool_arguments(parser)
    parser.add_argument("--out", required=True, metavar="FILE", help="rescorer file (.keras)")
    parser.add_argument("--epochs", type=int, default=5, metavar="N")
    parser.add_argument("--batch-size", type=int, default=32, metavar="N")
    parser.add_argument("--learning-rate", type=float, default=1e-3, metavar="LR")
    parser.add_argument("--seed", type=int, default=0, metavar="S")
    parser.add_argument(
        "--positive",
        type=float,
        default=0.7,
        metavar="O",
        help="mask IoU above which a candidate is positive (default 0.7, the paper's)",
    )
    parser.add_argument(
        "--negative",
        type=float,
        default=0.5,
        metavar="O",
        help="mask IoU below which a candidate is negative (default 0.5, the paper's)",
    )
    parser.set_defaults(func=run)


def run(args):
    import os

    from hckeras.sds.pipeline import train_rescorer

    if not args.out.endswith(".keras"):
        raise ValueError(f"--out {args.out} must end in .keras")
    if not 0 <= args.negative <= args.positive <= 1:
        raise ValueError(
            f"need 0 <= --negative <= --positive <= 1, got {args.negative} and {args.positive}"
        )
    images = args.images or os.path.dirname(os.path.abspath(args.gt))
    trained = train_rescorer(
        args.model,
        args.gt,
        images,
        args.raw_detections,
        args.out,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        seed=args.seed,
        positive=args.positive,
        negative=args.negative,
        **pool_settings(args),
    )
    report = trained["report"]
    loss = trained["history"]["loss"]
    print(
        f"{report['images']} images, {report['pool']} candidates: {report['positives']} "
        f"positive, {report['negatives']} negative, {report['ignored']} ignored; "
        f"loss {loss[0]:.4f} -> {loss[-1]:.4f}; wrote {trained['path']}",
        file=sys.stderr,
    )
    return 0
