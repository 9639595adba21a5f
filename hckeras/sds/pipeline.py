"""System 2 end to end (paper section 4.2, Figure 3) and the rescorer's training.

Per image: raw pool -> box NMS -> pool expansion -> a mask per candidate (`Predictor`)
-> a new score per candidate (region rescorer; without one, the box score) -> region
NMS on mask overlap -> COCO results.

    results, report = run_sds(predictor, "synth/annotations.json", "synth",
                              "synth/detections_raw.json", rescorer=load_rescorer(...))
    examples = collect_examples(predictor, gt, images_dir, raw)   # rescorer training data
"""

import os
from pathlib import Path

import numpy as np

from hckeras.inference.predictor import SKIP_REASONS, warn_skipped
from hckeras.inference.results import results_to_coco
from hckeras.sds.labels import (
    IGNORED,
    NEGATIVE_OVERLAP,
    POSITIVE_OVERLAP,
    best_overlaps,
    best_per_object,
    candidate_labels,
)
from hckeras.sds.pool_expansion import expand_detections
from hckeras.sds.raw_pool import drop_outside_boxes, read_raw_pool
from hckeras.sds.region_crops import region_crops
from hckeras.sds.region_nms import REGION_NMS_THRESHOLD, region_nms

CLASSIFIER_EPOCHS = 30
"""Epochs of the rescorer's classifier on fixed features (seconds for thousands)."""
FINE_TUNE_EPOCHS = 5
"""Epochs when the region network is trained with the classifier."""

DEFAULTS = {"score_threshold": 0.1, "nms_threshold": 0.5, "min_score": 0.05}
"""Pool expansion settings: a suppressed box above `score_threshold` may join; box NMS
at `nms_threshold`; raw boxes under `min_score` (the detector's output floor) ignored."""


def _images(coco_gt, images_dir, raw):
    """Yield `(info, image, raw entries, annotations)` per ground-truth image with raw
    boxes, in ground-truth order."""
    from hckeras.data.coco import image_entry_problem
    from hckeras.data.images import load_coco_image

    by_image = {}
    for entry in raw:
        by_image.setdefault(entry["image_id"], []).append(entry)
    for image_id, info in coco_gt.imgs.items():
        if image_id not in by_image:
            continue
        problem = image_entry_problem(info)
        if problem:
            raise ValueError(f"ground truth: image {image_id!r} {problem}")
        image = load_coco_image(images_dir, info)
        yield info, image, by_image[image_id], coco_gt.imgToAnns.get(image_id, [])


def _prepare(coco_gt, raw):
    """The indexed ground truth and the checked raw pool without boxes outside images."""
    from hckeras.metrics.coco_io import load_ground_truth

    coco = load_ground_truth(coco_gt)
    where = f"raw pool {os.fspath(raw)}" if isinstance(raw, str | os.PathLike) else None
    pool = read_raw_pool(raw, where)
    unknown = sorted({e["image_id"] for e in pool} - set(coco.imgs), key=str)
    if unknown:
        raise ValueError(
            f"{where or 'raw pool'}: image ids {unknown[:10]} are not in the ground truth"
        )
    sizes = {i: (info["height"], info["width"]) for i, info in coco.imgs.items()}
    pool, outside = drop_outside_boxes(pool, sizes)
    return coco, pool, outside


def _candidates(predictor, image, entries, settings, totals):
    pool, stats = expand_detections(entries, **settings)
    for key in ("raw", "kept", "pool"):
        totals[key] += stats[key]
    totals["added"] += stats["pool"] - stats["kept"]
    results, skipped, examples = predictor.predict_with_skips(image, pool)
    for reason, count in skipped.items():
        totals["skipped"][reason] += count
    totals["examples"].update({k: v for k, v in examples.items() if k not in totals["examples"]})
    for result in results:
        result["source"] = pool[result["index"]]["source"]
    return results


def _gt_masks(annotations, info):
    """`(masks, categories)` of the non-crowd annotations of one image."""
    from hckeras.metrics.coco_io import annotation_masks

    annotations = [a for a in annotations if not a.get("iscrowd", 0)]
    if not annotations:
        return np.zeros((0, info["height"], info["width"]), bool), []
    return annotation_masks(annotations, info), [a["category_id"] for a in annotations]


COVERAGE_IOUS = (0.5, 0.7)


def _coverage(best_kept, best_pool):
    """How many objects the best kept candidate / the best pool candidate covers."""
    best_kept, best_pool = np.concatenate(best_kept), np.concatenate(best_pool)
    coverage = {"objects": len(best_kept)}
    for name, best in (("kept", best_kept), ("pool", best_pool)):
        coverage[f"{name}_mean_best_iou"] = float(best.mean()) if len(best) else 0.0
        for iou in COVERAGE_IOUS:
            coverage[f"{name}_above_{iou:g}"] = int(np.sum(best > iou))
    return coverage


