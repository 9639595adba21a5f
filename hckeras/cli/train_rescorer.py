"""`hckeras train-rescorer`: train the region rescorer of System 2 (paper section 4.2).

    hckeras train-rescorer --model runs/m/model.keras --raw-detections synth/detections_raw.json \\
        --gt synth/annotations.json --out runs/r/rescorer.keras

Candidates are the expanded pool of the training images; a predicted mask overlapping a
ground-truth instance of its category by more than 0.7 is positive, below 0.5 negative.
Writes the .keras file and its sidecar (.json).
"""

import sys

from hckeras.cli.sds import add_pool_arguments, pool_settings
from hckeras.sds.rescorer import CUES, DEFAULT_FEATURES, FEATURE_SOURCES, checked_cues


def register(subparsers):
    """Adds the `train-rescorer` subcommand to an argparse `subparsers`."""
    parser = subparsers.add_parser(
        "train-rescorer",
        help="train the region rescorer of System 2 on an expanded pool",
        description="Train a region rescorer (network features + cues -> logistic score) for a "
        "mask model on the expanded raw pool of a training split.",
    )
    parser.add_argument("--model", required=True, metavar="M", help="mask model (.keras)")
    add_pool_arguments(parser)
    parser.add_argument("--out", required=True, metavar="FILE", help="rescorer file (.keras)")
    parser.add_argument(
        "--epochs",
        type=int,
        metavar="N",
        help="default: 30 for the classifier on fixed features, 5 with --fine-tune-region",
    )
    parser.add_argument(
        "--features",
        choices=FEATURE_SOURCES,
        default=DEFAULT_FEATURES,
        help="mask_pass (default): the mask model's own fc7 and its taps' means inside the "
        "mask, no extra network; region_network: the paper's box and region networks (two "
        "backbone passes per candidate); none: the cues alone",
    )
    parser.add_argument(
        "--pooled-taps",
        metavar="LIST",
        help="mask_pass: taps averaged inside the mask, comma-separated (default: the mask "
        "model's spatial taps)",
    )
    parser.add_argument(
        "--fine-tune-region",
        action="store_true",
        help="with --features region_network: train the region network with the classifier "
        "(default: frozen, the classifier is fitted on fixed features)",
    )
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
    parser.add_argument(
        "--cues",
        default=",".join(CUES),
        metavar="LIST",
        help="candidate cues the classifier sees beside the network features, comma-separated "
        f"of {', '.join(CUES)} (default: both; 'none': the network features alone)",
    )
    parser.set_defaults(func=run)


def parse_cues(text):
    """`--cues` as a tuple of `CUES` names ('none' or '': no cues)."""
    names = () if text.strip() in ("", "none") else tuple(n.strip() for n in text.split(","))
    try:
        return checked_cues(names)
    except ValueError as error:
        raise ValueError(f"--cues {text}: {error}") from None


def run(args):
    import os

    from hckeras.sds.pipeline import train_rescorer

    if not args.out.endswith(".keras"):
        raise ValueError(f"--out {args.out} must end in .keras")
    if not 0 <= args.negative <= args.positive <= 1:
        raise ValueError(
            f"need 0 <= --negative <= --positive <= 1, got {args.negative} and {args.positive}"
        )
    cues = parse_cues(args.cues)
    if args.fine_tune_region and args.features != "region_network":
        raise ValueError(
            "--fine-tune-region trains the region network: add --features region_network"
        )
    if args.features == "none" and not cues:
        raise ValueError("--features none scores by the cues alone: --cues none leaves nothing")
    pooled_taps = None
    if args.pooled_taps is not None:
        if args.features != "mask_pass":
            raise ValueError("--pooled-taps is for --features mask_pass")
        pooled_taps = tuple(t.strip() for t in args.pooled_taps.split(",") if t.strip())
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
        cues=cues,
        fine_tune_region=args.fine_tune_region,
        features=args.features,
        pooled_taps=pooled_taps,
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
