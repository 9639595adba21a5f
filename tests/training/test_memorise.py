"""Can the default recipe learn at all? It must memorise 16 crops.

If this fails, something between crops, targets, loss, the model and paste-back
is wrong, and no amount of tuning will make the demo learn.
"""

import json

import keras
import numpy as np
import pytest

from hckeras.backbones import build_backbone
from hckeras.data.shards import ShardDataset, build_shards
from hckeras.data.synthetic import generate
from hckeras.inference.paste import full_image, paste_mask
from hckeras.inference.predictor import Predictor
from hckeras.model_spec import ModelSpec
from hckeras.models import probability_model
from hckeras.training import TrainConfig
from hckeras.training.run import compiled_model

STEPS = 1200


def target_grid(targets, channels, row):
    """The target mask of sample `row` as 0/1 probabilities `(S, S)`."""
    return (targets[row][..., channels[row]] > 0).astype(np.float32)


def _iou(a, b):
    return np.logical_and(a, b).sum() / max(np.logical_or(a, b).sum(), 1)


@pytest.mark.slow
def test_default_recipe_memorises_sixteen_crops(tmp_path):
    data = generate(tmp_path / "synth", 8, seed=3)
    gt = json.loads(data.read_text())
    gt["annotations"] = gt["annotations"][:16]
    subset = data.parent / "sixteen.json"
    subset.write_text(json.dumps(gt))
    config = TrainConfig.from_preset("synthetic-cpu", data=str(subset), epochs=STEPS)
    shards = build_shards(
        subset,
        tmp_path / "cache",
        input_size=config.input_size,
        output_size=config.output_size,
        boxes_per_instance=1,
        verbose=False,
    )
    assert len(shards) == 16
    keras.utils.set_random_seed(0)
    backbone = build_backbone(config.backbone, None, config.input_size, **config.backbone_options)
    model = compiled_model(config, backbone, shards.layout.num_maps, steps_per_epoch=1)
    crops = ShardDataset(shards, batch_size=16, augment=False)
    history = model.fit(crops, epochs=STEPS, shuffle=False, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0] / 4

    # On the grid: the inference-mode model (moving batch-norm statistics).
    x, y = shards.crops.astype(np.float32), shards.targets
    probabilities = probability_model(model).predict(x, verbose=0)
    channels = [int(np.flatnonzero((t >= 0).any(axis=(0, 1)))[0]) for t in y]
    grid = [
        _iou(p[..., c] >= 0.5, t[..., c] > 0)
        for p, t, c in zip(probabilities, y, channels, strict=True)
    ]
    assert np.mean(grid) >= 0.9

    # In the image: the same boxes through Predictor's crop and paste-back, against
    # the best an S x S grid can do: the target grid itself pasted the same way.
    spec = ModelSpec(
        task="segmentation",
        layout=shards.layout,
        backbone=config.backbone,
        taps=config.taps,
        grid_size=config.grid_size,
        output_size=config.output_size,
        input_size=(config.input_size, config.input_size),
    )
    predictor = Predictor(model, spec)
    from hckeras.data.coco import CocoDataset
    from hckeras.data.images import load_image

    coco = CocoDataset.load(subset)
    pasted, ceiling = [], []
    for annotation, box in zip(coco.annotations, shards.boxes, strict=True):
        image = load_image(coco.image_path(annotation["image_id"]))
        detection = {
            "bbox": [box[0], box[1], box[2] - box[0], box[3] - box[1]],
            "category_id": annotation["category_id"],
            "score": 1.0,
        }
        (result,) = predictor.predict(image, [detection])
        inside = np.zeros(image.shape[:2], bool)
        x0, y0, x1, y1 = np.round(result["expanded_box"]).astype(int)
        inside[max(y0, 0) : y1, max(x0, 0) : x1] = True
        truth = (coco.mask(annotation) > 0) & inside
        pasted.append(_iou(full_image(result, "mask") & inside, truth))
        _, grid_mask = paste_mask(
            target_grid(y, channels, len(pasted) - 1), result["expanded_box"], image.shape[:2]
        )
        ceiling.append(_iou(grid_mask & inside, truth))
    assert np.mean(pasted) >= 0.9 * np.mean(ceiling)
