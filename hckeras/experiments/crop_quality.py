"""Heatmap quality with detection taken out: the model on ground-truth boxes.

`crop_quality` runs a trained model on every validation instance seen through
its own ground-truth box and compares the S x S heatmaps with the targets, so
the figure says how good the masks (parts, keypoints) are, whatever the boxes:

- segmentation: mean IoU of the mask (p >= the model's mask threshold, 0.5
  unless `hckeras.training.threshold` chose another) with the target mask;
- parts: mean over instances of the mean IoU over the parts present in the
  target or the prediction (part = argmax over the category's parts, inside the
  foreground p >= the mask threshold of any part);
- keypoints: the fraction of labelled keypoints inside the grid whose argmax
  cell lies within the target's ignore radius (10% of the grid diagonal) of the
  keypoint (PCK at 0.1 on the grid).

    crop_quality("runs/demo/hypercolumn/model.keras", "data/val/annotations.json")
    # {"name": "mask IoU (GT boxes)", "value": 0.83, "count": 412}
"""

import numpy as np

from hckeras.data.targets import KEYPOINT_IGNORE_RADIUS

NAMES = {
    "segmentation": "mask IoU (GT boxes)",
    "parts": "part IoU (GT boxes)",
    "keypoints": "keypoint PCK@0.1 (GT boxes)",
}


def _iou(a, b):
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def sample_quality(task, probabilities, target, threshold=0.5):
    """One instance's score (see the module docstring), or None if undefined.

    Args:
        task: "segmentation", "parts" or "keypoints".
        probabilities: `(S, S, M)` heatmaps of the instance's category.
        target: `(S, S, M)` targets of the same channels, in {1, 0, -1}.
        threshold: mask threshold (segmentation and parts foreground).
    """
    if task == "segmentation":
        labelled = target[..., 0] >= 0
        return _iou((probabilities[..., 0] >= threshold) & labelled, target[..., 0] > 0.5)
    if task == "parts":
        foreground = probabilities.max(axis=-1) >= threshold
        predicted = np.where(foreground, probabilities.argmax(axis=-1) + 1, 0)
        truth = np.where(target.max(axis=-1) > 0.5, target.argmax(axis=-1) + 1, 0)
        ious = [
            _iou(predicted == p, truth == p)
            for p in range(1, target.shape[-1] + 1)
            if (predicted == p).any() or (truth == p).any()
        ]
        return float(np.mean(ious)) if ious else None
    size = target.shape[0]
    radius = KEYPOINT_IGNORE_RADIUS * size * np.sqrt(2)
    hits = []
    for k in range(target.shape[-1]):
        positive = np.argwhere(target[..., k] > 0.5)
        if len(positive) == 0:
            continue
        row, col = np.unravel_index(np.argmax(probabilities[..., k]), (size, size))
        hits.append(np.hypot(row - positive[0][0], col - positive[0][1]) <= radius)
    return float(np.mean(hits)) if hits else None


def mean_quality(task, heatmaps, threshold=0.5):
    """`(mean, count)` of `sample_quality` over `(probabilities, target)` pairs,
    the undefined ones left out; the mean is None when none is defined."""
    scores = [sample_quality(task, p, t, threshold) for p, t in heatmaps]
    scores = [score for score in scores if score is not None]
    return (float(np.mean(scores)) if scores else None), len(scores)


def instance_heatmaps(predictor, data, images_dir=None, batch_size=32):
    """The model's heatmaps on the ground-truth box of every instance of `data`.

    Args:
        predictor: a `hckeras.inference.predictor.Predictor`.
        data: COCO JSON of the instances.
        images_dir: their image folder (default: the JSON's folder).
        batch_size: crops per model call.

    Yields:
        `(probabilities, target)` per instance: `(S, S, M)` heatmaps and targets
        of the instance's own category's M channels.
    """
    from hckeras.data.dataset import validation_dataset
    from hckeras.inference.runners import run_in_batches

    spec = predictor.spec
    dataset = validation_dataset(
        data,
        images_dir,
        task=spec.task,
        input_size=spec.input_size,
        output_size=spec.output_size,
        batch_size=batch_size,
        context_padding=spec.context_padding,
        layout=spec.layout,
        workers=0,
    )
    for index in range(len(dataset)):
        crops, targets = dataset[index][:2]
        probabilities = run_in_batches(predictor.runner, crops, batch_size)
        for row in range(len(crops)):
            channels = np.flatnonzero((targets[row] >= 0).any(axis=(0, 1)))
            yield probabilities[row][..., channels], targets[row][..., channels]


def crop_quality(model_path, data, images_dir=None, batch_size=32):
    """Mean heatmap quality of a saved model on the ground-truth boxes of `data`,
    at the model's own mask threshold (`spec.thresholds["mask"]`).

    Args:
        model_path: `.keras` or `.tflite` model with its spec.
        data: COCO JSON of the instances to score.
        images_dir: their image folder (default: the JSON's folder).
        batch_size: crops per model call.

    Returns:
        dict `name` (the measure, by task), `value` (mean over instances), `count`.
    """
    from hckeras.inference.predictor import load_predictor

    predictor = load_predictor(model_path)
    task = predictor.spec.task
    heatmaps = instance_heatmaps(predictor, data, images_dir, batch_size)
    value, count = mean_quality(task, heatmaps, predictor.threshold)
    return {"name": NAMES[task], "value": value, "count": count}
