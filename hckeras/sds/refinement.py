"""System 1 end to end (paper section 4.1): refine region candidates with hypercolumns.

Per candidate: its mask's box, expanded -> the image crop and the candidate's features
(`region_candidates.candidate_features`) -> the refiner's heatmap of the candidate's
category -> pasted back and thresholded -> the refined mask, with the candidate's score.
Training examples pair the same inputs with the figure-ground target of the
ground-truth instance the candidate overlaps most (by at least `MIN_TRAINING_OVERLAP`).

    examples = refinement_examples(spec, "synth/train/annotations.json", "synth/train",
                                   "synth/train/region_candidates.json")
    out = train_refiner("runs/demo/hypercolumn/model.keras", train_gt, train_dir, train_cands,
                        "runs/refiner/refiner.keras", val=(val_gt, val_dir, val_cands))
    results, report = refine_candidates(refiner, spec, gt, images_dir, candidates)
"""

from pathlib import Path

import numpy as np

from hckeras.data.targets import assemble_target, segmentation_target
from hckeras.inference.paste import mask_window, paste_mask
from hckeras.inference.results import encode_window_mask
from hckeras.metrics.overlaps import mask_iou
from hckeras.models.hypercolumn_model import COARSE_SIZE
from hckeras.resample import crop_and_resize
from hckeras.sds.region_candidates import (
    candidate_expanded_box,
    candidate_features,
    read_region_candidates,
)

MIN_TRAINING_OVERLAP = 0.5
"""A training candidate must overlap a ground-truth instance of its category by this IoU;
its target is that instance (the paper refines candidates that cover an object)."""

INPUTS = ("crops", "inside", "coarse")


def _images(coco, images_dir, grouped):
    """Yield `(info, image, [(entry, mask)], annotations)` per image with candidates, in
    ground-truth order."""
    from hckeras.data.images import load_coco_image

    for image_id, info in coco.imgs.items():
        if image_id not in grouped:
            continue
        image = load_coco_image(images_dir, info)
        yield info, image, grouped[image_id], coco.imgToAnns.get(image_id, [])


def refiner_inputs(image, mask, spec):
    """The refiner's three inputs for one candidate, and its expanded box.

    Returns:
        `(crop, inside, coarse, expanded_box)`: float32 `(H, W, 3)`, `(S, S, 1)`,
        `(100,)`, and the xyxy float64 box they were taken from.
    """
    expanded = candidate_expanded_box(mask, spec.context_padding)
    fill = float(spec.input_format.get("fill", 0.0))
    crop = crop_and_resize(image, expanded, spec.input_size, fill=fill)
    inside, coarse = candidate_features(mask, expanded, spec.output_size)
    return crop, inside, coarse, expanded


def _best_instance(mask, category_id, annotations, gt_masks):
    """Index of the instance of `category_id` the mask overlaps most, and the IoU."""
    best, index = 0.0, None
    for position, annotation in enumerate(annotations):
        if annotation["category_id"] != category_id or annotation.get("iscrowd", 0):
            continue
        iou = mask_iou(mask, gt_masks[position])
        if iou > best:
            best, index = iou, position
    return index, best


