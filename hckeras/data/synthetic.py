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
byte-identical files, however many processes render them (`workers`). Every
file is written to a temporary name in its folder and then renamed, so an
interrupted run never leaves a half-written file.

    path = generate("runs/synth", num_images=100, seed=0)   # .../annotations.json
"""

import functools
import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
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
    write_bytes_atomic(path, _png_bytes(array, path))


def _write_json(path, value):
    write_bytes_atomic(path, json.dumps(value, separators=(",", ":")).encode("utf-8"))


def _instance_fields(instance, image_id):
    """The COCO annotation of a `SceneInstance` (RLE mask, box from the mask) but
    its `id` and `parts_file`, which count on from the earlier images' instances."""
    rle = mask_utils.encode(np.asfortranarray(instance.mask.astype(np.uint8)))
    keypoints = instance.keypoints
    flat = []
    for x, y, v in keypoints:
        flat += [round(float(x), 2), round(float(y), 2), int(v)]
    return {
        "image_id": image_id,
        "category_id": instance.category.id,
        "bbox": [float(v) for v in mask_utils.toBbox(rle)],
        "area": int(mask_utils.area(rle)),
        "iscrowd": 0,
        "segmentation": {"size": [int(s) for s in rle["size"]], "counts": rle["counts"].decode()},
        "keypoints": flat,
        "num_keypoints": int(np.count_nonzero(keypoints[:, 2] > 0)),
    }


def _png_bytes(array, what):
    ok, encoded = cv2.imencode(".png", array)
    if not ok:
        raise ValueError(f"OpenCV could not encode {what} as PNG")
    return encoded.tobytes()


def _render_image(out, seed, index, image_size_range):
    """Render image `index` (0-based) and write its PNG. Returns the image's COCO
    entry, its instances as (annotation without id, part labels as PNG bytes), its
    simulated detector pool and its region candidates: a function of `(seed,
    index)` only, so images can be rendered in any order and in any process."""
    category_ids = [category.id for category in CATEGORIES]
    rng = np.random.default_rng([seed, index])
    width, height = (int(v) for v in rng.integers(image_size_range[0], image_size_range[1] + 1, 2))
    scene = render_scene(rng, height, width)
    image_id = index + 1
    file_name = f"images/{image_id:06d}.png"
    _write_png(out / file_name, cv2.cvtColor(scene.image, cv2.COLOR_RGB2BGR))
    instances = [
        (_instance_fields(instance, image_id), _png_bytes(instance.parts, f"{file_name}'s parts"))
        for instance in scene.instances
    ]
    raw_pool = simulate_raw_pool(
        np.random.default_rng([seed, index, 1]),
        np.random.default_rng([seed, index, 2]),
        image_id,
        [(fields["category_id"], fields["bbox"]) for fields, _ in instances],
        scene.distractor_boxes,
        width,
        height,
        category_ids,
    )
    candidates = simulate_region_candidates(
        np.random.default_rng([seed, index, 3]),
        image_id,
        [(instance.category.id, instance.mask) for instance in scene.instances],
        height,
        width,
        category_ids,
    )
    image = {"id": image_id, "file_name": file_name, "width": width, "height": height}
    return image, instances, raw_pool, candidates


def _rendered_images(out, num_images, seed, image_size_range, workers):
    """`_render_image` of every image, in index order; with `workers` > 1 in that
    many processes (spawned: a forked child of a process that runs TensorFlow or
    JAX threads can deadlock)."""
    render = functools.partial(_render_image, out, seed, image_size_range=image_size_range)
    if workers == 1 or num_images <= 1:
        yield from map(render, range(num_images))
        return
    context = multiprocessing.get_context("spawn")
    chunk = max(1, num_images // (8 * workers))
    with ProcessPoolExecutor(min(workers, num_images), mp_context=context) as pool:
        yield from pool.map(render, range(num_images), chunksize=chunk)


def default_workers():
    """The CPUs this process may run on: `hckeras synth`'s and the suites' `workers`."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _check_arguments(num_images, seed, image_size_range, workers):
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
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


def generate(out_dir, num_images, seed=0, image_size_range=(256, 320), workers=1):
    """Writes a synthetic data set; see the module docstring.

    Args:
        out_dir: output folder, created if needed; existing files are overwritten.
        num_images: number of images (>= 0).
        seed: non-negative integer; same seed, same bytes.
        image_size_range: (low, high); each image's width and height are drawn
            independently from [low, high] pixels.
        workers: processes that render images (>= 1); the files are the same
            bytes for any number. With more than 1, a script that calls this must
            guard its entry point with `if __name__ == "__main__":` (the workers
            are spawned and import the caller's main module).

    Returns:
        `pathlib.Path` of the written annotations.json.
    """
    _check_arguments(num_images, seed, image_size_range, workers)
    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "parts").mkdir(exist_ok=True)
    images, annotations, raw_pool, candidates = [], [], [], []
    for image, instances, image_pool, image_candidates in _rendered_images(
        out, num_images, seed, image_size_range, workers
    ):
        images.append(image)
        for fields, parts_png in instances:
            annotation_id = len(annotations) + 1
            annotation = {"id": annotation_id, **fields, "parts_file": f"parts/{annotation_id}.png"}
            write_bytes_atomic(out / annotation["parts_file"], parts_png)
            annotations.append(annotation)
        raw_pool += image_pool
        candidates += image_candidates
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
