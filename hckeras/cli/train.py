"""`hckeras train`: train a hypercolumn model with model.fit, resumably."""

import json

from hckeras.data.image_cache import DEFAULT_IMAGE_CACHE_MB


def parse_taps(text):
    """`fc7:1,conv4:1,pool2:3` -> {"fc7": 1, "conv4": 1, "pool2": 3}."""
    taps = {}
    for item in text.split(","):
        name, _, size = item.strip().partition(":")
        try:
            taps[name] = int(size or 1)
        except ValueError as error:
            raise ValueError(f"--taps: {item!r} is not NAME:SIZE") from error
    return taps


# CLI flag -> TrainConfig field, for the options a preset may set. Their flags
# default to None so that a preset's value holds unless the flag is given.
_OPTIONS = {
    "images": "images",
    "task": "task",
    "backbone": "backbone",
    "taps": "taps",
    "grid": "grid_size",
    "output_size": "output_size",
    "input_size": "input_size",
    "weights": "weights",
    "loss_mode": "loss_mode",
    "epochs": "epochs",
    "batch_size": "batch_size",
    "lr": "learning_rate",
    "lr_schedule": "lr_schedule",
    "warmup_epochs": "warmup_epochs",
    "weight_decay": "weight_decay",
    "boxes_per_instance": "boxes_per_instance",
    "cache_dir": "cache_dir",
    "bn_momentum": "batch_norm_momentum",
    "val_data": "val_data",
    "val_images": "val_images",
    "workers": "workers",
    "image_cache_mb": "image_cache_mb",
    "seed": "seed",
    "mixed_precision": "mixed_precision",
    "calibrate_threshold": "calibrate_threshold",
}


def register(subparsers):
    from hckeras.training.presets import PRESETS

    parser = subparsers.add_parser(
        "train",
        help="train a hypercolumn model (resumes when the run directory has a checkpoint)",
        description="Options not given take the preset's value, else TrainConfig's default.",
    )
    parser.add_argument("--data", required=True, help="ground-truth COCO JSON")
    parser.add_argument("--preset", choices=sorted(PRESETS), help="start from a named recipe")
    parser.add_argument("--images", help="image folder (default: the JSON's folder)")
    parser.add_argument("--task", choices=["segmentation", "parts", "keypoints"])
    parser.add_argument(
        "--backbone",
        help="tiny (default), vgg16, alexnet, mobilenet_v3_small, mobilenet_v3_large, and their "
        "_minimalistic variants",
    )
    parser.add_argument(
        "--taps", type=parse_taps, help="e.g. fc7:1,conv4:1,pool2:3 (default: paper's)"
    )
    parser.add_argument("--grid", type=int, help="K of the K x K classifier grid (default 5)")
    parser.add_argument("--output-size", type=int, help="heatmap side S (default 50)")
    parser.add_argument("--input-size", type=int, help="crop side (backbones that allow it)")
    parser.add_argument("--weights", help="backbone weights: imagenet or a file")
    parser.add_argument("--loss-mode", choices=["interpolated", "cell"])
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--lr", type=float, help="peak learning rate")
    parser.add_argument("--lr-schedule", choices=["constant", "cosine"])
    parser.add_argument("--warmup-epochs", type=float, help="linear warm-up length")
    parser.add_argument("--weight-decay", type=float, help="> 0: AdamW with this decay")
    parser.add_argument("--boxes-per-instance", type=int)
    parser.add_argument("--cache-dir", help="train from cached shards built in this folder")
    parser.add_argument("--bn-momentum", type=float, help="BatchNormalization momentum")
    parser.add_argument("--val-data", help="validation COCO JSON")
    parser.add_argument("--val-images")
    parser.add_argument("--workers", type=int)
    parser.add_argument(
        "--image-cache-mb",
        type=float,
        help=f"MiB of decoded images kept between batches (default {DEFAULT_IMAGE_CACHE_MB}; "
        "0: none)",
    )
    parser.add_argument("--seed", type=int)
    parser.add_argument("--mixed-precision", choices=["mixed_float16", "mixed_bfloat16"])
    parser.add_argument(
        "--no-jit", action="store_true", help="do not compile the train step with XLA"
    )
    parser.add_argument(
        "--distribute",
        action="store_true",
        help="data-parallel over all local devices (JAX DataParallel / TF MirroredStrategy)",
    )
    parser.add_argument(
        "--calibrate-threshold",
        action="store_true",
        default=None,
        help="choose the mask threshold on --val-data's ground-truth boxes (best mean IoU)",
    )
    parser.add_argument("--out", required=True, help="run directory, e.g. runs/NAME")
    parser.set_defaults(func=run)


def config_from_args(args):
    """The `TrainConfig` of parsed `hckeras train` arguments."""
    from hckeras.training import TrainConfig

    options = {
        field: getattr(args, flag)
        for flag, field in _OPTIONS.items()
        if getattr(args, flag) is not None
    }
    options.update(
        data=args.data, jit_compile=False if args.no_jit else "auto", distribute=args.distribute
    )
    if args.preset:
        return TrainConfig.from_preset(args.preset, **options)
    return TrainConfig(**options)


def run(args):
    from hckeras.training import train

    result = train(config_from_args(args), args.out)
    print(json.dumps({"model": str(result["model_path"]), "skipped": result["skipped"]}))
    return 0
