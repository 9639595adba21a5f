"""`hckeras predict`: masks, part labels or keypoints for detections in images.

    hckeras predict --model runs/x/model.keras --image images/000001.png \\
        --detections detections.json --gt annotations.json --out runs/x/predict

Writes `DIR/<stem>_overlay.png` per image and `DIR/results.json` (COCO results,
docs/data_format.md). Which detections belong to an image:

- with `--gt`: the ground-truth image whose `file_name` is the end of the image
  path (`data/images/000001.png` matches `images/000001.png`), failing that the
  one whose `file_name` has the same base name; none or several is an error;
- without: the image id equal to the file's stem read as a number
  (`000123.png` -> 123) when the detections have that id; otherwise, for a
  single `--image`, all detections when they have a single image id; otherwise
  a numeric stem with no detections gets none, and anything else is an error.
"""

import sys
from pathlib import Path


def add_scoring_argument(parser):
    """`--scoring box|mask` (`Predictor`'s `scoring`)."""
    parser.add_argument(
        "--scoring",
        choices=["box", "mask"],
        default="box",
        help="result scores: the detection's (box, default) or the detection's times the "
        "mask's expected IoU under its own probabilities (mask; segmentation models)",
    )


def register(subparsers):
    """Adds the `predict` subcommand to an argparse `subparsers`."""
    parser = subparsers.add_parser(
        "predict",
        help="predict masks, part labels or keypoints for detections",
        description="Run a hypercolumn model on the detections of each image; write an "
        "overlay PNG per image and results.json (COCO results).",
    )
    parser.add_argument(
        "--model", required=True, metavar="M", help="model file (.keras or .tflite)"
    )
    parser.add_argument(
        "--image", required=True, nargs="+", metavar="IMG", help="image files to predict on"
    )
    parser.add_argument(
        "--detections", required=True, metavar="DETS", help="detections, COCO results JSON"
    )
    parser.add_argument(
        "--gt", metavar="GT", help="COCO ground truth: maps image file names to image ids"
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument(
        "--threshold",
        type=float,
        metavar="T",
        help="mask threshold (default: the model spec's, usually 0.5)",
    )
    parser.add_argument(
        "--superpixels",
        action="store_true",
        help="average probabilities over SLIC superpixels before thresholding",
    )
    add_scoring_argument(parser)
    parser.add_argument(
        "--min-score", type=float, metavar="S", help="ignore detections scored below S"
    )
    parser.add_argument(
        "--batch-size", type=int, default=32, metavar="N", help="crops per model call"
    )
    parser.set_defaults(func=run)


def assign_image_ids(image_paths, detection_ids, gt_images=None):
    """The image id of each image file (rules in the module docstring).

    Args:
        image_paths: image file paths.
        detection_ids: the set of image ids the detections refer to.
        gt_images: COCO `images` dicts, or None.

    Returns:
        list of image ids (None for an image without id and without detections).
    """
    if gt_images is not None:
        return [_gt_image_id(Path(path), gt_images) for path in image_paths]
    ids = []
    for path in image_paths:
        stem = Path(path).stem
        number = int(stem) if stem.isascii() and stem.isdigit() else None
        if number is not None and number in detection_ids:
            ids.append(number)
        elif len(detection_ids) == 1 and len(image_paths) == 1:
            ids.append(next(iter(detection_ids)))
        elif number is not None or not detection_ids:
            ids.append(number)
        else:
            raise ValueError(
                f"cannot tell which detections belong to {path}: its name is not a numeric "
                f"image id and the detections cover {len(detection_ids)} images; "
                "pass --gt with the images' file names"
            )
    return ids


def _gt_image_id(path, gt_images):
    parts = path.resolve().parts
    matches = [
        image
        for image in gt_images
        if parts[-len(Path(image["file_name"]).parts) :] == Path(image["file_name"]).parts
    ]
    if not matches:
        matches = [image for image in gt_images if Path(image["file_name"]).name == path.name]
    if not matches:
        raise ValueError(f"image {path} is not in the ground truth (no file_name matches)")
    if len(matches) > 1:
        names = [m["file_name"] for m in matches]
        raise ValueError(f"image {path} matches several ground-truth file names: {names}")
    return matches[0]["id"]


def run(args):
    """Runs `hckeras predict` with parsed `args`; returns the exit status."""
    from hckeras.data.images import load_image
    from hckeras.inference.dataset import group_by_image, read_detections
    from hckeras.inference.overlay import draw_overlay, save_png
    from hckeras.inference.predictor import SKIP_REASONS, load_predictor
    from hckeras.inference.results import results_to_coco, write_results

    paths = [Path(p) for p in args.image]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"image files not found: {missing}")
    stems = [p.stem for p in paths]
    repeated = sorted({s for s in stems if stems.count(s) > 1})
    if repeated:
        raise ValueError(f"several images share the name(s) {repeated}; their overlays would clash")
    groups = group_by_image(read_detections(args.detections, min_score=args.min_score))
    gt = None
    if args.gt:
        gt = read_ground_truth_images(args.gt)
    image_ids = assign_image_ids(paths, set(groups), None if gt is None else gt["images"])

    predictor = load_predictor(
        args.model,
        superpixels=args.superpixels,
        threshold=args.threshold,
        batch_size=args.batch_size,
        scoring=args.scoring,
    )
    categories = gt["categories"] if gt is not None else _layout_categories(predictor.spec)
    gt_sizes = {} if gt is None else {i["id"]: (i["height"], i["width"]) for i in gt["images"]}
    out = Path(args.out)
    results = []
    skipped = dict.fromkeys(SKIP_REASONS, 0)
    for path, image_id in zip(paths, image_ids, strict=True):
        image = load_image(path)
        if image_id in gt_sizes and tuple(image.shape[:2]) != gt_sizes[image_id]:
            raise ValueError(
                f"image {path} is {image.shape[1]}x{image.shape[0]} but the ground truth "
                f"says {gt_sizes[image_id][1]}x{gt_sizes[image_id][0]}"
            )
        predictions, image_skipped, examples = predictor.predict_with_skips(
            image, groups.get(image_id, [])
        )
        results.extend(results_to_coco(predictions, image_id=image_id))
        count = len(predictions)
        # The image is not needed after this: draw on it and write it without copies
        # (each copy of an 8000 x 8000 image is 183 MiB).
        picture = draw_overlay(image, predictions, categories, in_place=True)
        del predictions
        save_png(out / f"{path.stem}_overlay.png", picture, copy=False)
        for reason, skips in image_skipped.items():
            skipped[reason] += skips
        note = "".join(f"; skipped {image_skipped[k]} ({examples[k]})" for k in examples)
        print(f"{path}: image id {image_id}, {count} predictions{note}")
    write_results(out / "results.json", results)
    total = sum(skipped.values())
    if total:
        reasons = ", ".join(f"{count} {reason}" for reason, count in skipped.items() if count)
        print(f"skipped {total} detections: {reasons}", file=sys.stderr)
    print(f"wrote {len(results)} results to {out / 'results.json'}")
    return 0


def read_ground_truth_images(path):
    """The COCO dict of `path`, its image entries checked (the errors name file and entry)."""
    from hckeras.data.coco import image_entry_problem, read_json

    gt = read_json(path, "ground-truth file")
    if not isinstance(gt, dict) or not isinstance(gt.get("images"), list) or "categories" not in gt:
        raise ValueError(f"{path} is not COCO ground truth with images and categories")
    for index, image in enumerate(gt["images"]):
        problem = image_entry_problem(image)
        has_id = isinstance(image, dict) and "id" in image
        if problem is None and not has_id:
            problem = "has no id"
        if problem:
            where = f"images[{index}]" + (f" (id {image['id']!r})" if has_id else "")
            raise ValueError(f"ground-truth file {path}: {where} {problem}")
    return gt


def _layout_categories(spec):
    """Category dicts (id, name) from a model spec, for overlays without ground truth."""
    layout = spec.layout
    return [
        {"id": cid, "name": name}
        for cid, name in zip(layout.category_ids, layout.category_names, strict=True)
    ]
