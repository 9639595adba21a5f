"""Fixtures for the System 2 tests: a mask model whose masks are its boxes, and a tiny
COCO data set of rectangles with a raw pool whose candidates have hand-computed overlaps.

The mask model is the tiny backbone (32 x 32 crops, fc7 named "fc7") with a head whose
weights are 0 and bias +10: every heatmap pixel is ~1, so with context padding 0 the mask
of a box with integer corners is exactly that box's pixels.

Each image has one rectangle object [10, 10, 40, 40] (category 1) and the raw pool
A = the object's box (IoU 1, score 0.9), B shifted 3 px (IoU 27/33 = 0.82 with A, 0.8),
C shifted 8 px (IoU 22/38 = 0.58, 0.6) and D shifted 15 px (IoU 15/45 = 0.33, 0.5).
Box NMS at 0.5 keeps A and D; expansion adds C (0.58 < 0.7) but not B (0.82 >= 0.7).
"""

import json

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils

from hckeras.model_spec import ModelSpec, spec_path
from hckeras.tasks import MapLayout

CATEGORIES = [
    {"id": 1, "name": "box", "supercategory": "shape"},
    {"id": 2, "name": "disc", "supercategory": "shape"},
]
SIZE = 64
OBJECT = [10, 10, 40, 40]
RAW = [([10, 10, 40, 40], 0.9), ([13, 10, 43, 40], 0.8), ([18, 10, 48, 40], 0.6),
       ([25, 10, 55, 40], 0.5)]  # fmt: skip


def box_mask_model(num_maps=2):
    """The tiny backbone with an all-ones head: (B, 32, 32, 3) -> (B, 8, 8, num_maps)."""
    import keras

    from hckeras.backbones import build_backbone

    backbone = build_backbone("tiny", input_size=32, width=4)
    x = keras.layers.Dense(8 * 8 * num_maps, name="head")(backbone.model.output)
    x = keras.layers.Reshape((8, 8, num_maps), name="maps")(x)
    x = keras.layers.Activation("sigmoid", name="probabilities")(x)
    model = keras.Model(backbone.model.input, x, name="box_masks")
    head = model.get_layer("head")
    kernel, bias = head.get_weights()
    head.set_weights([np.zeros_like(kernel), np.full_like(bias, 10.0)])
    return model


def mask_spec(categories=CATEGORIES, backbone="tiny"):
    return ModelSpec(
        task="segmentation",
        layout=MapLayout.from_categories(categories, "segmentation"),
        backbone=backbone,
        taps={"fc7": 1},
        grid_size=1,
        output_size=8,
        input_size=(32, 32),
        context_padding=0.0,
    )


@pytest.fixture(scope="session")
def mask_model_path(tmp_path_factory):
    """Path of the saved box-mask model (.keras) with its spec sidecar."""
    from hckeras.io import save_model_atomic

    path = tmp_path_factory.mktemp("mask") / "model.keras"
    save_model_atomic(box_mask_model(), path)
    mask_spec().save(spec_path(path))
    return path


def _rle(mask):
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")}


def _xywh(box):
    return [box[0], box[1], box[2] - box[0], box[3] - box[1]]


@pytest.fixture(scope="session")
def rect_dataset(tmp_path_factory):
    """Folder with images/, annotations.json and detections_raw.json (two images)."""
    out = tmp_path_factory.mktemp("rects")
    (out / "images").mkdir()
    rng = np.random.default_rng(0)
    images, annotations, raw = [], [], []
    for image_id in (1, 2):
        name = f"images/{image_id:06d}.png"
        cv2.imwrite(str(out / name), rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8))
        images.append({"id": image_id, "file_name": name, "width": SIZE, "height": SIZE})
        mask = np.zeros((SIZE, SIZE), bool)
        mask[OBJECT[1] : OBJECT[3], OBJECT[0] : OBJECT[2]] = True
        annotations.append(
            {
                "id": image_id,
                "image_id": image_id,
                "category_id": 1,
                "bbox": _xywh(OBJECT),
                "area": int(mask.sum()),
                "iscrowd": 0,
                "segmentation": _rle(mask),
            }
        )
        raw += [
            {"image_id": image_id, "category_id": 1, "bbox": _xywh(box), "score": score}
            for box, score in RAW
        ]
    gt = {"images": images, "annotations": annotations, "categories": CATEGORIES}
    (out / "annotations.json").write_text(json.dumps(gt))
    (out / "detections_raw.json").write_text(json.dumps(raw))
    return out


@pytest.fixture(scope="session")
def make_mask_model():
    """`make_mask_model()` -> a new box-mask Keras model (random backbone weights)."""
    return box_mask_model


@pytest.fixture(scope="session")
def make_mask_spec():
    """`make_mask_spec(categories=..., backbone=...)` -> the box-mask model's ModelSpec."""
    return mask_spec


@pytest.fixture
def categories():
    """The data set's two categories (ids 1 and 2)."""
    return [dict(c) for c in CATEGORIES]
