"""`hckeras export`: every LiteRT variant of a trained model, with a benchmark table.

    hckeras export runs/x/model.keras --variants fp32,fp16,dynamic,int8,qat \\
        --data synthetic/val.json --images synthetic --out runs/x/export

Writes `model_<variant>.tflite` (+ `.json` metadata) per variant,
`backbone_fp32.tflite`, and `export_report.json` / `export_report.md` to `--out`,
prints the table, and exits 1 when a variant fails to export or misses a floor.
"""

from hckeras.cli.predict import add_scoring_argument


def register(subparsers):
    parser = subparsers.add_parser(
        "export", help="export LiteRT (.tflite) variants and benchmark them"
    )
    parser.add_argument("model", help="trained .keras file (with its .json spec sidecar)")
    parser.add_argument(
        "--variants",
        default="fp32,fp16,dynamic,int8",
        help="comma-separated, of fp32, fp16, dynamic, int8 and qat (default: %(default)s)",
    )
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--data", help="COCO JSON: calibration, parity and QAT crops")
    parser.add_argument("--images", help="image folder of --data (default: its folder)")
    parser.add_argument("--train-data", help="COCO JSON for QAT fine-tuning (default: --data)")
    parser.add_argument(
        "--calibration-count",
        type=int,
        default=128,
        help="--data crops that calibrate int8 (default: %(default)s)",
    )
    parser.add_argument(
        "--eval-count",
        type=int,
        default=64,
        help="--data crops of the parity columns (default: %(default)s)",
    )
    parser.add_argument(
        "--threads", default="1,2", help="CPU thread counts to time (default: %(default)s)"
    )
    parser.add_argument(
        "--runs", type=int, default=20, help="timed runs, median reported (default: %(default)s)"
    )
    parser.add_argument(
        "--qat-epochs", type=int, default=1, help="QAT fine-tuning epochs (default: %(default)s)"
    )
    parser.add_argument(
        "--qat-steps", type=int, help="batches per QAT epoch (default: the whole training set)"
    )
    parser.add_argument(
        "--qat-learning-rate",
        type=float,
        default=1e-5,
        help="QAT fine-tuning learning rate (default: %(default)s)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=16,
        help="crops per batch of QAT fine-tuning and of reading --data (default: %(default)s)",
    )
    parser.add_argument(
        "--max-fp32-diff",
        type=float,
        default=1e-4,
        help="fp32 floor: largest probability difference from Keras (default: %(default)s)",
    )
    parser.add_argument(
        "--max-fp16-diff",
        type=float,
        default=5e-3,
        help="fp16 floor: largest probability difference from Keras (default: %(default)s)",
    )
    parser.add_argument(
        "--min-iou",
        type=float,
        default=0.95,
        help="dynamic, int8 and qat floor: mean mask IoU with the float model's "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--min-argmax",
        type=float,
        default=0.95,
        help="dynamic, int8 and qat floor of keypoint models: share of keypoint argmaxes "
        "within one cell of the float model's (default: %(default)s)",
    )
    parser.add_argument(
        "--detections",
        help="COCO results boxes for --data: adds each variant's accuracy (APr, APK or "
        "APr-part) on --data, and a Keras reference row",
    )
    add_scoring_argument(parser)
    parser.add_argument(
        "--max-accuracy-drop",
        type=float,
        help="with --detections: fail a variant that loses more than this (0.01 = 1 point)",
    )
    parser.add_argument("--no-backbone", action="store_true", help="skip the backbone row")
    parser.add_argument(
        "--per-category",
        action="store_true",
        help="also export category-conditional models, one per category "
        "(model_<variant>_cat<id>.tflite: only that category's maps, for on-device use)",
    )
    parser.add_argument(
        "--head",
        choices=("auto", "streams", "dense"),
        default="auto",
        help="eq. 3 on grid streams (the same probabilities, a lighter head): where the "
        "model's tap maps allow it (auto), always (streams: fail if not), or never (dense)",
    )
    parser.set_defaults(func=run_export)


