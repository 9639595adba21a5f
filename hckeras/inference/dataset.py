"""Predict over a COCO data set: every image that has detections -> COCO results."""

import os
from collections import defaultdict

from hckeras.data.coco import image_entry_problem, is_finite_number, read_json
from hckeras.inference.predictor import SKIP_REASONS, warn_skipped
from hckeras.inference.results import results_to_coco


def read_detections(detections, min_score=None):
    """COCO results detections from a path or a list, keeping `score >= min_score`.

    Detections whose score is not a finite number are kept whatever `min_score`: the
    predictor skips and counts them (`invalid_score`).
    """
    source = "detections"
    if isinstance(detections, str | os.PathLike):
        source = f"detections file {os.fspath(detections)}"
        detections = read_json(os.fspath(detections), "detections file")
    if not isinstance(detections, list):
        raise ValueError(f"{source}: must be a COCO results list, got {type(detections).__name__}")
    for index, detection in enumerate(detections):
        if not isinstance(detection, dict) or "image_id" not in detection:
            raise ValueError(f"{source}: detections[{index}] is not a COCO result with an image_id")
        missing = [key for key in ("bbox", "category_id") if key not in detection]
        if missing:
            raise ValueError(f"{source}: detections[{index}] has no {', '.join(missing)}")
    if min_score is not None:
        detections = [
            d
            for d in detections
            if not is_finite_number(d.get("score", 1.0)) or d.get("score", 1.0) >= min_score
        ]
    return detections


def group_by_image(detections):
    """`{image_id: [detection, ...]}`, in first-appearance order."""
    groups = defaultdict(list)
    for detection in detections:
        groups[detection["image_id"]].append(detection)
    return dict(groups)


def predict_dataset(predictor, coco_gt, images_dir, detections, min_score=None):
    """Run `predictor` on every ground-truth image that has detections.

    Args:
        predictor: a `Predictor`.
        coco_gt: ground truth: path to COCO JSON, the loaded dict, or a
            `pycocotools.coco.COCO`; its `images` give file names and sizes.
        images_dir: folder the images' `file_name`s are relative to.
        detections: COCO results (path or list of dicts with `image_id`).
        min_score: drop detections scored below this.

    Returns:
        COCO results dicts (`results_to_coco`), image by image in ground-truth
        order. Skipped detections are reported in one warning.
    """
    from hckeras.data.images import load_coco_image
    from hckeras.metrics.coco_io import load_ground_truth

    coco = load_ground_truth(coco_gt)
    groups = group_by_image(read_detections(detections, min_score=min_score))
    unknown = sorted(set(groups) - set(coco.imgs), key=str)
    if unknown:
        raise ValueError(f"detections refer to image ids {unknown[:10]} not in the ground truth")
    skipped = dict.fromkeys(SKIP_REASONS, 0)
    examples = {}
    results = []
    for image_id, info in coco.imgs.items():
        if image_id not in groups:
            continue
        problem = image_entry_problem(info)
        if problem:
            source = coco_gt if isinstance(coco_gt, str | os.PathLike) else "the ground truth"
            raise ValueError(f"{source}: image {image_id!r} {problem}")
        image = load_coco_image(images_dir, info)
        predictions, image_skipped, image_examples = predictor.predict_with_skips(
            image, groups[image_id]
        )
        results.extend(results_to_coco(predictions, image_id=image_id))
        for reason, count in image_skipped.items():
            skipped[reason] += count
        examples.update({k: v for k, v in image_examples.items() if k not in examples})
    warn_skipped(skipped, examples)
    return results
