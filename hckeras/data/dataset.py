"""The `model.fit` input pipeline: batches of (crop, target) pairs.

`training_dataset` and `validation_dataset` return a `keras.utils.PyDataset`, so
the same pipeline feeds `fit` on the TensorFlow, JAX and PyTorch backends (this
module imports keras, never tensorflow). One sample is one ground-truth instance
seen through one box:

- training: a box jittered around the instance's box (IoU >= `min_iou`, as the
  paper's MCG candidates), optionally flipped and colour-jittered; each epoch
  draws new boxes and a new order;
- validation: the ground-truth box, no augmentation, file order.

Everything random is drawn from `numpy.random.default_rng([seed, epoch, ...])`
per sample position, so a batch depends only on `(seed, epoch, index)`: the same
with 0, 1 or N workers, threads or processes.

    train = training_dataset("synthetic/annotations.json", task="keypoints",
                             input_size=224, output_size=50, batch_size=16)
    print(train.report.format())            # annotations that were skipped
    model.fit(train, epochs=10, shuffle=False, validation_data=validation_dataset(
        "synthetic/val.json", task="keypoints", input_size=224, layout=train.layout))

The dataset shuffles its own samples; `shuffle=False` keeps Keras from also permuting
the batch order with Python's unseeded `random`.
"""

import math
import warnings

import keras
import numpy as np

from hckeras import boxes as box_utils
from hckeras.data.augment import color_jitter, flip_horizontal
from hckeras.data.coco import CocoDataset
from hckeras.data.image_cache import DEFAULT_IMAGE_CACHE_MB, ImageCache
from hckeras.data.jitter import jitter_boxes
from hckeras.data.targets import training_sample
from hckeras.tasks import MapLayout

_MAP_KEYS = {"parts": "parts", "keypoints": "keypoints"}


def _flip_safe_categories(layout):
    """Category ids whose maps a horizontal flip maps correctly.

    A category whose map names mention left or right but that has no
    `flip_pairs` (e.g. plain COCO keypoints, without the hckeras extension)
    would get its left and right maps mixed up, so it is never flipped.
    """
    pairs = layout.flip_pairs or ((),) * len(layout.category_ids)
    safe = set()
    for category_id, names, category_pairs in zip(
        layout.category_ids, layout.map_names_per_category, pairs, strict=True
    ):
        sided = any("left" in n.lower() or "right" in n.lower() for n in names)
        if layout.task == "segmentation" or category_pairs or not sided:
            safe.add(category_id)
    return safe


