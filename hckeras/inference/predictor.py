"""`Predictor`: an image and its detections -> masks, part labels or keypoints.

Per detection (paper section 3): expand the box by the spec's context padding,
crop and resize the expanded box to the model's input size
(`hckeras.resample.crop_and_resize`), run the model to get S x S heatmaps, keep
the detection's category's channels (`MapLayout.maps_of`), then decode them
(`paste`, `decode`, optionally `superpixels`) into image coordinates.

    predictor = load_predictor("runs/x/model.keras")
    results = predictor.predict(image, [{"bbox": [10, 20, 50, 80], "category_id": 1,
                                         "score": 0.9}])
    results[0]["mask"]        # (h, w) bool over results[0]["window"], a segmentation model
    full_image(results[0])    # the (H, W) mask (hckeras.inference.paste)
"""

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hckeras.boxes import expand_box, validate_box, xywh_to_xyxy
from hckeras.data.coco import is_finite_number
from hckeras.inference.decode import decode_keypoints, part_foreground, part_labels
from hckeras.inference.mask_quality import SCORINGS, expected_iou
from hckeras.inference.paste import mask_window, paste_mask, to_window
from hckeras.inference.runners import as_runner, batch_limit
from hckeras.inference.superpixels import WindowAverager, slic_superpixels
from hckeras.model_spec import ModelSpec, checked_sidecar
from hckeras.resample import box_pixels, crop_and_resize, paste_heatmap

SKIP_REASONS = ("invalid_box", "invalid_score", "unknown_category", "no_figure_ground")
"""Why a detection gets no prediction: a NaN, infinite, zero-area or malformed
box; a score that is not a finite number (it could not be ranked); a category the
model does not predict; (part models with a figure-ground model) a category the
figure-ground model does not predict."""


@dataclass(frozen=True)
class Detection:
    """One detection: `index` in the input list, xyxy `box`, category and score."""

    index: int
    box: np.ndarray
    category_id: int
    score: float
    image_id: object = None


def parse_detections(detections):
    """Read detections in either accepted form.

    Args:
        detections: a list of COCO results dicts (`bbox` as `[x, y, w, h]`,
            `category_id`, optional `score` (default 1.0) and `image_id`; other
            keys are ignored), or an `(N, 6)` array of rows
            `[x0, y0, x1, y1, score, category_id]`.

    Returns:
        `(valid, invalid)`: a list of `Detection`, and a list of
        `(index, message, reason)` for detections whose box or score is unusable,
        `reason` from `SKIP_REASONS`.
    """
    if detections is None:
        return [], []
    if isinstance(detections, np.ndarray):
        return _parse_array(detections)
    valid, invalid = [], []
    for index, detection in enumerate(detections):
        if not isinstance(detection, dict):
            raise ValueError(
                f"detections[{index}] is a {type(detection).__name__}; expected a COCO "
                "results dict (or pass an (N, 6) array)"
            )
        missing = [key for key in ("bbox", "category_id") if key not in detection]
        if missing:
            raise ValueError(f"detections[{index}] has no {missing}")
        try:
            bbox = np.asarray(detection["bbox"], dtype=np.float64)
            if bbox.shape != (4,):
                raise ValueError(f"bbox must be [x, y, w, h], got {detection['bbox']!r}")
            box = validate_box(xywh_to_xyxy(bbox), where=f"detections[{index}].bbox")
        except (TypeError, ValueError) as error:
            invalid.append((index, str(error), "invalid_box"))
            continue
        score = detection.get("score", 1.0)
        if not is_finite_number(score):
            message = f"detections[{index}].score {score!r} is not a finite number"
            invalid.append((index, message, "invalid_score"))
            continue
        valid.append(
            Detection(
                index=index,
                box=box,
                category_id=int(detection["category_id"]),
                score=float(score),
                image_id=detection.get("image_id"),
            )
        )
    return valid, invalid


