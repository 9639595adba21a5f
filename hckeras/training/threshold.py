"""`choose_mask_threshold`: the mask threshold that fits a trained model best.

A model trained for a few thousand steps from scratch is under-confident at the
edges of thin parts: its probabilities there sit below 0.5, so the fixed 0.5
threshold of the paper cuts limbs off. `choose_mask_threshold` runs the model
on the ground-truth box of every instance of a held-out set (validation, never
the test split) and picks the candidate threshold with the best mean mask IoU
on the S x S grid (part IoU for part models); `train` stores it in the model's
spec (`thresholds["mask"]`) when `TrainConfig.calibrate_threshold` is set, and
every consumer of the spec (Python inference, the LiteRT metadata, the Android
core) uses it from there. It is chosen on mask quality with the boxes given,
not on the APr of any split.

    chosen = choose_mask_threshold(Predictor(model, spec), "data/val/annotations.json")
    chosen["threshold"], chosen["quality"]      # 0.4, {"0.2": 0.61, ..., "0.8": 0.58}
"""

from hckeras.experiments.crop_quality import NAMES, instance_heatmaps, mean_quality

CANDIDATES = tuple(round(0.2 + 0.05 * step, 2) for step in range(13))
"""Thresholds tried: 0.2, 0.25, ..., 0.8."""

TASKS = ("segmentation", "parts")


def best_threshold(quality):
    """The candidate with the highest quality; ties go to the one nearest 0.5.

    >>> best_threshold({0.4: 0.7, 0.5: 0.6, 0.6: 0.7})
    0.4
    """
    return max(quality, key=lambda t: (round(quality[t], 12), -abs(t - 0.5), -t))


def choose_mask_threshold(predictor, data, images_dir=None, candidates=CANDIDATES):
    """Mean heatmap quality on `data`'s ground-truth boxes at each candidate.

    Args:
        predictor: a segmentation or parts `Predictor`.
        data: COCO JSON of held-out instances.
        images_dir: their image folder (default: the JSON's folder).
        candidates: thresholds to try, each in (0, 1).

    Returns:
        dict `threshold` (the best candidate), `quality` (candidate -> mean
        mask IoU, or part IoU), `count` (instances scored), `measure`.
    """
    task = predictor.spec.task
    if task not in TASKS:
        raise ValueError(f"a mask threshold is chosen for {' and '.join(TASKS)} models, not {task}")
    if not candidates or any(not 0 < float(t) < 1 for t in candidates):
        raise ValueError(f"candidate thresholds must lie in (0, 1), got {candidates}")
    heatmaps = list(instance_heatmaps(predictor, data, images_dir))
    quality = {}
    for threshold in candidates:
        value, _ = mean_quality(task, heatmaps, threshold)
        if value is None:
            raise ValueError(f"{data}: no instance to choose a mask threshold on")
        quality[float(threshold)] = value
    return {
        "threshold": best_threshold(quality),
        "quality": quality,
        "count": len(heatmaps),
        "measure": NAMES[task],
    }
