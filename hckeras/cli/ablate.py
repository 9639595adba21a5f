"""`hckeras ablate`: the paper's ablations (or the demo) on the synthetic set, one command."""

import argparse


def register(subparsers):
    parser = subparsers.add_parser(
        "ablate", help="train and evaluate an experiment suite on synthetic data; write report.md"
    )
    parser.add_argument("--suite", default="paper", help="demo or paper (hckeras.experiments)")
    parser.add_argument("--out", required=True, help="output folder, e.g. runs/ablation")
    parser.add_argument("--train-images", type=int, help="default: the suite's (SUITE_DATA)")
    parser.add_argument("--val-images", type=int, help="validation and test split size")
    parser.add_argument("--epochs", type=int, help="default: the suite's")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", help="comma-separated experiment names: run only these")
    parser.add_argument(
        "--export",
        default="",
        help="LiteRT variants of the first experiment's model to export and check, e.g. fp32,qat",
    )
    parser.add_argument(
        "--scoring",
        choices=["box", "mask"],
        default="mask",
        help="rank segmentation results by box score x mask quality (mask, default; the "
        "report gives box-score figures too) or by box score alone (box)",
    )
    parser.add_argument(
        "--system1",
        action=argparse.BooleanOptionalAction,
        help="fine-tune a System 1 refiner from the first segmentation model and report raw "
        "vs refined region candidates (paper Table 1); default: on for the paper suite",
    )
    parser.add_argument(
        "--system2",
        action=argparse.BooleanOptionalAction,
        help="train a System 2 region rescorer for the first segmentation model and report "
        "Hyp vs Hyp + Rescore (paper Table 2, last column); default: on for the paper suite",
    )
    parser.set_defaults(func=run)


def run(args):
    from hckeras.experiments.ablation import run_suite

    run_suite(
        args.suite,
        args.out,
        train_images=args.train_images,
        val_images=args.val_images,
        epochs=args.epochs,
        seed=args.seed,
        only=[n for n in (args.only or "").split(",") if n] or None,
        export_variants=tuple(v for v in args.export.split(",") if v),
        scoring=args.scoring,
        system1=args.system1,
        system2=args.system2,
    )
    return 0
