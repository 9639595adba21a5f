"""Data: COCO ground truth, training samples and the `model.fit` pipeline.

- `load_image`: any image file -> uint8 RGB; `ImageCache` keeps decoded ones.
- `CocoDataset`: validated COCO JSON (with the hckeras extensions); bad
  annotations are skipped and listed in a `SkipReport`.
- `jitter_boxes`: training boxes around a ground-truth box (IoU >= 0.7).
- `training_sample`: one instance through one box -> (crop, target).
- `training_dataset`, `validation_dataset`: `keras.utils.PyDataset` batches
  for `fit` on any Keras backend; `representative_crops` for int8 calibration.
- `measure_pipeline`: the pipeline's samples per second.

The pipeline entry points import keras; they are loaded on first use so that
`import hckeras.data` stays light.
"""

import importlib

from hckeras.data.coco import SKIP_REASONS, CocoDataset, SkipReport
from hckeras.data.image_cache import ImageCache
from hckeras.data.images import load_image
from hckeras.data.jitter import jitter_boxes
from hckeras.data.targets import training_sample

_LAZY = {
    "HypercolumnDataset": "hckeras.data.dataset",
    "training_dataset": "hckeras.data.dataset",
    "validation_dataset": "hckeras.data.dataset",
    "representative_crops": "hckeras.data.dataset",
    "measure_pipeline": "hckeras.data.throughput",
}

__all__ = [
    "SKIP_REASONS",
    "CocoDataset",
    "HypercolumnDataset",
    "ImageCache",
    "SkipReport",
    "jitter_boxes",
    "load_image",
    "measure_pipeline",
    "representative_crops",
    "training_dataset",
    "training_sample",
    "validation_dataset",
]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hckeras.data' has no attribute {name!r}")
