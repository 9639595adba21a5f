"""Cached training shards: crops and targets extracted once, read from memory maps.

Cutting a crop out of a PNG costs far more than a training step of a small
model (about 140 samples/s per core on the fly). `build_shards` draws
`boxes_per_instance` jittered boxes around every usable instance once, and
stores the crops (uint8 `(N, H, W, 3)`), targets (int8 `(N, S, S, M)` in
{1, 0, -1}), boxes and categories as `.npy` files in a cache folder named by a
hash of the source data and of every option that changes a sample. `ShardDataset`
reads them through memory maps and applies the random flip and colour jitter on
the fly, so every epoch still sees new augmentations of the same boxes.

    shards = build_shards("synth/train/annotations.json", "runs/cache", task="segmentation",
                          input_size=96, output_size=32, boxes_per_instance=4)
    model.fit(ShardDataset(shards, batch_size=16), epochs=10, shuffle=False)

Safety: the folder name is a hash of the JSON file's bytes, the size and
modification time of every image and parts file it uses, and the options, so a
cache of other data or options is never read; a cache is built in a temporary
folder and renamed into place when complete (an interrupted build leaves
nothing a later run reads, and its leftovers are removed by the next build);
a full disk raises an error naming the cache folder.
"""

import concurrent.futures
import dataclasses
import errno
import hashlib
import json
import math
import os
import shutil
import tempfile
from pathlib import Path

import keras
import numpy as np

from hckeras import boxes as box_utils
from hckeras.data.augment import color_jitter, flip_horizontal
from hckeras.data.coco import CocoDataset, SkipReport
from hckeras.data.dataset import _flip_safe_categories, _layout, training_dataset
from hckeras.tasks import MapLayout

FORMAT_VERSION = 1
META_FILE = "meta.json"
ARRAYS = ("crops", "targets", "boxes", "categories")


@dataclasses.dataclass(frozen=True)
class Shards:
    """A complete cache folder, its arrays opened read-only as memory maps.

    Attributes:
        folder: the cache folder.
        meta: `meta.json` (key, options, source, counts).
        layout: the task's `MapLayout`.
        crops: uint8 `(N, H, W, 3)` RGB crops of the expanded jittered boxes.
        targets: int8 `(N, S, S, M)` targets in {1, 0, -1}.
        boxes: float32 `(N, 4)` jittered xyxy boxes (before expansion), image pixels.
        categories: int32 `(N,)` category ids.
    """

    folder: Path
    meta: dict
    layout: MapLayout
    crops: np.ndarray
    targets: np.ndarray
    boxes: np.ndarray
    categories: np.ndarray

    def __len__(self):
        return len(self.crops)


def _file_stamp(path):
    stat = os.stat(path)
    return [os.path.basename(path), stat.st_size, stat.st_mtime_ns]


def cache_key(coco, task, options, layout):
    """Hex digest of everything a cached sample depends on.

    Args:
        coco: the `CocoDataset`.
        task: the task name.
        options: dict of the sample options (sizes, padding, boxes, seed, ...).
        layout: the `MapLayout` (its channels are the targets' meaning).
    """
    digest = hashlib.sha256()
    digest.update(Path(coco.json_path).read_bytes())
    files = sorted({coco.image_path(a["image_id"]) for a in coco.annotations})
    if task == "parts":
        files += sorted(p for a in coco.annotations if (p := coco.parts_path(a)))
    stamps = [_file_stamp(f) for f in files if os.path.exists(f)]
    record = {
        "version": FORMAT_VERSION,
        "task": task,
        "options": options,
        "layout": layout.to_config(),
        "files": stamps,
    }
    digest.update(json.dumps(record, sort_keys=True).encode())
    return digest.hexdigest()


def _open(folder, meta):
    arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in ARRAYS}
    counts = {len(a) for a in arrays.values()}
    if counts != {meta["num_samples"]}:
        raise ValueError(f"training cache {folder} is inconsistent: {counts} != meta's count")
    return Shards(folder=folder, meta=meta, layout=MapLayout.from_config(meta["layout"]), **arrays)


