"""The synthetic data set of articulated objects: a deterministic COCO writer.

`generate` renders scenes (`hckeras.data.synthetic_scene`) of people,
quadrupeds and birds over clutter and writes, under `out_dir`:

    images/NNNNNN.png          RGB images (COCO `file_name`, relative to out_dir)
    parts/<annotation id>.png  uint8 part labels of each instance (`parts_file`)
    annotations.json           COCO ground truth with the extensions of
                               docs/data_format.md
    detections_raw.json        COCO results: the simulated detector's pre-NMS pool
    detections_simulated.json  COCO results: its box NMS (jittered boxes, misses,
                               false positives)
    region_candidates.json     COCO results with RLE masks: simulated region
                               candidates for System 1 (perturbed instance masks)

The pixels and annotations of image i (0-based) are a function of `(seed, i)`
only (annotation ids count on from the earlier images), so the same seed gives
byte-identical files. Every file is written to a temporary name in its folder and
then renamed, so an interrupted run never leaves a half-written file.

    path = generate("runs/synth", num_images=100, seed=0)   # .../annotations.json
"""

import json
from pathlib import Path

import cv2
import numpy as np
from pycocotools import mask as mask_utils

from hckeras.data.synthetic_candidates import simulate_region_candidates
from hckeras.data.synthetic_categories import CATEGORIES
from hckeras.data.synthetic_detections import simulate_detections, simulate_raw_pool
from hckeras.data.synthetic_scene import render_scene
from hckeras.io import write_bytes_atomic

MIN_IMAGE_SIZE = 64


def _write_png(path, array):
    ok, encoded = cv2.imencode(".png", array)
    if not ok:
        raise ValueError(f"OpenCV could not encode {path} as PNG")
    write_bytes_atomic(path, encoded.tobytes())


def _write_json(path, value):
    write_bytes_atomic(path, json.dumps(value, separators=(",", ":")).encode("utf-8"))


def annotation_entry(instance, annotation_id, image_id):
    """COCO annotation dict of a `SceneInstance` (RLE mask, box from the mask)."""
    rle = mask_utils.encode(np.asfortranarray(instance.mask.astype(np.uint8)))
    keypoints = instance.keypoints
    flat = []
    for x, y, v in keypoints:
        flat += [round(float(x), 2), round(float(y), 2), int(v)]
    return {
        "id": annotation_id,
        "image_id": image_id,
        "category_id": instance.category.id,
        "bbox": [float(v) for v in mask_utils.toBbox(rle)],
        "area": int(mask_utils.area(rle)),
        "iscrowd": 0,
        "segmentation": {"size": [int(s) for s in rle["size"]], "counts": rle["counts"].decode()},
        "keypoints": flat,
        "num_keypoints": int(np.count_nonzero(keypoints[:, 2] > 0)),
        "parts_file": f"parts/{annotation_id}.png",
    }


def _check_arguments(num_images, seed, image_size_range):
    if isinstance(num_images, bool) or not isinstance(num_images, int) or num_images < 0:
        raise ValueError(f"num_images must be an integer >= 0, got {num_images!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    low, high = image_size_range
    if not MIN_IMAGE_SIZE <= low <= high:
        raise ValueError(
            f"image_size_range must be (low, high) with {MIN_IMAGE_SIZE} <= low <= high, "
            f"got {tuple(image_size_range)!r}"
        )


def generate(out_dir, num_images, seed=0, image_size_range=(256, 320)):
    """Writes a synthetic data set; see the module docstring.

    Args:
        out_dir: output folder, created if needed; existing files are overwritten.
        num_images: number of images (>= 0).
        seed: non-negative integer; same seed, same bytes.
        image_size_range: (low, high); each image's width and height are drawn
            independently from [low, high] pixels.

    Returns:
        `pathlib.Path` of the written annotations.json.
    """
    _check_arguments(num_images, seed, image_size_range)
    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "parts").mkdir(exist_ok=True)
    category_ids = [category.id for category in CATEGORIES]
    images, annotations, raw_pool, candidates = [], [], [], []
    for index in range(num_images):
        rng = np.random.default_rng([seed, index])
        width, height = (
            int(v) for v in rng.integers(image_size_range[0], image_size_range[1] + 1, 2)
        )
        scene = render_scene(rng, height, width)
        image_id = index + 1
        file_name = f"images/{image_id:06d}.png"
        _write_png(out / file_name, cv2.cvtColor(scene.image, cv2.COLOR_RGB2BGR))
        images.append({"id": image_id, "file_name": file_name, "width": width, "height": height})
        ground_truth = []
        for instance in scene.instances:
            entry = annotation_entry(instance, len(annotations) + 1, image_id)
            _write_png(out / entry["parts_file"], instance.parts)
            annotations.append(entry)
            ground_truth.append((entry["category_id"], entry["bbox"]))
        raw_pool += simulate_raw_pool(
            np.random.default_rng([seed, index, 1]),
            np.random.default_rng([seed, index, 2]),
            image_id,
            ground_truth,
            scene.distractor_boxes,
            width,
            height,
            category_ids,
        )
        candidates += simulate_region_candidates(
            np.random.default_rng([seed, index, 3]),
            image_id,
            [(instance.category.id, instance.mask) for instance in scene.instances],
            height,
            width,
            category_ids,
        )
    dataset = {
        "info": {"description": "hckeras synthetic articulated objects", "seed": seed},
        "images": images,
        "categories": [category.to_coco() for category in CATEGORIES],
        "annotations": annotations,
    }
    _write_json(out / "detections_raw.json", raw_pool)
    _write_json(out / "detections_simulated.json", simulate_detections(raw_pool))
    _write_json(out / "region_candidates.json", candidates)
    _write_json(out / "annotations.json", dataset)
    return out / "annotations.json"
