"""COCO ground truth: reading, validating and decoding annotations.

`CocoDataset.load` reads a COCO JSON file (docs/data_format.md, with the
hckeras extensions `parts`, `flip_pairs`, `torso` and `parts_file`), checks
every annotation and keeps the usable ones. A bad annotation (degenerate
polygon, box outside its image, keypoint outside its image, unknown category,
missing image file, ...) is skipped and recorded in a `SkipReport` with its id
and the reason, so that a long training run neither crashes on it nor drops it
silently. `CocoDataset.instances(task)` applies the task's own requirements
(a `parts_file` for parts, labelled keypoints for keypoints). The metrics read
their ground truth with the same checks (`CocoDataset(..., evaluation=True)`).

    data = CocoDataset.load("synthetic/annotations.json")
    print(data.report.format())
    instances, report = data.instances("segmentation")
    mask = data.mask(instances[0])          # uint8 (H, W), 1 inside the instance
"""

import contextlib
import io
import json
import math
import numbers
import os
from dataclasses import dataclass, field

import cv2
import numpy as np
from pycocotools.coco import COCO

from hckeras import boxes as box_utils

BOX_TOLERANCE = 1.0
"""Pixels a box or a keypoint may lie beyond the image border (rounding in converted data)."""

SKIP_REASONS = {
    "crowd": "iscrowd = 1: a COCO crowd region, never a training target",
    "invalid_annotation": "the annotation is not a JSON object",
    "unknown_image": "image_id is not in `images`",
    "invalid_image_entry": "the image entry lacks a file_name or a positive width/height",
    "missing_image_file": "the image file does not exist",
    "unknown_category": "category_id is not in `categories`",
    "invalid_bbox": "bbox is not 4 finite numbers with positive width and height",
    "bbox_outside_image": "bbox extends beyond the image",
    "degenerate_polygon": "a polygon has fewer than 3 points, an odd coordinate count or zero area",
    "invalid_rle": "RLE size differs from the image, or its counts do not cover the image",
    "invalid_segmentation": "segmentation is neither polygons nor RLE",
    "invalid_keypoints": "keypoints are not [x, y, v] * K (K from the category), "
    "or have NaN or v outside {0, 1, 2}",
    "keypoint_outside_image": "a labelled keypoint lies outside the image",
    "missing_segmentation": "segmentation task: the annotation has no segmentation",
    "missing_parts_file": "parts task: parts_file is absent or the file does not exist",
    "no_labelled_keypoints": "keypoints task: no keypoint has v > 0",
    "category_not_selected": "the category is not one of the task's categories",
}
"""Every reason an annotation can be skipped for, with its meaning."""


@dataclass
class SkipReport:
    """Annotations that were not used, by reason.

    Attributes:
        entries: `{reason: [(annotation_id, detail), ...]}`, reasons from
            `SKIP_REASONS`.
        missing_files: image files that were referenced but not found.
    """

    entries: dict = field(default_factory=dict)
    missing_files: list = field(default_factory=list)

    def add(self, reason, annotation_id, detail=""):
        if reason not in SKIP_REASONS:
            raise ValueError(f"unknown skip reason {reason!r}")
        self.entries.setdefault(reason, []).append((annotation_id, detail))

    @property
    def counts(self):
        """`{reason: number of annotations}`."""
        return {reason: len(items) for reason, items in self.entries.items()}

    @property
    def annotation_ids(self):
        """`{reason: [annotation ids]}`."""
        return {reason: [i for i, _ in items] for reason, items in self.entries.items()}

    @property
    def total(self):
        return sum(self.counts.values())

    def merged(self, other):
        """A new report holding this report's entries followed by `other`'s."""
        report = SkipReport(
            {r: list(items) for r, items in self.entries.items()}, list(self.missing_files)
        )
        for reason, items in other.entries.items():
            report.entries.setdefault(reason, []).extend(items)
        report.missing_files += [f for f in other.missing_files if f not in report.missing_files]
        return report

    def to_dict(self):
        """JSON-serialisable form (for a run directory)."""
        return {
            "counts": self.counts,
            "annotations": {
                reason: [{"id": i, "detail": d} for i, d in items]
                for reason, items in self.entries.items()
            },
            "missing_files": list(self.missing_files),
        }

    def format(self, max_ids=10):
        """Human-readable summary, one line per reason plus up to `max_ids` examples."""
        if not self.entries:
            return "skipped annotations: none"
        lines = [f"skipped annotations: {self.total}"]
        for reason, items in sorted(self.entries.items()):
            lines.append(f"  {reason}: {len(items)} ({SKIP_REASONS[reason]})")
            for annotation_id, detail in items[:max_ids]:
                lines.append(f"    annotation {annotation_id}: {detail}".rstrip(": "))
            if len(items) > max_ids:
                lines.append(f"    ... and {len(items) - max_ids} more")
        if self.missing_files:
            shown = ", ".join(self.missing_files[:max_ids])
            more = len(self.missing_files) - max_ids
            lines.append(
                f"  missing image files: {shown}" + (f" ... and {more} more" if more > 0 else "")
            )
        return "\n".join(lines)

    def __str__(self):
        return self.format()


