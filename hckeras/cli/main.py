"""Entry point of the `hckeras` command.

Each subcommand lives in its own module of `hckeras.cli` and exposes
`register(subparsers)`, which adds its parser and sets `func` to the function
that runs it. Modules are imported lazily by name so that `hckeras synth` does
not pay for importing a deep-learning backend it does not need.
"""

import argparse
import importlib
import sys

SUBCOMMANDS = (
    "synth",
    "train",
    "predict",
    "evaluate",
    "ablate",
    "export",
    "bench",
    "sds",
    "train_rescorer",
    "train_refiner",
    "refine",
)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="hckeras",
        description="Hypercolumns (Hariharan et al., CVPR 2015) in Keras 3: "
        "masks, keypoints and part labels from detection boxes.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(f"hckeras.cli.{name}").register(subparsers)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except (ValueError, FileNotFoundError, MemoryError) as error:
        print(f"hckeras {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