def _read_meta(folder, key):
    """The folder's meta if it is a complete cache of `key`, else None."""
    try:
        meta = json.loads((folder / META_FILE).read_text())
    except (OSError, json.JSONDecodeError):
        return None
    if meta.get("key") != key or meta.get("version") != FORMAT_VERSION:
        return None
    return meta


def _write_range(dataset, start, stop, arrays):
    """Samples `start..stop-1` of `dataset`'s first epoch into `arrays` (the same
    random draws as `dataset[...]` with `shuffle=False`)."""
    images = {}
    for position in range(start, stop):
        rng = np.random.default_rng([dataset.seed, 0, 1, position])
        annotation = dataset.instances[position // dataset.boxes_per_instance]
        x, y, box = dataset._sample(annotation, rng, images)
        arrays["crops"][position] = np.clip(np.rint(x), 0, 255).astype(np.uint8)
        arrays["targets"][position] = y.astype(np.int8)
        arrays["boxes"][position] = box
        arrays["categories"][position] = annotation["category_id"]
    return stop - start


def _build(folder, dataset, meta, workers, chunk=64):
    n = dataset.num_samples
    (height, width), size = dataset.input_size, dataset.output_size
    shapes = {
        "crops": ((n, height, width, 3), np.uint8),
        "targets": ((n, size, size, dataset.layout.num_maps), np.int8),
        "boxes": ((n, 4), np.float32),
        "categories": ((n,), np.int32),
    }
    arrays = {
        name: np.lib.format.open_memmap(folder / f"{name}.npy", "w+", dtype, shape)
        for name, (shape, dtype) in shapes.items()
    }
    starts = range(0, n, chunk)
    with concurrent.futures.ThreadPoolExecutor(max(1, workers)) as pool:
        jobs = [pool.submit(_write_range, dataset, s, min(s + chunk, n), arrays) for s in starts]
        written = sum(job.result() for job in jobs)
    if written != n:
        raise RuntimeError(f"training cache {folder}: wrote {written} of {n} samples")
    for array in arrays.values():
        array.flush()
    del arrays
    (folder / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    for path in folder.iterdir():
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())


def _remove_leftovers(cache_dir, key):
    for path in cache_dir.glob(f".building-{key[:16]}-*"):
        shutil.rmtree(path, ignore_errors=True)


def build_shards(
    data,
    cache_dir,
    images_dir=None,
    task="segmentation",
    input_size=224,
    output_size=50,
    boxes_per_instance=4,
    min_iou=0.7,
    context_padding=box_utils.DEFAULT_CONTEXT_PADDING,
    category_ids=None,
    seed=0,
    fill=0.0,
    layout=None,
    workers=2,
    verbose=True,
):
    """Build (or reuse) the training cache of a data set; returns its `Shards`.

    Arguments as in `hckeras.data.training_dataset`; `boxes_per_instance`
    jittered boxes are drawn per instance, once. The cache folder is
    `cache_dir/<task>-<first 16 hex digits of cache_key>`.

    Raises:
        OSError: the disk is full (the message names the cache folder); the
            partial build is removed.
    """
    coco = data if isinstance(data, CocoDataset) else CocoDataset.load(data, images_dir)
    layout = _layout(coco, task, category_ids, layout)
    pair = (input_size, input_size) if np.isscalar(input_size) else tuple(input_size)
    options = {
        "input_size": [int(v) for v in pair],
        "output_size": int(output_size),
        "boxes_per_instance": int(boxes_per_instance),
        "min_iou": float(min_iou),
        "context_padding": float(context_padding),
        "seed": int(seed),
        "fill": float(fill),
    }
    key = cache_key(coco, task, options, layout)
    cache_dir = Path(cache_dir)
    folder = cache_dir / f"{task}-{key[:16]}"
    meta = _read_meta(folder, key)
    if meta is not None:
        return _open(folder, meta)
    if folder.exists():  # incomplete or foreign: never read it
        shutil.rmtree(folder)
    dataset = training_dataset(
        coco,
        task=task,
        input_size=pair,
        output_size=output_size,
        batch_size=64,
        context_padding=context_padding,
        min_iou=min_iou,
        boxes_per_instance=boxes_per_instance,
        augment=False,
        seed=seed,
        workers=0,
        fill=fill,
        layout=layout,
    )
    meta = {
        "key": key,
        "version": FORMAT_VERSION,
        "task": task,
        "source": str(coco.json_path),
        "options": options,
        "layout": layout.to_config(),
        "num_samples": dataset.num_samples,
        "skipped": dataset.report.to_dict(),
    }
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        _remove_leftovers(cache_dir, key)
        building = Path(tempfile.mkdtemp(prefix=f".building-{key[:16]}-", dir=cache_dir))
    except OSError as error:
        raise _cache_error(error, folder) from error
    if verbose:
        print(f"building training cache {folder} ({dataset.num_samples} samples)", flush=True)
    try:
        _build(building, dataset, meta, workers)
        os.replace(building, folder)
    except OSError as error:
        shutil.rmtree(building, ignore_errors=True)
        raise _cache_error(error, folder) from error
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return _open(folder, meta)


def _cache_error(error, folder):
    if error.errno == errno.ENOSPC:
        return OSError(
            errno.ENOSPC,
            f"no space left on the device while writing the training cache {folder}; "
            "free some space or pass another cache folder",
        )
    return error


def _skip_report(saved):
    """`SkipReport` from its `to_dict()` form."""
    entries = {
        reason: [(item["id"], item["detail"]) for item in items]
        for reason, items in saved["annotations"].items()
    }
    return SkipReport(entries, list(saved["missing_files"]))


class ShardDataset(keras.utils.PyDataset):
    """`model.fit` batches from `Shards`, augmented on the fly.

    Each epoch visits every cached sample once, in an order drawn from
    `(seed, epoch)`; sample `position` is flipped (categories whose maps a
    flip maps correctly, with the left/right channels swapped) with probability
    0.5 and colour-jittered, from `numpy.random.default_rng([seed, epoch, 1,
    position])`. Batches: float32 `x` `(B, H, W, 3)` in [0, 255], float32 `y`
    `(B, S, S, M)` in {1, 0, -1}, and with `small_box_weight` per-sample
    weights `min(1, box area / small_box_weight^2)`.

    Attributes `layout`, `report` (a `SkipReport` of the build), `epoch` and
    `num_samples` match `HypercolumnDataset`'s, so `hckeras.training.train`
    uses either.
    """

    def __init__(
        self,
        shards,
        batch_size=16,
        augment=True,
        seed=0,
        small_box_weight=None,
        workers=1,
        use_multiprocessing=False,
        max_queue_size=10,
    ):
        super().__init__(
            workers=workers, use_multiprocessing=use_multiprocessing, max_queue_size=max_queue_size
        )
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.shards = shards
        self.layout = shards.layout
        self.batch_size = int(batch_size)
        self.augment = augment
        self.seed = int(seed)
        self.small_box_weight = small_box_weight
        self.report = _skip_report(shards.meta["skipped"])
        self.epoch = 0
        self._permutation = self.layout.flip_permutation()
        self._flip_safe = _flip_safe_categories(self.layout)

    @property
    def num_samples(self):
        return len(self.shards)

    def __len__(self):
        return math.ceil(self.num_samples / self.batch_size)

    def on_epoch_end(self):
        self.epoch += 1

    def sample_order(self):
        return np.random.default_rng([self.seed, self.epoch, 0]).permutation(self.num_samples)

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} out of range for {len(self)} batches")
        order = self.sample_order()
        positions = range(index * self.batch_size, min((index + 1) * self.batch_size, len(order)))
        samples = order[list(positions)]
        xs = self.shards.crops[samples].astype(np.float32)
        ys = self.shards.targets[samples].astype(np.float32)
        if self.augment:
            for row, position in enumerate(positions):
                rng = np.random.default_rng([self.seed, self.epoch, 1, position])
                x, y = xs[row], ys[row]
                if int(self.shards.categories[samples[row]]) in self._flip_safe:
                    if rng.random() < 0.5:
                        x, y = flip_horizontal(x, y, self._permutation)
                xs[row], ys[row] = color_jitter(rng, x), y
        if self.small_box_weight is None:
            return xs, ys
        areas = box_utils.box_area(self.shards.boxes[samples])
        weights = np.minimum(areas / float(self.small_box_weight) ** 2, 1.0)
        return xs, ys, weights.astype(np.float32)