def read_json(json_path, what="annotation file"):
    """The parsed JSON of a user-supplied file; errors name the file (`what` says its role)."""
    if not os.path.isfile(json_path):
        raise FileNotFoundError(f"{what} not found: {json_path}")
    try:
        with open(json_path, encoding="utf-8") as f:
            data = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{what} {json_path} is not a JSON file: {error}") from error
    return data


def image_entry_problem(image):
    """A description of what makes a COCO image entry unusable, or None.

    Usable: a dict with an `id`, a `file_name` and positive integer `width` and `height`.
    """
    if not isinstance(image, dict):
        return f"is a {type(image).__name__}, not an object"
    missing = [key for key in ("file_name", "width", "height") if key not in image]
    if missing:
        return f"has no {', '.join(missing)}"
    try:
        height, width = int(image["height"]), int(image["width"])
    except (TypeError, ValueError):
        return f"has a non-integer size {image['width']!r}x{image['height']!r}"
    if height <= 0 or width <= 0:
        return f"is {width}x{height}"
    return None


def _check_coco(data, source):
    if not isinstance(data, dict):
        raise ValueError(f"{source} is not COCO: the top level is a {type(data).__name__}")
    for key in ("images", "annotations", "categories"):
        if key not in data:
            raise ValueError(f"{source} is not COCO: it has no {key!r} key")
        if not isinstance(data[key], list):
            raise ValueError(f"{source} is not COCO: {key!r} is not a list")


def _finite_numbers(values):
    """`values` as a list of floats if it is a flat list of finite numbers, else None.

    Plain Python: these lists are short and there is one per annotation, so
    numpy's per-call overhead would dominate on COCO-sized files.
    """
    if not isinstance(values, list | tuple):
        return None
    try:
        numbers = [float(v) for v in values]
    except (TypeError, ValueError):
        return None
    # A NaN or infinity makes the sum non-finite (so would an overflowing sum of
    # absurdly large coordinates, which are no better).
    return numbers if math.isfinite(sum(numbers)) else None