def refinement_examples(spec, coco_gt, images_dir, candidates, flip=True):
    """Training inputs and targets of a refiner from a split's candidates.

    Args:
        spec: the refiner's `ModelSpec`.
        coco_gt: ground-truth JSON path, dict or `COCO`.
        images_dir: the images' folder.
        candidates: the split's region candidates (path or list).
        flip: add each example mirrored left to right.

    Returns:
        dict: `crops` float32 `(N, H, W, 3)`, `inside` `(N, S, S, 1)`, `coarse`
        `(N, 100)`, `targets` `(N, S, S, M)` in {1, 0, -1}, `overlaps` `(N,)` (the
        candidate's IoU with its instance), `category_ids` int `(N,)`, and `report`
        (counts: `candidates`, `used`, `unmatched` below `MIN_TRAINING_OVERLAP`, `empty`
        masks, `unknown_category`: of categories the model does not predict).
    """
    from hckeras.metrics.coco_io import annotation_masks, load_ground_truth

    coco = load_ground_truth(coco_gt)
    grouped, empty = read_region_candidates(candidates, coco)
    columns = {name: [] for name in (*INPUTS, "targets", "overlaps", "category_ids")}
    report = {"candidates": empty, "used": 0, "unmatched": 0, "empty": empty}
    report["unknown_category"] = 0
    for info, image, group, annotations in _images(coco, images_dir, grouped):
        gt_masks = annotation_masks(annotations, info)
        for entry, mask in group:
            report["candidates"] += 1
            if entry["category_id"] not in spec.layout.category_ids:
                report["unknown_category"] += 1
                continue
            index, overlap = _best_instance(mask, entry["category_id"], annotations, gt_masks)
            if index is None or overlap < MIN_TRAINING_OVERLAP:
                report["unmatched"] += 1
                continue
            report["used"] += 1
            crop, inside, coarse, expanded = refiner_inputs(image, mask, spec)
            maps = segmentation_target(gt_masks[index], expanded, spec.output_size)
            target = assemble_target(
                spec.layout, entry["category_id"], maps, annotations[index]["id"]
            )
            views = [(crop, inside, coarse, target)]
            if flip:
                views.append(
                    (
                        crop[:, ::-1],
                        inside[:, ::-1],
                        coarse.reshape(COARSE_SIZE, COARSE_SIZE)[:, ::-1].reshape(-1),
                        target[:, ::-1],
                    )
                )
            for view in views:
                for name, value in zip((*INPUTS, "targets"), view, strict=True):
                    columns[name].append(np.ascontiguousarray(value))
                columns["overlaps"].append(overlap)
                columns["category_ids"].append(entry["category_id"])
    if not columns["crops"]:
        raise ValueError(
            f"no region candidate overlaps a ground-truth instance of its category by "
            f">= {MIN_TRAINING_OVERLAP} ({report['candidates']} candidates): nothing to "
            "train a refiner on"
        )
    category_ids = np.asarray(columns.pop("category_ids"), dtype=np.int64)
    data = {name: np.stack(values).astype(np.float32) for name, values in columns.items()}
    data["category_ids"] = category_ids
    data["report"] = report
    return data


def refiner_heatmaps(probabilities, spec, crops, inside, coarse, category_ids, batch_size=32):
    """Each candidate's probability map of its category: float32 `(N, S, S)`.

    `probabilities` is the refiner's probability graph (`probability_model(refiner)`),
    built once by the caller; calls are padded to `batch_buckets(batch_size)` rows, so
    the graph is traced for at most four batch shapes.
    """
    from hckeras.inference.runners import batch_buckets, predict_in_buckets

    inputs = [np.asarray(a, dtype=np.float32) for a in (crops, inside, coarse)]
    maps = predict_in_buckets(probabilities, inputs, batch_buckets(batch_size))
    channels = [spec.layout.maps_of(int(c)).start for c in category_ids]
    return maps[np.arange(len(channels)), :, :, channels]


def choose_refiner_threshold(model, spec, coco_gt, images_dir, candidates, candidates_tried):
    """The mask threshold with the best mean IoU between the refined masks (on the S x S
    grid) and their instances, over a held-out split's matched candidates."""
    from hckeras.experiments.crop_quality import mean_quality
    from hckeras.models.probability_model import probability_model
    from hckeras.training.threshold import best_threshold

    data = refinement_examples(spec, coco_gt, images_dir, candidates, flip=False)
    category_ids = data["category_ids"]
    heatmaps = refiner_heatmaps(
        probability_model(model), spec, data["crops"], data["inside"], data["coarse"], category_ids
    )
    pairs = []
    for heatmap, target, category_id in zip(heatmaps, data["targets"], category_ids, strict=True):
        channel = spec.layout.maps_of(int(category_id)).start
        pairs.append((heatmap[..., None], target[..., channel : channel + 1]))
    quality = {float(t): mean_quality("segmentation", pairs, t)[0] for t in candidates_tried}
    return best_threshold(quality), quality