def _new_totals():
    return {
        "images": 0,
        "raw": 0,
        "kept": 0,
        "added": 0,
        "pool": 0,
        "skipped": dict.fromkeys(SKIP_REASONS, 0),
        "examples": {},
    }


def scoring_predictor(predictor, features, pooled_taps=None):
    """The predictor whose results a rescorer of `features` (`rescorer.FEATURE_SOURCES`)
    needs: for "mask_pass", the same mask model, threshold and scoring over a
    `MaskPassRunner` (its results carry `features`); otherwise `predictor` itself."""
    from hckeras.inference.predictor import Predictor
    from hckeras.inference.runners import KerasRunner
    from hckeras.sds.mask_pass import MaskPassRunner

    if features != "mask_pass" or getattr(predictor.runner, "returns_features", False):
        return predictor
    if not isinstance(predictor.runner, KerasRunner):
        raise ValueError(
            "mask_pass rescoring reads the Keras mask model's fc7 and tap features; "
            f"this predictor runs a {type(predictor.runner).__name__}"
        )
    runner = MaskPassRunner(
        predictor.runner.model, predictor.spec, pooled_taps, batch_size=predictor.batch_size
    )
    return Predictor(
        runner,
        predictor.spec,
        superpixels=predictor.superpixels or False,
        batch_size=predictor.batch_size,
        threshold=predictor.threshold,
        scoring=predictor.scoring,
    )


def _feature_rows(results, width):
    rows = np.stack([result["features"] for result in results]).astype(np.float32)
    if rows.shape[1] != width:
        raise ValueError(
            f"the candidates carry {rows.shape[1]} mask-pass features but the rescorer takes "
            f"{width}: it was trained with other pooled taps or another mask model"
        )
    return rows


def rescore(rescorer, image, results, spec, batch_size=32):
    """New scores of one image's candidates.

    Args:
        rescorer: `(model, RescorerSpec)` from `load_rescorer`.
        image: `(H, W, 3)` RGB.
        results: segmentation `Predictor` results of the image (with `features` for a
            mask_pass rescorer: `scoring_predictor`).
        spec: the mask model's `ModelSpec`.

    Returns:
        float32 `(N,)` probabilities.
    """
    from hckeras.inference.runners import batch_buckets, predict_in_buckets
    from hckeras.sds.rescorer import CUES, candidate_cues, rescorer_inputs

    model, rescorer_spec = rescorer
    if not results:
        return np.zeros(0)
    views = {}
    if rescorer_spec.features == "region_network":
        boxes, regions = zip(
            *(region_crops(image, r, spec, rescorer_spec.background_fill) for r in results),
            strict=True,
        )
        views = {"box": np.stack(boxes), "region": np.stack(regions)}
    elif rescorer_spec.features == "mask_pass":
        width = {t.name: t.shape[-1] for t in model.inputs}["features"]
        views = {"features": _feature_rows(results, width)}
    inputs = rescorer_inputs(
        rescorer_spec,
        [r["category_id"] for r in results],
        candidate_cues(results, CUES) if rescorer_spec.cues else None,
        **views,
    )
    # Padded to a few fixed batch shapes: `model.predict` per image costs more than the model.
    return predict_in_buckets(model, inputs, batch_buckets(batch_size)).reshape(-1)


