"""Fixtures for the inference tests: COCO categories, specs and a tiny Keras model.

Tests reach the helpers through fixtures (`spec_for`, `halves_output`,
`segmentation_model`, `saved_segmentation_model`), never by importing this file.
The tiny model ignores its input and outputs a known pattern on an 8 x 8 grid:
channel `c` of `num_maps` is ~1 on the left half (columns 0-3) when `c` is even
and on the right half when `c` is odd, ~0 elsewhere (sigmoid(+-10)).
"""

import numpy as np
import pytest

from hckeras.model_spec import ModelSpec, spec_path
from hckeras.tasks import MapLayout

CATEGORIES = [
    {
        "id": 1,
        "name": "person",
        "supercategory": "person",
        "keypoints": ["head", "hip", "foot"],
        "skeleton": [[1, 2], [2, 3]],
        "parts": ["upper", "lower"],
    },
    {
        "id": 2,
        "name": "bird",
        "supercategory": "animal",
        "keypoints": ["beak", "tail", "foot"],
        "skeleton": [[1, 2]],
        "parts": ["head", "body"],
    },
]

OUTPUT_SIZE = 8
INPUT_SIZE = (32, 32)


def make_spec(task, categories=CATEGORIES, **overrides):
    """A ModelSpec for the tiny model: 8 x 8 heatmaps on 32 x 32 crops."""
    values = dict(
        task=task,
        layout=MapLayout.from_categories(categories, task),
        backbone="tiny",
        taps={"pool": 1},
        grid_size=1,
        output_size=OUTPUT_SIZE,
        input_size=INPUT_SIZE,
    )
    values.update(overrides)
    return ModelSpec(**values)


def half_model(num_maps):
    """Keras model (B, 32, 32, 3) -> (B, 8, 8, num_maps) with the halves pattern."""
    import keras

    inputs = keras.Input((*INPUT_SIZE, 3))
    pooled = keras.layers.AveragePooling2D(4)(inputs)
    ones_layer = keras.layers.Conv2D(1, 1)
    ones = ones_layer(pooled)
    # With "same" zero padding, the tap 4 columns to the right exists only for columns 0-3.
    left_layer = keras.layers.Conv2D(1, (1, 9), padding="same", use_bias=False)
    left = left_layer(ones)
    out_layer = keras.layers.Conv2D(num_maps, 1, activation="sigmoid")
    outputs = out_layer(left)
    model = keras.Model(inputs, outputs)
    ones_layer.set_weights([np.zeros((1, 1, 3, 1), "float32"), np.ones(1, "float32")])
    kernel = np.zeros((1, 9, 1, 1), "float32")
    kernel[0, 8, 0, 0] = 1.0
    left_layer.set_weights([kernel])
    sign = np.where(np.arange(num_maps) % 2 == 0, 1.0, -1.0).astype("float32")
    out_layer.set_weights([(20.0 * sign).reshape(1, 1, 1, num_maps), -10.0 * sign])
    return model


def halves(count, num_maps):
    """The tiny model's output, in numpy: (count, 8, 8, num_maps)."""
    left = np.zeros((OUTPUT_SIZE, OUTPUT_SIZE), "float32")
    left[:, : OUTPUT_SIZE // 2] = 1.0
    maps = [left if c % 2 == 0 else 1.0 - left for c in range(num_maps)]
    return np.broadcast_to(np.stack(maps, axis=-1), (count, OUTPUT_SIZE, OUTPUT_SIZE, num_maps))


@pytest.fixture
def categories():
    """COCO categories: person (id 1) and bird (id 2), 3 keypoints and 2 parts each."""
    return [dict(c) for c in CATEGORIES]


@pytest.fixture
def spec_for():
    """`spec_for(task, **overrides)` -> ModelSpec of the tiny model."""
    return make_spec


@pytest.fixture
def halves_output():
    """`halves_output(count, num_maps)` -> the tiny model's output in numpy."""
    return halves


@pytest.fixture(scope="session")
def segmentation_model():
    """The tiny Keras model with 2 maps: person = left half, bird = right half."""
    return half_model(len(CATEGORIES))


@pytest.fixture
def saved_segmentation_model(tmp_path, segmentation_model):
    """`tmp_path/run/model.keras`: the tiny 2-map model saved with its spec sidecar."""
    path = tmp_path / "run" / "model.keras"
    path.parent.mkdir()
    segmentation_model.save(path)
    make_spec("segmentation").save(spec_path(path))
    return path