def refine_image(probabilities, spec, image, group, image_id, threshold=None, batch_size=32):
    """Refine one image's candidates.

    Args:
        probabilities: a refiner's probability graph (`probability_model(refiner)`).
        spec: its `ModelSpec`.
        image: uint8 RGB `(H, W, 3)`.
        group: list of `(entry, bool (H, W) mask)` (`read_region_candidates`).
        image_id: the image's id.
        threshold: mask threshold (default `spec.thresholds["mask"]`).

    Returns:
        list of COCO result dicts: the candidate's `category_id` and `score`, the refined
        mask's `segmentation` (RLE) and `bbox`; a refined mask that comes out empty keeps
        the candidate's mask (counted by the caller through `refined_empty`).
    """
    from pycocotools import mask as mask_utils

    from hckeras.inference.results import encode_mask

    threshold = spec.thresholds["mask"] if threshold is None else threshold
    known = [(e, m) for e, m in group if e["category_id"] in spec.layout.category_ids]
    if not known:
        return []
    prepared = [refiner_inputs(image, mask, spec) for _, mask in known]
    crops, inside, coarse = (np.stack([p[i] for p in prepared]) for i in range(3))
    category_ids = [e["category_id"] for e, _ in known]
    heatmaps = refiner_heatmaps(
        probabilities, spec, crops, inside, coarse, category_ids, batch_size
    )
    image_size = image.shape[:2]
    results = []
    for (entry, mask), heatmap, (*_, expanded) in zip(known, heatmaps, prepared, strict=True):
        window = mask_window(expanded, image_size, threshold)
        _, refined = paste_mask(heatmap, expanded, image_size, threshold, window=window)
        empty = not refined.any()
        segmentation = (
            encode_mask(mask) if empty else encode_window_mask(refined, window, image_size)
        )
        results.append(
            {
                "image_id": int(image_id),
                "category_id": int(entry["category_id"]),
                "score": float(entry["score"]),
                "segmentation": segmentation,
                "bbox": [float(v) for v in mask_utils.toBbox(segmentation)],
                "refined_empty": empty,
            }
        )
    return results


def refine_candidates(model, spec, coco_gt, images_dir, candidates, threshold=None):
    """Refine every candidate of a split.

    Returns:
        `(results, report)`: COCO result dicts (with `bbox`), and counts `images`,
        `candidates`, `empty` (empty candidate masks dropped), `unknown_category`
        (candidates of categories the refiner does not predict, left out),
        `refined_empty` (refined masks that came out empty; the candidate is kept).
    """
    from hckeras.metrics.coco_io import load_ground_truth
    from hckeras.models.probability_model import probability_model

    coco = load_ground_truth(coco_gt)
    grouped, empty = read_region_candidates(candidates, coco)
    probabilities = probability_model(model)
    report = {"images": 0, "candidates": 0, "empty": empty, "unknown_category": 0}
    report["refined_empty"] = 0
    results = []
    for info, image, group, _ in _images(coco, images_dir, grouped):
        report["images"] += 1
        report["candidates"] += len(group)
        refined = refine_image(probabilities, spec, image, group, info["id"], threshold)
        report["unknown_category"] += len(group) - len(refined)
        for result in refined:
            report["refined_empty"] += result.pop("refined_empty")
            results.append(result)
    return results, report


def train_refiner(
    mask_path,
    coco_gt,
    images_dir,
    candidates,
    out_path,
    val=None,
    epochs=4,
    batch_size=16,
    learning_rate=1e-3,
    seed=0,
    verbose=0,
):
    """Train and save a System 1 refiner started from the mask model at `mask_path`.

    Args:
        mask_path: a segmentation `.keras` model with its spec.
        coco_gt, images_dir, candidates: the training split and its region candidates.
        out_path: the refiner's `.keras` path (its spec is written beside it).
        val: optional `(coco_gt, images_dir, candidates)` of a held-out split, on which
            the mask threshold is chosen (as `train --calibrate-threshold` does); without
            it the mask model's threshold is kept.
        epochs, batch_size, learning_rate: Adam with a cosine decay to 0.
        seed: Keras random seed.

    Returns:
        dict: `path`, `history` (Keras history dict), `report` (example counts),
        `threshold` and `quality` (threshold -> mean IoU; None without `val`).
    """
    import keras

    import hckeras.layers  # noqa: F401  (registers the hckeras layers for deserialization)
    from hckeras.losses import HypercolumnLoss
    from hckeras.model_spec import ModelSpec, spec_path
    from hckeras.sds.refiner import build_refiner, save_refiner
    from hckeras.training.threshold import CANDIDATES

    mask_path = Path(mask_path)
    if mask_path.suffix != ".keras" or not mask_path.is_file():
        raise FileNotFoundError(f"mask model {mask_path} is not an existing .keras file")
    mask_model = keras.saving.load_model(mask_path, compile=False, safe_mode=True)
    mask_spec = ModelSpec.load(spec_path(mask_path))
    keras.utils.set_random_seed(seed)
    model, spec = build_refiner(mask_model, mask_spec)
    data = refinement_examples(spec, coco_gt, images_dir, candidates)
    steps = int(np.ceil(len(data["crops"]) / batch_size)) * epochs
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, max(steps, 1))
    model.compile(
        keras.optimizers.Adam(schedule), loss=HypercolumnLoss(spec.grid_size, spec.output_size)
    )
    history = model.fit(
        [data["crops"], data["inside"], data["coarse"]],
        data["targets"],
        epochs=epochs,
        batch_size=batch_size,
        shuffle=True,
        verbose=verbose,
    )
    threshold, quality = spec.thresholds["mask"], None
    if val is not None:
        threshold, quality = choose_refiner_threshold(model, spec, *val, CANDIDATES)
        spec = ModelSpec.from_config(
            {**spec.to_config(), "thresholds": {**spec.thresholds, "mask": threshold}}
        )
    path = save_refiner(model, spec, out_path)
    return {
        "path": path,
        "history": history.history,
        "report": data["report"],
        "threshold": threshold,
        "quality": quality,
    }