class HypercolumnDataset(keras.utils.PyDataset):
    """Batches `(x, y)` or `(x, y, sample_weight)` of one task's samples.

    Built by `training_dataset` / `validation_dataset`; see those for the
    arguments. Batch `i` holds samples `i * batch_size` to
    `min((i + 1) * batch_size, num_samples) - 1` of the epoch's order.

    Attributes:
        coco: the `CocoDataset`.
        instances: the annotations used, each giving `boxes_per_instance` samples.
        layout: the task's `MapLayout` (channel meaning of `y`).
        report: `SkipReport` of the annotations not used, with reasons.
        image_cache: the `ImageCache` of decoded images (`image_cache_mb`).
        epoch: number of `on_epoch_end` calls so far; it seeds the epoch's boxes,
            order and augmentation (set it to resume). Keras's `fit` calls
            `on_epoch_end` once before its first epoch too.
    """

    def __init__(
        self,
        coco,
        instances,
        layout,
        report,
        input_size,
        output_size=50,
        batch_size=16,
        context_padding=box_utils.DEFAULT_CONTEXT_PADDING,
        jitter=False,
        min_iou=0.7,
        boxes_per_instance=1,
        augment=False,
        shuffle=False,
        seed=0,
        small_box_weight=None,
        fill=0.0,
        workers=1,
        use_multiprocessing=False,
        max_queue_size=10,
        image_cache_mb=DEFAULT_IMAGE_CACHE_MB,
    ):
        super().__init__(
            workers=workers, use_multiprocessing=use_multiprocessing, max_queue_size=max_queue_size
        )
        if batch_size < 1 or boxes_per_instance < 1:
            raise ValueError(
                f"batch_size and boxes_per_instance must be >= 1, got {batch_size} and "
                f"{boxes_per_instance}"
            )
        if (
            isinstance(image_cache_mb, bool)
            or not isinstance(image_cache_mb, int | float)
            or not image_cache_mb >= 0
        ):
            raise ValueError(f"image_cache_mb must be >= 0, got {image_cache_mb!r}")
        if small_box_weight is not None and small_box_weight <= 0:
            raise ValueError(f"small_box_weight must be a positive size, got {small_box_weight}")
        self.coco = coco
        self.instances = list(instances)
        self.layout = layout
        self.report = report
        self.input_size = (
            (int(input_size), int(input_size))
            if np.isscalar(input_size)
            else tuple(int(v) for v in input_size)
        )
        self.output_size = int(output_size)
        self.batch_size = int(batch_size)
        self.context_padding = context_padding
        self.jitter = jitter
        self.min_iou = min_iou
        self.boxes_per_instance = int(boxes_per_instance)
        self.augment = augment
        self.shuffle = shuffle
        self.seed = int(seed)
        self.small_box_weight = small_box_weight
        self.fill = fill
        self.image_cache = ImageCache(int(image_cache_mb * 2**20))
        self.epoch = 0
        self._order = None
        self._flip_permutation = layout.flip_permutation()
        self._flip_safe = _flip_safe_categories(layout)
        unsafe = sorted(set(layout.category_ids) - self._flip_safe)
        if augment and unsafe:
            warnings.warn(
                f"categories {unsafe} have left/right {layout.task} but no flip_pairs; "
                "their samples are never flipped",
                stacklevel=3,
            )

    @property
    def num_samples(self):
        """Samples per epoch: instances x boxes_per_instance."""
        return len(self.instances) * self.boxes_per_instance

    def __len__(self):
        return math.ceil(self.num_samples / self.batch_size)

    def on_epoch_end(self):
        """Advance to the next epoch: new jittered boxes, new order, new augmentation."""
        self.epoch += 1

    def sample_order(self):
        """Sample indices in this epoch's order (a permutation when shuffling)."""
        if self._order is None or self._order[0] != self.epoch:
            order = np.arange(self.num_samples)
            if self.shuffle:
                order = np.random.default_rng([self.seed, self.epoch, 0]).permutation(order)
            self._order = (self.epoch, order)
        return self._order[1]

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} out of range for {len(self)} batches")
        order = self.sample_order()
        stop = min((index + 1) * self.batch_size, self.num_samples)
        images, xs, ys, weights = {}, [], [], []
        for position in range(index * self.batch_size, stop):
            rng = np.random.default_rng([self.seed, self.epoch, 1, position])
            annotation = self.instances[order[position] // self.boxes_per_instance]
            x, y, box = self._sample(annotation, rng, images)
            xs.append(x)
            ys.append(y)
            weights.append(self._weight(box))
        x, y = np.stack(xs), np.stack(ys)
        if self.small_box_weight is None:
            return x, y
        return x, y, np.asarray(weights, dtype=np.float32)

    def _sample(self, annotation, rng, images):
        image_id = annotation["image_id"]
        if image_id not in images:
            images[image_id] = self.image_cache.get(self.coco.image_path(image_id))
        image = images[image_id]
        box = self.coco.box(annotation)
        if self.jitter:
            box = jitter_boxes(rng, box, 1, self.min_iou, image_size=image.shape[:2])[0]
        x, y = training_sample(
            self.coco,
            annotation,
            box,
            self.layout,
            self.input_size,
            self.output_size,
            self.context_padding,
            image=image,
            fill=self.fill,
        )
        if self.augment:
            if annotation["category_id"] in self._flip_safe and rng.random() < 0.5:
                x, y = flip_horizontal(x, y, self._flip_permutation)
            x = color_jitter(rng, x)
        return x, y, box

    def _weight(self, box):
        # The authors' rule (bharath272/sds, prepare_blobs.py): weight =
        # min(box area / 224^2, 1); here the reference side is small_box_weight.
        if self.small_box_weight is None:
            return 1.0
        return min(float(box_utils.box_area(box)) / float(self.small_box_weight) ** 2, 1.0)


def _coco(data, images_dir):
    if isinstance(data, CocoDataset):
        if images_dir is not None and str(images_dir) != data.images_dir:
            raise ValueError(
                f"images_dir {images_dir} differs from the loaded data set's {data.images_dir}; "
                "pass images_dir to CocoDataset.load instead"
            )
        return data
    return CocoDataset.load(data, images_dir=images_dir)


def _layout(coco, task, category_ids, layout):
    if layout is not None:
        if layout.task != task:
            raise ValueError(f"layout is for the {layout.task} task, not {task}")
        known = {category["id"] for category in coco.categories}
        missing = [c for c in layout.category_ids if c not in known]
        if missing:
            raise ValueError(f"layout categories {missing} are not in {coco.json_path}")
        return layout
    if category_ids is None and task in _MAP_KEYS:
        category_ids = [c["id"] for c in coco.categories if c.get(_MAP_KEYS[task])]
        if not category_ids:
            raise ValueError(
                f"{coco.json_path}: no category has a {_MAP_KEYS[task]!r} list; "
                f"the {task} task needs one"
            )
    return MapLayout.from_categories(coco.categories, task, category_ids)


def training_dataset(
    data,
    images_dir=None,
    task="segmentation",
    input_size=224,
    output_size=50,
    batch_size=16,
    context_padding=box_utils.DEFAULT_CONTEXT_PADDING,
    min_iou=0.7,
    boxes_per_instance=1,
    augment=True,
    category_ids=None,
    seed=0,
    workers=2,
    use_multiprocessing=False,
    small_box_weight=None,
    max_queue_size=10,
    fill=0.0,
    layout=None,
    image_cache_mb=DEFAULT_IMAGE_CACHE_MB,
):
    """Training batches: jittered boxes around every usable instance.

    Args:
        data: path of a COCO JSON file, or a loaded `CocoDataset`.
        images_dir: folder of the images when `data` is a path (default: the
            JSON's folder).
        task: "segmentation", "parts" or "keypoints".
        input_size: int or `(height, width)` of the crops (the backbone input).
        output_size: S, the side of the target grid.
        batch_size: samples per batch (the last batch may be smaller).
        context_padding: padding of the expanded box (`boxes.expand_box`).
        min_iou: minimum IoU of a jittered box with its ground-truth box.
        boxes_per_instance: jittered boxes (samples) per instance per epoch.
        augment: random horizontal flip (left/right maps swapped) and colour
            jitter.
        category_ids: categories to train (default: all; for parts/keypoints, all
            categories that have a `parts`/`keypoints` list).
        seed: seed of every random choice; batches depend only on seed, epoch
            and index.
        workers, use_multiprocessing, max_queue_size: how `fit` parallelises the
            pipeline (`keras.utils.PyDataset`). `workers <= 1` with threads runs
            in the training loop's thread.
        small_box_weight: if set, batches are `(x, y, w)` with per-sample weight
            `w = min(1, box area / small_box_weight^2)` (area of the jittered box,
            before expansion, in image pixels): the authors' down-weighting of
            small boxes, who use 224.
        fill: pixel value of the crop outside the image.
        layout: a `MapLayout` to use instead of building one from `task` and
            `category_ids` (e.g. a trained model's).
        image_cache_mb: MiB of decoded images kept between batches (`ImageCache`,
            least recently used out; worker threads share it, each worker process
            has its own for one epoch); 0 decodes every image each time it is used.
            The batches are the same either way.

    Returns:
        `HypercolumnDataset` yielding float32 `x` `(B, H, W, 3)` RGB in [0, 255]
        and float32 `y` `(B, S, S, layout.num_maps)` in {1, 0, -1} (-1: ignored).

    Raises:
        ValueError: `data` is not COCO, or nothing is usable for the task.
    """
    coco = _coco(data, images_dir)
    layout = _layout(coco, task, category_ids, layout)
    instances, report = coco.instances(task, layout.category_ids)
    return HypercolumnDataset(
        coco,
        instances,
        layout,
        report,
        input_size=input_size,
        output_size=output_size,
        batch_size=batch_size,
        context_padding=context_padding,
        jitter=True,
        min_iou=min_iou,
        boxes_per_instance=boxes_per_instance,
        augment=augment,
        shuffle=True,
        seed=seed,
        small_box_weight=small_box_weight,
        fill=fill,
        workers=workers,
        use_multiprocessing=use_multiprocessing,
        max_queue_size=max_queue_size,
        image_cache_mb=image_cache_mb,
    )


def validation_dataset(
    data,
    images_dir=None,
    task="segmentation",
    input_size=224,
    output_size=50,
    batch_size=16,
    context_padding=box_utils.DEFAULT_CONTEXT_PADDING,
    category_ids=None,
    workers=2,
    use_multiprocessing=False,
    max_queue_size=10,
    fill=0.0,
    layout=None,
    image_cache_mb=DEFAULT_IMAGE_CACHE_MB,
):
    """Validation batches: each usable instance once, through its ground-truth box.

    No jitter, no augmentation, file order; the same every epoch. Arguments
    as in `training_dataset`; pass `layout=train.layout` so that the channels
    mean the same as in training.
    """
    coco = _coco(data, images_dir)
    layout = _layout(coco, task, category_ids, layout)
    instances, report = coco.instances(task, layout.category_ids)
    return HypercolumnDataset(
        coco,
        instances,
        layout,
        report,
        input_size=input_size,
        output_size=output_size,
        batch_size=batch_size,
        context_padding=context_padding,
        fill=fill,
        workers=workers,
        use_multiprocessing=use_multiprocessing,
        max_queue_size=max_queue_size,
        image_cache_mb=image_cache_mb,
    )


def first_samples(dataset, count):
    """The first `count` crops of a dataset and their targets.

    Args:
        dataset: a `HypercolumnDataset` (a validation one gives unaugmented crops).
        count: number of samples wanted; fewer if the dataset has fewer.

    Returns:
        float32 crops `(N, H, W, 3)` RGB in [0, 255] and targets `(N, S, S, C)`,
        `N = min(count, num_samples)`.
    """
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    crops, targets, total = [], [], 0
    for index in range(len(dataset)):
        if total >= count:
            break
        x, y = dataset[index][:2]
        crops.append(x[: count - total])
        targets.append(y[: count - total])
        total += len(crops[-1])
    return np.concatenate(crops).astype(np.float32, copy=False), np.concatenate(targets)


def representative_crops(dataset, count):
    """The first `count` input crops of a dataset, for int8 calibration:
    float32 `(min(count, num_samples), H, W, 3)` RGB in [0, 255]."""
    return first_samples(dataset, count)[0]
