"""`hckeras synth`: write the synthetic data set of articulated objects.

Example:

    hckeras synth --out runs/synth --images 200 --seed 0
"""

import time


def register(subparsers):
    """Adds the `synth` subcommand to an argparse `subparsers`."""
    parser = subparsers.add_parser(
        "synth",
        help="write a synthetic COCO data set of people, quadrupeds and birds",
        description="Render scenes of articulated objects over clutter and write images, "
        "annotations.json (masks, keypoints, part labels), parts/*.png, "
        "detections_raw.json (a simulated detector's pre-NMS pool) and "
        "detections_simulated.json (its box NMS). Same seed, same bytes.",
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument("--images", type=int, default=100, metavar="N", help="number of images")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (>= 0)")
    parser.add_argument(
        "--size",
        type=int,
        nargs=2,
        default=(256, 320),
        metavar=("MIN", "MAX"),
        help="range of image widths and heights in pixels (default 256 320)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="processes that render images (default: every CPU this process may use); "
        "the files are the same for any number",
    )
    parser.set_defaults(func=run)


def run(args):
    """Runs `hckeras synth` with parsed `args`; returns the exit status."""
    from hckeras.data.synthetic import default_workers, generate

    workers = default_workers() if args.workers is None else args.workers
    start = time.perf_counter()
    path = generate(
        args.out, args.images, seed=args.seed, image_size_range=tuple(args.size), workers=workers
    )
    seconds = time.perf_counter() - start
    print(f"wrote {args.images} images and {path} in {seconds:.1f} s")
    return 0