def mean_apr(gt, results):
    """Mean over categories of APr at 0.5 and 0.7, in percent (categories without
    ground truth left out)."""
    from hckeras.metrics.apr import evaluate_apr

    per_category = np.array(list(evaluate_apr(gt, results).values()), dtype=np.float64)
    return [float(v) for v in 100.0 * np.nanmean(per_category, axis=0)]


def _box_detections(coco, grouped):
    """The candidates as box detections (their mask's box, their score)."""
    from hckeras.boxes import xyxy_to_xywh
    from hckeras.sds.region_candidates import candidate_box

    detections = {}
    for image_id, group in grouped.items():
        detections[image_id] = [
            {
                "image_id": image_id,
                "category_id": entry["category_id"],
                "bbox": [float(v) for v in xyxy_to_xywh(candidate_box(mask))],
                "score": float(entry["score"]),
            }
            for entry, mask in group
        ]
    return detections


def mask_model_on_candidates(predictor, coco_gt, images_dir, candidates):
    """The box-to-mask baseline: a mask model's masks on the candidates' boxes, with the
    candidates' scores (COCO results); the candidates' masks are not used."""
    from hckeras.inference.results import results_to_coco
    from hckeras.metrics.coco_io import load_ground_truth

    coco = load_ground_truth(coco_gt)
    grouped, _ = read_region_candidates(candidates, coco)
    detections = _box_detections(coco, grouped)
    results = []
    for info, image, _, _ in _images(coco, images_dir, grouped):
        results += results_to_coco(predictor.predict(image, detections[info["id"]]), info["id"])
    return results


def compare_refinement(refiner_path, coco_gt, images_dir, candidates, mask_path=None):
    """Table 1's comparison on one split: the raw candidates, (optionally) the mask model
    on the candidates' boxes, and the refined candidates, all ranked by the candidates'
    scores.

    Returns:
        `(rows, refined_results, report)`: rows are dicts `method`, `apr_50`, `apr_70`
        (mean APr in percent) and `seconds` (wall time of producing the masks, 0 for the
        raw candidates); `report` is `refine_candidates`'.
    """
    import time

    from hckeras.metrics.coco_io import load_ground_truth
    from hckeras.sds.refiner import load_refiner

    coco = load_ground_truth(coco_gt)
    raw = [
        entry
        for group in read_region_candidates(candidates, coco)[0].values()
        for entry, _ in group
    ]
    rows = [{"method": "candidates", "apr": mean_apr(coco, raw), "seconds": 0.0}]
    if mask_path is not None:
        from hckeras.inference.predictor import load_predictor

        start = time.perf_counter()
        boxed = mask_model_on_candidates(load_predictor(mask_path), coco, images_dir, candidates)
        seconds = time.perf_counter() - start
        rows.append(
            {
                "method": "mask model on candidate boxes",
                "apr": mean_apr(coco, boxed),
                "seconds": seconds,
            }
        )
    model, spec = load_refiner(refiner_path)
    start = time.perf_counter()
    refined, report = refine_candidates(model, spec, coco, images_dir, candidates)
    seconds = time.perf_counter() - start
    rows.append(
        {"method": "refined (System 1)", "apr": mean_apr(coco, refined), "seconds": seconds}
    )
    for row in rows:
        row["apr_50"], row["apr_70"] = row.pop("apr")
    return rows, refined, report