def is_finite_number(value):
    """True for an int or float (not a bool) that is neither NaN nor infinite."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _polygon_area(coords):
    xs, ys = coords[0::2], coords[1::2]
    ys_next, xs_next = ys[1:] + ys[:1], xs[1:] + xs[:1]
    return 0.5 * abs(
        sum(x * yn - y * xn for x, y, xn, yn in zip(xs, ys, xs_next, ys_next, strict=True))
    )


def _segmentation_problem(segmentation, height, width):
    """`(reason, detail)` if the segmentation cannot give a mask, else None."""
    if isinstance(segmentation, list):
        for k, polygon in enumerate(segmentation):
            coords = _finite_numbers(polygon)
            if coords is None:
                return "degenerate_polygon", f"polygon {k} is not a list of finite numbers"
            if len(coords) < 6 or len(coords) % 2:
                return "degenerate_polygon", f"polygon {k} has {len(coords)} coordinates"
            if _polygon_area(coords) <= 0:
                return "degenerate_polygon", f"polygon {k} has zero area"
        return None
    if isinstance(segmentation, dict) and "counts" in segmentation and "size" in segmentation:
        if list(segmentation["size"]) != [height, width]:
            return "invalid_rle", f"RLE size {segmentation['size']} != image [{height}, {width}]"
        counts = segmentation["counts"]
        if isinstance(counts, list):
            if sum(counts) != height * width or any(c < 0 for c in counts):
                return "invalid_rle", f"RLE counts sum to {sum(counts)}, not {height * width}"
            return None
        if isinstance(counts, str | bytes) and counts:
            return None
        return "invalid_rle", "RLE counts are neither a list nor a string"
    return "invalid_segmentation", f"segmentation of type {type(segmentation).__name__}"


def _bbox_problem(bbox, height, width):
    numbers = _finite_numbers(bbox)
    if numbers is None or len(numbers) != 4 or numbers[2] <= 0 or numbers[3] <= 0:
        return "invalid_bbox", f"bbox {bbox}"
    x0, y0, w, h = numbers
    if (
        min(x0, y0) < -BOX_TOLERANCE
        or x0 + w > width + BOX_TOLERANCE
        or y0 + h > height + BOX_TOLERANCE
    ):
        return "bbox_outside_image", f"bbox {numbers} in a {width}x{height} image"
    return None


def _keypoints_problem(keypoints, num_names, height, width):
    values = _finite_numbers(keypoints)
    if values is None or len(values) % 3:
        return "invalid_keypoints", "not a flat list of finite [x, y, v] triples"
    if num_names and len(values) != 3 * num_names:
        return "invalid_keypoints", f"{len(values) // 3} keypoints, the category has {num_names}"
    visibility = values[2::3]
    if any(v not in (0, 1, 2) for v in visibility):
        return "invalid_keypoints", f"visibility values {sorted(set(visibility))}"
    for x, y, v in zip(values[0::3], values[1::3], visibility, strict=True):
        if v > 0 and not (
            -BOX_TOLERANCE <= x <= width + BOX_TOLERANCE
            and -BOX_TOLERANCE <= y <= height + BOX_TOLERANCE
        ):
            return "keypoint_outside_image", f"keypoint ({x:g}, {y:g}) outside {width}x{height}"
    return None


class CocoDataset:
    """Validated COCO ground truth.

    Attributes:
        json_path: the annotation file (None when built from a dict).
        root: folder that `parts_file` paths are relative to (the JSON's folder).
        images_dir: folder that image `file_name`s are relative to.
        categories: the `categories` list, as in the file.
        images: `{image_id: image entry}`.
        annotations: usable annotations (valid, not crowd), as in the file.
        report: `SkipReport` of the annotations that were not kept.
        coco: the `pycocotools.coco.COCO` index over the usable annotations.
    """

    def __init__(self, data, json_path=None, images_dir=None, root=None, *, evaluation=False):
        """Validate an already-parsed COCO dict (`load` reads one from a file).

        `root` (default: the JSON's folder, or ".") is where `parts_file` paths
        start; `images_dir` (default: `root`) is where image `file_name`s start.
        `evaluation=True` reads the ground truth of a metric: the same checks,
        except that crowd regions are kept (the metrics ignore detections on
        them), image files need not exist, a `bbox` is checked only if present,
        and a file without usable annotations is not an error.
        """
        source = json_path or "COCO dict"
        _check_coco(data, source)
        self.json_path = None if json_path is None else os.fspath(json_path)
        self.root = os.fspath(root) if root else os.path.dirname(self.json_path or "") or "."
        self.images_dir = os.fspath(images_dir) if images_dir else self.root
        self.categories = list(data["categories"])
        self.images = {
            image["id"]: image
            for image in data["images"]
            if isinstance(image, dict) and "id" in image
        }
        self._categories_by_id = {c["id"]: c for c in self.categories if "id" in c}
        self.evaluation = evaluation
        self.report = SkipReport()
        self.annotations = self._validate(data["annotations"])
        if not self.annotations and not evaluation:
            raise ValueError(
                f"{source}: no usable annotation among {len(data['annotations'])}\n"
                + self.report.format()
            )
        # pycocotools indexes the usable part only: its index needs every id.
        self.coco = COCO()
        self.coco.dataset = {
            "images": list(self.images.values()),
            "categories": list(self._categories_by_id.values()),
            "annotations": self.annotations,
        }
        with contextlib.redirect_stdout(io.StringIO()):
            self.coco.createIndex()

    @classmethod
    def load(cls, json_path, images_dir=None):
        """Read and validate a COCO JSON file.

        Args:
            json_path: the annotation file.
            images_dir: folder of the images (default: the JSON file's folder).

        Raises:
            FileNotFoundError: `json_path` does not exist.
            ValueError: the file is not COCO JSON (the message names the file and
                the missing key), or no annotation is usable.
        """
        json_path = os.fspath(json_path)
        return cls(read_json(json_path), json_path=json_path, images_dir=images_dir)

    def category(self, category_id):
        """The category entry of `category_id`."""
        return self._categories_by_id[category_id]

    def image_path(self, image_id):
        return os.path.join(self.images_dir, self.images[image_id]["file_name"])

    def image_size(self, image_id):
        """`(height, width)` of an image, from its entry."""
        image = self.images[image_id]
        return int(image["height"]), int(image["width"])

    def box(self, annotation):
        """The annotation's box as float64 xyxy."""
        return box_utils.xywh_to_xyxy(annotation["bbox"])

    def mask(self, annotation):
        """uint8 `(H, W)` instance mask (1 inside), decoded by pycocotools."""
        return self.coco.annToMask(annotation)

    def keypoints(self, annotation):
        """float64 `(K, 3)` keypoints `[x, y, v]`."""
        return np.asarray(annotation["keypoints"], dtype=np.float64).reshape(-1, 3)

    def parts_path(self, annotation):
        """Path of the annotation's part-label PNG, or None."""
        name = annotation.get("parts_file")
        return os.path.join(self.root, name) if name else None

    def part_labels(self, annotation):
        """uint8 `(H, W)` part labels of the instance (p > 0: part `parts[p - 1]`)."""
        path = self.parts_path(annotation)
        labels = None if path is None else cv2.imread(path, cv2.IMREAD_UNCHANGED)
        if labels is None:
            raise FileNotFoundError(f"annotation {annotation['id']}: cannot read parts_file {path}")
        if labels.ndim != 2 or labels.shape != self.image_size(annotation["image_id"]):
            raise ValueError(
                f"annotation {annotation['id']}: parts_file {path} has shape {labels.shape}, "
                f"expected the image's {self.image_size(annotation['image_id'])}"
            )
        return labels

    def _validate(self, annotations):
        kept, file_exists = [], {}
        for annotation in annotations:
            if not isinstance(annotation, dict):
                self.report.add("invalid_annotation", None, f"not an object: {annotation!r:.40}")
                continue
            problem = self._annotation_problem(annotation, file_exists)
            if problem is None:
                kept.append(annotation)
            else:
                self.report.add(problem[0], annotation.get("id"), problem[1])
        self.report.missing_files = sorted(p for p, ok in file_exists.items() if not ok)
        return kept

    def _annotation_problem(self, annotation, file_exists):
        if annotation.get("iscrowd", 0) and not self.evaluation:
            return "crowd", ""
        image = self.images.get(annotation.get("image_id"))
        if image is None:
            return "unknown_image", f"image_id {annotation.get('image_id')}"
        problem = image_entry_problem(image)
        if problem:
            return "invalid_image_entry", f"image {image['id']} {problem}"
        height, width = int(image["height"]), int(image["width"])
        if not self.evaluation:
            path = os.path.join(self.images_dir, image["file_name"])
            if path not in file_exists:
                file_exists[path] = os.path.exists(path)
            if not file_exists[path]:
                return "missing_image_file", path
        category = self._categories_by_id.get(annotation.get("category_id"))
        if category is None:
            return "unknown_category", f"category_id {annotation.get('category_id')}"
        if not self.evaluation or "bbox" in annotation:
            problem = _bbox_problem(annotation.get("bbox"), height, width)
            if problem:
                return problem
        if annotation.get("segmentation"):
            problem = _segmentation_problem(annotation["segmentation"], height, width)
            if problem:
                return problem
        if annotation.get("keypoints"):
            num_names = len(category.get("keypoints") or [])
            problem = _keypoints_problem(annotation["keypoints"], num_names, height, width)
            if problem:
                return problem
        return None

    def instances(self, task, category_ids=None):
        """The annotations a `task` can train on, and a report of the rest.

        Args:
            task: "segmentation", "parts" or "keypoints".
            category_ids: keep only these categories (default: all).

        Returns:
            `(annotations, report)`: the usable annotations in file order, and a
            `SkipReport` with the load-time skips plus this task's.

        Raises:
            ValueError: no annotation is usable for the task.
        """
        report = SkipReport()
        selected = None if category_ids is None else set(category_ids)
        kept = []
        for annotation in self.annotations:
            problem = self._task_problem(annotation, task, selected)
            if problem is None:
                kept.append(annotation)
            else:
                report.add(problem[0], annotation["id"], problem[1])
        report = self.report.merged(report)
        if not kept:
            raise ValueError(
                f"{self.json_path or 'COCO dict'}: no usable annotation for the {task} task\n"
                + report.format()
            )
        return kept, report

    def _task_problem(self, annotation, task, selected):
        if selected is not None and annotation["category_id"] not in selected:
            return "category_not_selected", f"category_id {annotation['category_id']}"
        if task == "segmentation" and not annotation.get("segmentation"):
            return "missing_segmentation", ""
        if task == "parts":
            path = self.parts_path(annotation)
            if path is None:
                return "missing_parts_file", "no parts_file"
            if not os.path.exists(path):
                return "missing_parts_file", path
        if task == "keypoints":
            keypoints = annotation.get("keypoints") or []
            if not any(v > 0 for v in keypoints[2::3]):
                return "no_labelled_keypoints", ""
        return None
