"""Loading ground truth and results for the metrics: COCO JSON in, checked Python objects out.

The metrics read plain COCO plus the extensions of docs/data_format.md. The ground truth
goes through the training reader's checks (`hckeras.data.coco.CocoDataset`, evaluation
mode): an annotation that cannot give a mask (a polygon of two points, of zero area, ...)
is skipped and listed by id in a `SkipReport`, never counted as an object. Every problem
in the results (a result on an unknown image, a missing field, a NaN score, a mask of the
wrong size) is a `ValueError` that names the file and the entry at fault.
"""

import os
import warnings
from collections import defaultdict

import numpy as np
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from hckeras.data.coco import (
    CocoDataset,
    SkipReport,
    image_entry_problem,
    is_finite_number,
    read_json,
)


def read_ground_truth(gt):
    """The ground truth, validated, and the report of the annotations it skipped.

    Args:
        gt: path to a COCO JSON file, the loaded dict, or a `COCO` (used as is, with an
            empty report).

    Returns:
        `(coco, report)`: an indexed `pycocotools.coco.COCO` over the usable annotations
        (crowd regions included) and every image, and the `SkipReport` of the rest.
    """
    if isinstance(gt, COCO):
        return gt, SkipReport()
    path = None
    if isinstance(gt, str | os.PathLike):
        path = os.fspath(gt)
        gt = read_json(path, "ground-truth file")
    dataset = CocoDataset(gt, json_path=path, evaluation=True)
    return dataset.coco, dataset.report


def load_ground_truth(gt):
    """The ground truth as an indexed `pycocotools.coco.COCO` (see `read_ground_truth`).

    Skipped annotations are reported in one warning.
    """
    coco, report = read_ground_truth(gt)
    if report.total:
        source = os.fspath(gt) if isinstance(gt, str | os.PathLike) else "ground truth"
        warnings.warn(f"{source}: {report.format()}", stacklevel=2)
    return coco


def load_results(results, coco, fields=(), category_ids=None):
    """Read and check a COCO results list against the ground truth.

    Args:
        results: path to a results JSON file, or the loaded list of dicts.
        coco: the ground truth (`load_ground_truth`).
        fields: the fields the metric needs in each entry, beyond image_id and category_id.
            Sizes are checked too: RLE masks (`segmentation`, each of `parts`) must be
            image-sized, `parts` must have one mask per category part, `keypoints` three
            numbers per category keypoint.
        category_ids: check `fields` only in the entries of these categories (the ones the
            metric evaluates); None checks all.

    Returns:
        list of dicts, the entries in file order (possibly empty).

    Raises:
        ValueError: the file is not JSON, not a list, or an entry is unusable (a missing
            field, a score that is not a finite number, ...); the message names the file
            and the entry.
    """
    source = "results"
    if isinstance(results, str | os.PathLike):
        source = f"results file {os.fspath(results)}"
        results = read_json(os.fspath(results), "results file")
    if not isinstance(results, list):
        raise ValueError(f"{source}: must be a list of dicts, got {type(results).__name__}")
    for index, entry in enumerate(results):
        where = f"{source}: results[{index}]"
        if not isinstance(entry, dict):
            raise ValueError(f"{where} is a {type(entry).__name__}, expected a dict")
        for key in ("image_id", "category_id"):
            if key not in entry:
                raise ValueError(f"{where} has no '{key}'")
        if entry["image_id"] not in coco.imgs:
            raise ValueError(
                f"{where}: image_id {entry['image_id']!r} is not in the ground-truth images"
            )
        problem = image_entry_problem(coco.imgs[entry["image_id"]])
        if problem:
            raise ValueError(f"{where}: its ground-truth image {entry['image_id']!r} {problem}")
        if entry["category_id"] not in coco.cats:
            raise ValueError(
                f"{where}: category_id {entry['category_id']!r} is not in the ground-truth "
                f"categories {sorted(coco.cats)}"
            )
        if category_ids is None or entry["category_id"] in category_ids:
            _check_fields(entry, fields, coco, where)
    return results