def run_sds(
    predictor,
    coco_gt,
    images_dir,
    raw,
    rescorer=None,
    region_nms_threshold=REGION_NMS_THRESHOLD,
    **settings,
):
    """System 2 on every ground-truth image that has raw boxes.

    Args:
        predictor: a segmentation `Predictor`.
        coco_gt: ground truth (path, dict or COCO): image files and sizes.
        images_dir: folder the images' `file_name`s are relative to.
        raw: the raw pool (path or list, `read_raw_pool`).
        rescorer: `(model, RescorerSpec)`, or None to keep the box scores.
        region_nms_threshold: mask IoU of the final NMS (0.3 in the paper).
        settings: `DEFAULTS` overrides.

    Returns:
        `(results, report)`: COCO results with masks (`score` the new score,
        `box_score` the detector's, `source` "kept" by box NMS or "added" by the
        expansion), and counts: images, raw, kept, added, pool (candidates), outside
        (raw boxes off their image, dropped), skipped (per `SKIP_REASONS`), final
        (after region NMS), final_added (of them, added by the expansion) and
        coverage: over the ground-truth objects of the images with raw boxes (non-crowd),
        the mean best mask IoU of a candidate of the object's category among the kept
        boxes and among the whole pool, and how many objects those best candidates cover
        above IoU 0.5 and 0.7 (the ceiling that rescoring the pool can reach).
    """
    if predictor.spec.task != "segmentation":
        raise ValueError(f"System 2 needs a segmentation model, got a {predictor.spec.task!r}")
    settings = {**DEFAULTS, **settings}
    if rescorer is not None:
        predictor = scoring_predictor(predictor, rescorer[1].features, rescorer[1].pooled_taps)
    coco, pool, outside = _prepare(coco_gt, raw)
    totals = _new_totals()
    output, best_kept, best_pool = [], [], []
    for info, image, entries, annotations in _images(coco, images_dir, pool):
        totals["images"] += 1
        results = _candidates(predictor, image, entries, settings, totals)
        gt_masks, gt_categories = _gt_masks(annotations, info)
        kept_results = [r for r in results if r["source"] == "kept"]
        best_kept.append(best_per_object(kept_results, gt_masks, gt_categories))
        best_pool.append(best_per_object(results, gt_masks, gt_categories))
        if rescorer is not None:
            scores = rescore(rescorer, image, results, predictor.spec)
            for result, score in zip(results, scores, strict=True):
                result["box_score"], result["score"] = result["score"], float(score)
        kept = region_nms(
            [r["mask"] for r in results],
            [r["window"] for r in results],
            [r["score"] for r in results],
            [r["category_id"] for r in results],
            region_nms_threshold,
        )
        final = [results[i] for i in kept]
        coco_results = results_to_coco(final, image_id=info["id"])
        for entry, result in zip(coco_results, final, strict=True):
            entry["box_score"] = float(result.get("box_score", result["score"]))
            entry["source"] = result["source"]
        output += coco_results
    examples = totals.pop("examples")
    warn_skipped(totals["skipped"], examples)
    final_added = sum(entry["source"] == "added" for entry in output)
    totals.update(outside=outside, final=len(output), final_added=final_added)
    totals["coverage"] = _coverage(best_kept, best_pool) if best_kept else {"objects": 0}
    return output, totals


def collect_examples(
    predictor,
    coco_gt,
    images_dir,
    raw,
    positive=POSITIVE_OVERLAP,
    negative=NEGATIVE_OVERLAP,
    features=None,
    pooled_taps=None,
    **settings,
):
    """Rescorer training data from the expanded pool of a training split.

    Every candidate gets its predicted mask's best IoU with a ground-truth instance of
    its category; above `positive` (0.7) it is positive, below `negative` (0.5)
    negative, between left out. `features` (default `rescorer.DEFAULT_FEATURES`) and
    `pooled_taps` say which views to collect (`scoring_predictor`).

    Returns:
        dict of arrays `category_ids` (int `(N,)`), `cues` (float32 `(N,
        len(rescorer.CUES))`, `candidate_cues`), `labels` (float32 `(N,)`, 0 or 1),
        `overlaps` (`(N,)`), by `features` `box` and `region` (float32 `(N, H, W, 3)`,
        region_network) or `features` (float32 `(N, F)`, mask_pass), and `report` (the
        `run_sds` counts plus positives, negatives, ignored).
    """
    from hckeras.sds.rescorer import CUES, DEFAULT_FEATURES, candidate_cues

    features = DEFAULT_FEATURES if features is None else features
    predictor = scoring_predictor(predictor, features, pooled_taps)
    settings = {**DEFAULTS, **settings}
    coco, pool, outside = _prepare(coco_gt, raw)
    totals = _new_totals()
    columns = {"box": [], "region": [], "features": [], "category_ids": [], "cues": [],
               "labels": [], "overlaps": []}  # fmt: skip
    for info, image, entries, annotations in _images(coco, images_dir, pool):
        totals["images"] += 1
        results = _candidates(predictor, image, entries, settings, totals)
        gt_masks, gt_categories = _gt_masks(annotations, info)
        overlaps = best_overlaps(results, gt_masks, gt_categories, image.shape[:2])
        for result, overlap, label in zip(
            results, overlaps, candidate_labels(overlaps, positive, negative), strict=True
        ):
            if label == IGNORED:
                totals.setdefault("ignored", 0)
                totals["ignored"] += 1
                continue
            if features == "region_network":
                box, region = region_crops(image, result, predictor.spec)
                columns["box"].append(box)
                columns["region"].append(region)
            elif features == "mask_pass":
                columns["features"].append(result["features"])
            columns["category_ids"].append(result["category_id"])
            columns["cues"].append(candidate_cues([result], CUES)[0])
            columns["labels"].append(float(label))
            columns["overlaps"].append(float(overlap))
    examples = totals.pop("examples")
    warn_skipped(totals["skipped"], examples)
    size = (*predictor.spec.input_size, 3)
    views = {}
    if features == "region_network":
        views["box"] = np.asarray(columns["box"], np.float32).reshape(-1, *size)
        views["region"] = np.asarray(columns["region"], np.float32).reshape(-1, *size)
    elif features == "mask_pass":
        width = predictor.runner.feature_width
        views["features"] = np.asarray(columns["features"], np.float32).reshape(-1, width)
    data = {
        **views,
        "category_ids": np.asarray(columns["category_ids"], np.int64),
        "cues": np.asarray(columns["cues"], np.float32).reshape(-1, len(CUES)),
        "labels": np.asarray(columns["labels"], np.float32),
        "overlaps": np.asarray(columns["overlaps"], np.float64),
    }
    totals.update(
        outside=outside,
        positives=int(np.sum(data["labels"] == 1)),
        negatives=int(np.sum(data["labels"] == 0)),
        ignored=totals.get("ignored", 0),
    )
    data["report"] = totals
    return data


