"""`hckeras bench`: benchmarks whose figures go into notes and BENCHMARKS.md."""

from hckeras.data.image_cache import DEFAULT_IMAGE_CACHE_MB


def register(subparsers):
    parser = subparsers.add_parser("bench", help="measure speed and memory")
    targets = parser.add_subparsers(dest="target", required=True, metavar="TARGET")
    head = targets.add_parser("head", help="efficient vs explicit head, forward + backward")
    head.add_argument("--backbone", default="vgg16")
    head.add_argument("--batch-size", type=int, default=8)
    head.add_argument("--grid", type=int, default=5)
    head.add_argument("--output-size", type=int, default=50)
    head.add_argument("--steps", type=int, default=5)
    head.add_argument("--json", help="also write the figures to this JSON file")
    head.set_defaults(func=run_head)

    training = targets.add_parser(
        "training", help="input pipeline vs model-only vs end-to-end training throughput"
    )
    training.add_argument("--data", required=True, help="ground-truth COCO JSON")
    training.add_argument("--images")
    training.add_argument("--backbone", default="tiny")
    training.add_argument("--input-size", type=int)
    training.add_argument("--grid", type=int, default=5)
    training.add_argument("--output-size", type=int, default=50)
    training.add_argument("--batch-size", type=int, default=16)
    training.add_argument("--steps", type=int, default=10)
    training.add_argument("--workers", type=int, default=2)
    training.add_argument("--processes", action="store_true", help="workers are processes")
    training.add_argument(
        "--image-cache-mb",
        type=float,
        default=DEFAULT_IMAGE_CACHE_MB,
        help=f"MiB of decoded images kept between batches (default {DEFAULT_IMAGE_CACHE_MB}; "
        "0: decode on every use)",
    )
    training.add_argument("--mixed-precision", choices=["mixed_float16", "mixed_bfloat16"])
    training.add_argument("--no-jit", action="store_true")
    training.add_argument("--json", help="also write the figures to this JSON file")
    training.set_defaults(func=run_training)

    shards = targets.add_parser(
        "shards", help="cached training shards vs on-the-fly crops, samples per CPU-second"
    )
    shards.add_argument("--data", required=True, help="ground-truth COCO JSON")
    shards.add_argument(
        "--task", default="segmentation", choices=["segmentation", "parts", "keypoints"]
    )
    shards.add_argument("--input-size", type=int, default=96)
    shards.add_argument("--output-size", type=int, default=32)
    shards.add_argument("--boxes-per-instance", type=int, default=2)
    shards.add_argument("--json", help="also write the figures to this JSON file")
    shards.set_defaults(func=run_shards)

    predict = targets.add_parser(
        "predict", help="peak memory and time of predicting N detections in one large image"
    )
    predict.add_argument(
        "--counts", default="6,12,24", help="detection counts, comma-separated (default 6,12,24)"
    )
    predict.add_argument("--image-size", type=int, default=8000, help="image side in pixels")
    predict.add_argument("--box-size", type=int, default=1000, help="box side in pixels")
    predict.add_argument("--batch-size", type=int, default=32)
    predict.add_argument("--json", help="also write the figures to this JSON file")
    predict.set_defaults(func=run_predict)


def run_head(args):
    from hckeras.bench.head import bench_head, format_head_report
    from hckeras.io import write_json_atomic

    results = bench_head(
        backbone=args.backbone,
        batch_size=args.batch_size,
        grid_size=args.grid,
        output_size=args.output_size,
        steps=args.steps,
    )
    print(format_head_report(results))
    if args.json:
        write_json_atomic(args.json, results)
    return 0


def run_training(args):
    from hckeras.bench.training import bench_training, format_training_report
    from hckeras.io import write_json_atomic

    results = bench_training(
        args.data,
        args.images,
        backbone=args.backbone,
        input_size=args.input_size,
        grid_size=args.grid,
        output_size=args.output_size,
        batch_size=args.batch_size,
        steps=args.steps,
        workers=args.workers,
        use_multiprocessing=args.processes,
        image_cache_mb=args.image_cache_mb,
        mixed_precision=args.mixed_precision,
        jit_compile=False if args.no_jit else "auto",
    )
    print(format_training_report(results))
    if args.json:
        write_json_atomic(args.json, results)
    return 0


def run_shards(args):
    from hckeras.bench.shards import bench_shards, format_shards_report
    from hckeras.io import write_json_atomic

    results = bench_shards(
        args.data,
        task=args.task,
        input_size=args.input_size,
        output_size=args.output_size,
        boxes_per_instance=args.boxes_per_instance,
    )
    print(format_shards_report(results))
    if args.json:
        write_json_atomic(args.json, results)
    return 0


def run_predict(args):
    from hckeras.bench.predict import bench_predict, format_predict_report
    from hckeras.io import write_json_atomic

    try:
        counts = [int(c) for c in args.counts.split(",")]
    except ValueError:
        raise ValueError(f"--counts: comma-separated integers, got {args.counts!r}") from None
    if not counts or min(counts) < 1:
        raise ValueError(f"--counts must be positive, got {args.counts!r}")
    if not 0 < args.box_size <= args.image_size:
        raise ValueError(
            f"--box-size must lie in [1, --image-size {args.image_size}], got {args.box_size}"
        )
    results = bench_predict(
        counts, image_size=args.image_size, box_size=args.box_size, batch_size=args.batch_size
    )
    print(format_predict_report(results))
    if args.json:
        write_json_atomic(args.json, results)
    return 0
