"""The accuracy ceiling of a set of detections: what perfect heatmaps would score.

`oracle_results` gives every detection the ground truth of its best-overlapping
instance of its category (box IoU), seen through the detection's expanded box:

- segmentation: the instance's mask, clipped to the expanded box;
- parts: its part labels, clipped to the expanded box (the foreground is the
  union of its parts);
- keypoints: the target heatmaps of its keypoints on an S x S grid over the
  expanded box (1 at the labelled keypoint's cell, 0 elsewhere), decoded by the
  same `decode_keypoints` as a model's: a keypoint outside the box or not
  labelled gets score 0.

A detection with no instance of its category overlapping it gets an empty mask
(or zero-score keypoints). Scoring these results with the task's metric gives
the ceiling a model's heatmaps can reach with these boxes: a model's figure is
read against it, not against 100.

    results = oracle_results("val/annotations.json", "val/detections_simulated.json",
                             task="segmentation")
    evaluate_results("val/annotations.json", results, metric="apr")["mean"]
"""

import json
import os

import numpy as np

from hckeras import boxes as box_utils
from hckeras.data.coco import CocoDataset
from hckeras.data.targets import keypoint_target

ORACLE_OUTPUT_SIZE = 50


def _inside_box(image_size, expanded_box):
    """bool `(H, W)`: pixels whose centres lie inside the xyxy box."""
    height, width = image_size
    x0, y0, x1, y1 = expanded_box
    cols = (np.arange(width) + 0.5 >= x0) & (np.arange(width) + 0.5 <= x1)
    rows = (np.arange(height) + 0.5 >= y0) & (np.arange(height) + 0.5 <= y1)
    return rows[:, None] & cols[None, :]


def _best_instance(annotations, box):
    if not annotations:
        return None
    ious = box_utils.box_iou(
        np.asarray([box], dtype=np.float64),
        np.asarray([box_utils.xywh_to_xyxy(a["bbox"]) for a in annotations], dtype=np.float64),
    )[0]
    best = int(np.argmax(ious))
    return annotations[best] if ious[best] > 0 else None


def _encode(mask):
    from hckeras.inference.results import encode_mask

    return encode_mask(mask)


def oracle_results(
    gt,
    detections,
    task="segmentation",
    context_padding=box_utils.DEFAULT_CONTEXT_PADDING,
    output_size=ORACLE_OUTPUT_SIZE,
):
    """COCO results of perfect heatmaps for `detections`.

    Args:
        gt: ground-truth COCO JSON path or loaded `CocoDataset`.
        detections: COCO results (path or list) with `image_id`, `category_id`,
            `bbox` and `score`.
        task: "segmentation", "parts" or "keypoints".
        context_padding: box expansion, as the model's (`boxes.expand_box`).
        output_size: S of the keypoint grid.

    Returns:
        list of COCO results dicts in the format `hckeras predict` writes.
    """
    coco = gt if isinstance(gt, CocoDataset) else CocoDataset.load(gt)
    if isinstance(detections, str | os.PathLike):
        with open(detections) as file:
            detections = json.load(file)
    by_image = {}
    for annotation in coco.annotations:
        if not annotation.get("iscrowd"):
            by_image.setdefault(annotation["image_id"], []).append(annotation)
    results = []
    for detection in detections:
        image_id, category_id = detection["image_id"], detection["category_id"]
        box = box_utils.xywh_to_xyxy(detection["bbox"])
        expanded = box_utils.expand_box(box, context_padding)
        candidates = [a for a in by_image.get(image_id, []) if a["category_id"] == category_id]
        instance = _best_instance(candidates, box)
        image_size = coco.image_size(image_id)
        entry = {
            "image_id": int(image_id),
            "category_id": int(category_id),
            "bbox": [float(v) for v in detection["bbox"]],
            "score": float(detection["score"]),
        }
        inside = _inside_box(image_size, expanded)
        if task == "segmentation":
            mask = np.zeros(image_size, bool) if instance is None else coco.mask(instance) > 0
            entry["segmentation"] = _encode(mask & inside)
        elif task == "parts":
            category = coco.category(category_id)
            labels = np.zeros(image_size, np.int64)
            if instance is not None:
                labels = np.where(inside, coco.part_labels(instance), 0)
            entry["segmentation"] = _encode(labels > 0)
            entry["parts"] = [_encode(labels == p + 1) for p in range(len(category["parts"]))]
        else:
            from hckeras.inference.decode import decode_keypoints

            count = len(coco.category(category_id)["keypoints"])
            keypoints = np.zeros((count, 3)) if instance is None else coco.keypoints(instance)
            heatmaps = np.maximum(keypoint_target(keypoints, expanded, output_size), 0.0)
            decoded = decode_keypoints(heatmaps, expanded, entry["score"])  # as the predictor
            entry["keypoints"] = [float(v) for v in decoded.ravel()]
        results.append(entry)
    return results