def train_rescorer(
    mask_path,
    coco_gt,
    images_dir,
    raw,
    out_path,
    epochs=None,
    batch_size=32,
    learning_rate=1e-3,
    seed=0,
    verbose=0,
    positive=POSITIVE_OVERLAP,
    negative=NEGATIVE_OVERLAP,
    cues=None,
    fine_tune_region=False,
    features=None,
    pooled_taps=None,
    **settings,
):
    """Train and save a rescorer for the mask model at `mask_path` (`.keras` + spec);
    `positive` and `negative` are the overlaps of `collect_examples`; `cues` the
    classifier's candidate cues (None: `rescorer.CUES`; () for network features alone);
    `features` one of `rescorer.FEATURE_SOURCES` (None: `rescorer.DEFAULT_FEATURES`),
    `pooled_taps` the mask_pass taps (None: `mask_pass.spatial_taps`).
    By default the classifier is fitted on fixed features (`train_classifier`,
    `CLASSIFIER_EPOCHS`); `fine_tune_region` trains the region network with it
    (`FINE_TUNE_EPOCHS`). `epochs` overrides either.

    Returns:
        dict: `path` (the written .keras), `history` (Keras history dict), `report`
        (`collect_examples` counts).
    """
    import keras

    import hckeras.layers  # noqa: F401  (registers the hckeras layers for deserialization)
    from hckeras.inference.predictor import Predictor
    from hckeras.model_spec import ModelSpec, spec_path
    from hckeras.sds.mask_pass import spatial_taps
    from hckeras.sds.rescorer import (
        CUES,
        DEFAULT_FEATURES,
        RescorerSpec,
        adapt_normalization,
        build_rescorer,
        compile_rescorer,
        rescorer_inputs,
        save_rescorer,
        train_classifier,
    )

    cues = CUES if cues is None else tuple(cues)
    features = DEFAULT_FEATURES if features is None else features
    if epochs is None:
        epochs = FINE_TUNE_EPOCHS if fine_tune_region else CLASSIFIER_EPOCHS

    mask_path = Path(mask_path)
    if mask_path.suffix != ".keras" or not mask_path.is_file():
        raise FileNotFoundError(f"mask model {mask_path} is not an existing .keras file")
    mask_model = keras.saving.load_model(mask_path, compile=False, safe_mode=True)
    mask_spec = ModelSpec.load(spec_path(mask_path))
    if features == "mask_pass" and pooled_taps is None:
        pooled_taps = spatial_taps(mask_model, mask_spec)
    rescorer_spec = RescorerSpec.for_mask_spec(
        mask_spec, mask_path, cues=cues, features=features, pooled_taps=pooled_taps or ()
    )
    predictor = Predictor(mask_model, mask_spec)
    data = collect_examples(
        predictor, coco_gt, images_dir, raw, positive, negative, features, pooled_taps, **settings
    )
    report = data["report"]
    if report["positives"] == 0 or report["negatives"] == 0:
        raise ValueError(
            f"the expanded pool of {raw} gives {report['positives']} positive (mask IoU > "
            f"{positive}) and {report['negatives']} negative (< {negative}) candidates for "
            f"mask model {mask_path}; the rescorer needs both"
        )
    keras.utils.set_random_seed(seed)
    model = build_rescorer(
        mask_model, mask_spec, cues, fine_tune_region, features, rescorer_spec.pooled_taps
    )
    views = {key: data[key] for key in ("box", "region", "features") if key in data}
    inputs = rescorer_inputs(rescorer_spec, data["category_ids"], data["cues"], **views)
    if fine_tune_region:
        adapt_normalization(model, inputs)
        history = compile_rescorer(model, learning_rate).fit(
            inputs, data["labels"][:, None], epochs=epochs, batch_size=batch_size, verbose=verbose
        )
    else:
        history = train_classifier(model, inputs, data["labels"], epochs, batch_size, learning_rate)
    path = save_rescorer(model, rescorer_spec, out_path)
    return {"path": path, "history": history.history, "report": report}