def _floors(args):
    quantized = {"min_iou": args.min_iou, "min_argmax": args.min_argmax}
    return {
        "fp32": {"max_abs_diff": args.max_fp32_diff},
        "fp16": {"max_abs_diff": args.max_fp16_diff},
        "dynamic": quantized,
        "int8": quantized,
        "qat": quantized,
    }


def _datasets(args, spec):
    from hckeras.data.dataset import (
        first_samples,
        representative_crops,
        training_dataset,
        validation_dataset,
    )

    common = {
        "images_dir": args.images,
        "task": spec.task,
        "input_size": tuple(spec.input_size),
        "output_size": spec.output_size,
        "context_padding": spec.context_padding,
        "layout": spec.layout,
        "workers": 1,
    }
    held_out = validation_dataset(args.data, batch_size=args.batch_size, **common)
    crops, targets = first_samples(held_out, args.eval_count)
    calibration = representative_crops(held_out, args.calibration_count)
    train_json = args.train_data or args.data
    train_common = dict(common)
    if args.train_data:
        train_common["images_dir"] = None
    train = training_dataset(train_json, batch_size=args.batch_size, **train_common)
    return crops, targets, calibration, train


def run_export(args):
    import dataclasses
    from pathlib import Path

    from hckeras.export.benchmark import format_table, run_export_benchmark, task_accuracy
    from hckeras.export.convert import load_keras_model
    from hckeras.export.qat import QATConfig
    from hckeras.export.quantization import VARIANTS
    from hckeras.io import write_json_atomic, write_text_atomic

    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise ValueError(f"unknown variants {unknown}; valid: {', '.join(VARIANTS)}")
    threads = tuple(int(t) for t in args.threads.split(","))
    _, spec = load_keras_model(args.model)
    if spec is None:
        raise ValueError(f"{args.model} has no .json spec sidecar")
    eval_crops = targets = calibration = train = None
    if args.data:
        eval_crops, targets, calibration, train = _datasets(args, spec)
    elif {"int8", "qat"} & set(variants):
        raise ValueError("the int8 and qat variants need --data (calibration / training crops)")
    accuracy_fn = None
    if args.scoring != "box" and not args.detections:
        raise ValueError(
            f"--scoring {args.scoring} ranks the accuracy columns: it needs --detections"
        )
    if args.detections:
        if not args.data:
            raise ValueError("--detections needs --data (the ground truth they are scored on)")
        images = args.images or str(Path(args.data).resolve().parent)
        accuracy_fn = task_accuracy(
            args.data, images, args.detections, num_threads=1, scoring=args.scoring
        )
    qat_config = QATConfig(
        epochs=args.qat_epochs, learning_rate=args.qat_learning_rate, steps_per_epoch=args.qat_steps
    )
    rows = run_export_benchmark(
        args.model,
        variants,
        args.out,
        eval_crops=eval_crops,
        eval_targets=targets,
        calibration_crops=calibration,
        train_data=train,
        qat_config=qat_config,
        threads=threads,
        runs=args.runs,
        floors=_floors(args),
        backbone=not args.no_backbone,
        accuracy_fn=accuracy_fn,
        max_accuracy_drop=args.max_accuracy_drop,
        per_category=args.per_category,
        head=args.head,
    )
    table = format_table(rows, threads)
    print(table)
    for row in rows:
        if row.graph_problems:
            print(f"hckeras export: {row.variant} graph: {'; '.join(row.graph_problems)}")
    out = Path(args.out)
    write_text_atomic(out / "export_report.md", table + "\n")
    write_json_atomic(out / "export_report.json", [dataclasses.asdict(r) for r in rows])
    failed = [
        r.variant
        for r in rows
        if r.variant not in ("backbone", "keras") and not (r.exported and r.validated)
    ]
    if failed:
        print(f"hckeras export: failed or below the floors: {', '.join(failed)}")
        return 1
    return 0


def main(argv=None):
    """`python -m hckeras.cli.export MODEL.keras ...` (same as `hckeras export`)."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="hckeras")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["export", *(sys.argv[1:] if argv is None else argv)])
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as error:
        print(f"hckeras export: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