def _check_fields(entry, fields, coco, where):
    image = coco.imgs[entry["image_id"]]
    category = coco.cats[entry["category_id"]]
    for field in fields:
        if field not in entry:
            raise ValueError(f"{where} has no '{field}' field, which this metric needs")
    if "score" in fields and not is_finite_number(entry["score"]):
        raise ValueError(f"{where}: score {entry['score']!r} is not a finite number")
    if "segmentation" in fields:
        check_mask_size(entry["segmentation"], image, f"{where}.segmentation")
    if "parts" in fields:
        names = category.get("parts", [])
        if not isinstance(entry["parts"], list) or len(entry["parts"]) != len(names):
            raise ValueError(
                f"{where}.parts must be a list of {len(names)} masks, one per part of "
                f"category {category['name']!r}"
            )
        for part, segmentation in enumerate(entry["parts"]):
            check_mask_size(segmentation, image, f"{where}.parts[{part}]")
    if "keypoints" in fields:
        expected = 3 * len(category.get("keypoints", []))
        keypoints = entry["keypoints"]
        if not isinstance(keypoints, list) or len(keypoints) != expected:
            count = len(keypoints) if isinstance(keypoints, list) else type(keypoints).__name__
            raise ValueError(
                f"{where}.keypoints has {count} numbers; category "
                f"{category['name']!r} needs {expected} (x, y, score per keypoint)"
            )
        bad = [i for i, value in enumerate(keypoints) if not is_finite_number(value)]
        if bad:
            raise ValueError(
                f"{where}.keypoints[{bad[0]}] = {keypoints[bad[0]]!r} is not a finite number"
            )


def check_mask_size(segmentation, image, where):
    """Raise a `ValueError` unless an RLE `segmentation` has the size of `image`.

    Polygons carry no size and always pass.
    """
    if isinstance(segmentation, dict):
        size = [int(n) for n in segmentation.get("size", ())]
        if size != [image["height"], image["width"]]:
            raise ValueError(
                f"{where}: mask size {size} (height, width) does not match image "
                f"{image['id']}'s size [{image['height']}, {image['width']}]"
            )
    elif not isinstance(segmentation, list):
        raise ValueError(f"{where}: expected an RLE dict or polygons, got {segmentation!r:.80}")


def decode_masks(segmentations, image, names):
    """Decode COCO segmentations (RLE, uncompressed RLE or polygons) of one image.

    Args:
        segmentations: list of N segmentations.
        image: the COCO image dict (`id`, `height`, `width`).
        names: list of N strings naming each segmentation's source in error messages.

    Returns:
        bool array `(N, height, width)`.
    """
    height, width = image["height"], image["width"]
    masks = np.zeros((len(segmentations), height, width), dtype=bool)
    for index, (segmentation, name) in enumerate(zip(segmentations, names, strict=True)):
        check_mask_size(segmentation, image, name)
        if isinstance(segmentation, list):
            if not segmentation:
                continue
            rle = mask_utils.merge(mask_utils.frPyObjects(segmentation, height, width))
        elif isinstance(segmentation["counts"], list):
            rle = mask_utils.frPyObjects(segmentation, height, width)
        else:
            rle = segmentation
        masks[index] = mask_utils.decode(rle).astype(bool)
    return masks


def annotation_masks(annotations, image):
    """(G, H, W) bool: the decoded masks of ground-truth annotations of one image."""
    for annotation in annotations:
        if "segmentation" not in annotation:
            raise ValueError(f"annotation {annotation.get('id')} has no 'segmentation'")
    names = [f"annotation {a.get('id')}" for a in annotations]
    return decode_masks([a["segmentation"] for a in annotations], image, names)


def result_masks(detections, image, field="segmentation"):
    """(D, H, W) bool: the decoded `field` masks of checked results of one image."""
    names = [f"result on image {image['id']} ({field})" for _ in detections]
    return decode_masks([d[field] for d in detections], image, names)


def is_crowd(annotations):
    """(G,) bool: the `iscrowd` flags of ground-truth annotations (missing means 0)."""
    return np.array([bool(a.get("iscrowd", 0)) for a in annotations], dtype=bool)


def image_category_groups(coco, results, category_ids):
    """Pair each image's ground truth with its detections, category by category.

    Images come in ascending id order and annotations and results in file order, the order
    COCOeval uses (it matters for ties in score).

    Args:
        coco: the ground truth.
        results: checked results (`load_results`).
        category_ids: the categories to visit.

    Yields:
        (image, category_id, annotations, detections) for every pair with at least one
        annotation or detection; `image` is the COCO image dict.
    """
    detections = defaultdict(list)
    for entry in results:
        detections[entry["image_id"], entry["category_id"]].append(entry)
    for image_id in sorted(coco.imgs):
        annotations = coco.imgToAnns.get(image_id, [])
        for category_id in category_ids:
            gts = [a for a in annotations if a["category_id"] == category_id]
            dets = detections.get((image_id, category_id), [])
            if gts or dets:
                yield coco.imgs[image_id], category_id, gts, dets