def _parse_array(detections):
    array = np.asarray(detections, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 6:
        raise ValueError(
            f"detection arrays must be (N, 6) [x0, y0, x1, y1, score, category_id], "
            f"got shape {array.shape}"
        )
    valid, invalid = [], []
    for index, row in enumerate(array):
        try:
            box = validate_box(row[:4], where=f"detections[{index}]")
        except ValueError as error:
            invalid.append((index, str(error), "invalid_box"))
            continue
        if not np.isfinite(row[4]):
            message = f"detections[{index}]: score {row[4]} is not a finite number"
            invalid.append((index, message, "invalid_score"))
            continue
        if row[5] != round(row[5]):
            raise ValueError(f"detections[{index}]: category_id {row[5]} is not an integer")
        valid.append(Detection(index=index, box=box, category_id=int(row[5]), score=row[4]))
    return valid, invalid


class Predictor:
    """Predict masks, part labels or keypoints for detections in an image.

    Args:
        model_or_runner: a `keras.Model` (probabilities, or the training model's
            5-D logits), a runner (`hckeras.inference.runners`), or a plain
            function from `(B, H, W, 3)` crops to `(B, S, S, C)` probabilities.
        spec: the `ModelSpec` of the model.
        figure_ground: part models only: a segmentation `Predictor` whose mask
            is the foreground that part labels are assigned in (paper section 5).
            Without it, the foreground is `part_foreground` at the mask threshold.
        superpixels: average segmentation and part probabilities over SLIC
            superpixels before thresholding (paper section 4); `True`, or a dict
            of `slic_superpixels` keyword arguments.
        batch_size: most crops per model call (capped by a runner's
            `max_batch_size`).
        threshold: mask threshold; default `spec.thresholds["mask"]`.
        scoring: "box" (default): a result's score is its detection's; "mask"
            (segmentation): the detection's score times the expected IoU of the
            mask under its own probabilities (`mask_quality.expected_iou`), which
            ranks sharp masks above blurred ones; the result keeps `box_score`
            and `mask_quality` too.

    `predict` returns one dict per usable detection, in input order:
    `index` (position in the input), `box` and `expanded_box` (xyxy float64),
    `category_id`, `score`, `image_id` (if the detection had one), and by task

    - segmentation: `probability` float32 `(h, w)`, `mask` bool `(h, w)`;
    - parts: `part_labels` int32 `(h, w)` (part `p` is `p + 1`, 0 background),
      `mask` bool `(h, w)` (the foreground), `part_names`;
    - keypoints: `keypoints` float64 `(K, 3)` `[x, y, score]`, `keypoint_names`;
    - and with a runner whose `returns_features` is true (`hckeras.sds.mask_pass`),
      `features` float32 `(F,)`: the runner's features of the result's category.

    Maps are box-local (`hckeras.inference.paste`): `(h, w)` is the size of
    `window`, an int `(x0, y0, x1, y1)` pixel rectangle of the image
    (`image_size`, `(H, W)`), normally the expanded box's pixels (grown to
    whole superpixels with `superpixels`; the whole image for a threshold of 0);
    outside it the probability is 0, the mask False and the label 0.
    `paste.full_image(result, key)` gives the image-sized map, `results_to_coco`
    encodes RLE straight from the window, and memory grows with the boxes, not
    with the image, per detection.

    Detections with an unusable box or a category the model does not predict
    are skipped: counted in `last_skipped` and reported in one warning.
    """

    def __init__(
        self,
        model_or_runner,
        spec,
        figure_ground=None,
        superpixels=False,
        batch_size=32,
        threshold=None,
        scoring="box",
    ):
        if not isinstance(spec, ModelSpec):
            raise ValueError(f"spec must be a ModelSpec, got {type(spec).__name__}")
        if scoring not in SCORINGS:
            raise ValueError(f"unknown scoring {scoring!r}; valid: {', '.join(SCORINGS)}")
        if scoring == "mask" and spec.task != "segmentation":
            raise ValueError(
                f"scoring='mask' ranks segmentation masks; {spec.task} models use 'box'"
            )
        self.scoring = scoring
        self.spec = spec
        self.runner = as_runner(model_or_runner, input_size=spec.input_size, batch_size=batch_size)
        _check_all_maps(self.runner, spec)
        runner_size = getattr(self.runner, "input_size", None)
        if runner_size is not None and tuple(runner_size) != spec.input_size:
            raise ValueError(
                f"the model takes {tuple(runner_size)} crops but its spec says "
                f"input_size {spec.input_size}"
            )
        if figure_ground is not None:
            if spec.task != "parts":
                raise ValueError(f"figure_ground is for part models, not {spec.task!r} models")
            if not isinstance(figure_ground, Predictor) or figure_ground.spec.task != (
                "segmentation"
            ):
                raise ValueError("figure_ground must be a Predictor of a segmentation model")
        self.figure_ground = figure_ground
        if superpixels is True:
            superpixels = {}
        elif superpixels is False or superpixels is None:
            superpixels = None
        elif not isinstance(superpixels, dict):
            raise ValueError(f"superpixels must be a bool or a dict, got {superpixels!r}")
        self.superpixels = superpixels
        self.batch_size = batch_limit(self.runner, batch_size)
        self.threshold = float(spec.thresholds.get("mask", 0.5) if threshold is None else threshold)
        if not 0 <= self.threshold <= 1:
            raise ValueError(f"threshold must lie in [0, 1], got {self.threshold}")
        self.last_skipped = dict.fromkeys(SKIP_REASONS, 0)

    def predict(self, image, detections):
        """Predict for `detections` (see `parse_detections`) in `image`.

        Args:
            image: `(H, W, 3)` RGB, uint8 or float in [0, 255].
            detections: COCO results dicts or an `(N, 6)` array.

        Returns:
            list of dicts (see the class docstring); `[]` for no detections.
        """
        results, skipped, examples = self.predict_with_skips(image, detections)
        self.last_skipped = skipped
        warn_skipped(skipped, examples)
        return results

    def predict_with_skips(self, image, detections):
        """`predict` without the warning: returns `(results, skipped counts, examples)`,
        `examples` being one message per skip reason that occurred."""
        image = _check_image(image)
        parsed, invalid = parse_detections(detections)
        return self._predict_parsed(image, parsed, invalid)

    def _predict_parsed(self, image, parsed, invalid):
        skipped = dict.fromkeys(SKIP_REASONS, 0)
        examples = {}
        for _, message, reason in invalid:
            skipped[reason] += 1
            examples.setdefault(reason, message)
        known = [d for d in parsed if d.category_id in self.spec.layout.category_ids]
        unknown = sorted({d.category_id for d in parsed} - set(self.spec.layout.category_ids))
        if unknown:
            skipped["unknown_category"] = len(parsed) - len(known)
            examples["unknown_category"] = (
                f"category ids {unknown} (the model predicts {list(self.spec.layout.category_ids)})"
            )
        foregrounds = None
        if self.figure_ground is not None and known:
            figure_ground, _, _ = self.figure_ground._predict_parsed(image, known, [])
            foregrounds = {r["index"]: (r["mask"], r["window"]) for r in figure_ground}
            missing = [d for d in known if d.index not in foregrounds]
            if missing:
                skipped["no_figure_ground"] = len(missing)
                examples["no_figure_ground"] = (
                    f"category ids {sorted({d.category_id for d in missing})} "
                    "(the figure-ground model does not predict them)"
                )
            known = [d for d in known if d.index in foregrounds]
        return self._run(image, known, foregrounds), skipped, examples

    def _run(self, image, detections, foregrounds):
        if not detections:
            return []
        segments = None
        if self.superpixels is not None and self.spec.task != "keypoints":
            segments = WindowAverager(slic_superpixels(image, **self.superpixels))
        fill = float(self.spec.input_format.get("fill", 0.0))
        results = []
        for start in range(0, len(detections), self.batch_size):
            chunk = detections[start : start + self.batch_size]
            expanded = [expand_box(d.box, self.spec.context_padding) for d in chunk]
            crops = np.stack(
                [crop_and_resize(image, box, self.spec.input_size, fill=fill) for box in expanded]
            )
            maps, features = self._maps(crops, chunk)
            for i, (detection, box) in enumerate(zip(chunk, expanded, strict=True)):
                foreground = None if foregrounds is None else foregrounds[detection.index]
                result = self._decode(image, detection, box, maps[i], segments, foreground)
                if features is not None:
                    result["features"] = features[i]
                results.append(result)
        return results

    def _maps(self, crops, chunk):
        """`(per-detection maps of its category, per-detection features or None)`."""
        if getattr(self.runner, "category_conditional", False):
            return self.runner(crops, [d.category_id for d in chunk]), None
        features = None
        if getattr(self.runner, "returns_features", False):
            probabilities, features = self.runner(crops)
            ids = self.spec.layout.category_ids
            features = [
                rows[ids.index(d.category_id)] for d, rows in zip(chunk, features, strict=True)
            ]
        else:
            probabilities = self.runner(crops)
        probabilities = self._check_output(probabilities, len(chunk))
        maps = [
            maps[..., self.spec.layout.maps_of(d.category_id)]
            for d, maps in zip(chunk, probabilities, strict=True)
        ]
        return maps, features

    def _check_output(self, probabilities, count):
        probabilities = np.asarray(probabilities, dtype=np.float32)
        size = self.spec.output_size
        expected = (count, size, size, self.spec.layout.num_maps)
        if probabilities.shape != expected:
            raise ValueError(
                f"the model returned probabilities of shape {probabilities.shape} for "
                f"{count} crops; its spec expects {expected}"
            )
        return probabilities

    def _decode(self, image, detection, expanded_box, maps, segments, foreground):
        """One detection's `(S, S, maps)` probabilities -> its result dict."""
        result = {
            "index": detection.index,
            "box": detection.box,
            "expanded_box": expanded_box,
            "category_id": detection.category_id,
            "score": detection.score,
        }
        if detection.image_id is not None:
            result["image_id"] = detection.image_id
        layout = self.spec.layout
        names = layout.map_names_per_category[layout.category_ids.index(detection.category_id)]
        image_size = tuple(int(v) for v in image.shape[:2])
        if self.spec.task == "segmentation":
            window = mask_window(expanded_box, image_size, self.threshold)
            probability, mask = paste_mask(
                maps[..., 0], expanded_box, image_size, self.threshold, window=window
            )
            if segments is not None:
                window, probability = segments(probability, window)
                mask = probability >= self.threshold
            result.update(window=window, image_size=image_size, probability=probability, mask=mask)
            if self.scoring == "mask":
                quality = expected_iou(probability, mask)
                result.update(
                    box_score=detection.score, mask_quality=quality, score=detection.score * quality
                )
        elif self.spec.task == "parts":
            if foreground is None:
                window = mask_window(expanded_box, image_size, self.threshold)
            else:
                window = box_pixels(expanded_box, image_size)
            probabilities = paste_heatmap(maps, expanded_box, image_size, window=window)
            if segments is not None:
                window, probabilities = segments(probabilities, window)
            if foreground is None:
                foreground = part_foreground(probabilities, self.threshold)
            else:
                foreground, foreground_window = foreground
                probabilities = to_window(probabilities, window, foreground_window)
                window = foreground_window
            result.update(
                window=window,
                image_size=image_size,
                part_labels=part_labels(probabilities, foreground),
                mask=foreground,
                part_names=list(names),
            )
        else:
            result.update(
                keypoints=decode_keypoints(maps, expanded_box, detection.score),
                keypoint_names=list(names),
            )
        return result


def _check_all_maps(runner, spec):
    """`ValueError` for one category-conditional model where every category's maps
    are expected (a `CategoryRunner` over the per-category set is fine)."""
    category_id = getattr(runner, "category_id", None)
    if category_id is None or getattr(runner, "category_conditional", False):
        return
    name = spec.layout.category_names[spec.layout.category_ids.index(category_id)]
    raise ValueError(
        f"{getattr(runner, 'path', 'the model')} is category-conditional: it predicts only "
        f"category {category_id} ({name!r}); load the per-category set with "
        "hckeras.export.litert_runner.load_litert_runner (load_predictor does) or export a "
        "model with every category's maps"
    )


def warn_skipped(skipped, examples):
    """One warning summarising skipped detections (nothing when none were)."""
    total = sum(skipped.values())
    if total:
        details = "; ".join(f"{skipped[k]} {k} (e.g. {examples[k]})" for k in examples)
        warnings.warn(f"skipped {total} detections: {details}", stacklevel=3)


def load_predictor(model_path, **kwargs):
    """A `Predictor` for a saved model and its spec sidecar (`spec_path`).

    Reads `.keras` files (`keras.saving.load_model`, safe mode) with their spec
    sidecar, and `.tflite` files (ai-edge-litert, spec embedded in the file's
    metadata; `num_threads` sets the XNNPACK threads); other `kwargs` go to
    `Predictor`. Other formats raise `ValueError("unsupported model file ...")`.
    """
    path = Path(model_path)
    if path.suffix == ".tflite":
        from hckeras.export.litert_runner import load_litert_runner

        runner = load_litert_runner(path, num_threads=kwargs.pop("num_threads", None))
        return Predictor(runner, runner.spec, **kwargs)
    if path.suffix != ".keras":
        raise ValueError(f"unsupported model file {path}: expected a .keras or .tflite file")
    spec = ModelSpec.load(checked_sidecar(path))
    import keras

    import hckeras.layers  # noqa: F401  (registers the hckeras layers for deserialization)

    model = keras.saving.load_model(path, compile=False, safe_mode=True)
    return Predictor(model, spec, **kwargs)


def _check_image(image):
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] != 3 or image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"image must be a non-empty (H, W, 3) RGB array, got {image.shape}")
    return image
