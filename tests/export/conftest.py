"""Fixtures of the export tests: a tiny hypercolumn model trained on synthetic data.

The trained runs are built once per session (about 20 s each on 2 CPU cores) and
saved as `model.keras` + `model.json`; tests load it from disk, so the
per-test `clear_session` of tests/conftest.py does not affect them.
"""

from types import SimpleNamespace

import pytest

INPUT_SIZE, OUTPUT_SIZE, GRID_SIZE = 64, 16, 4


def tiny_spec(num_maps=2, input_size=INPUT_SIZE, output_size=OUTPUT_SIZE, grid_size=GRID_SIZE):
    from hckeras.model_spec import ModelSpec
    from hckeras.tasks import MapLayout

    ids = tuple(range(1, num_maps + 1))
    layout = MapLayout(
        task="segmentation",
        category_ids=ids,
        category_names=tuple(f"c{i}" for i in ids),
        map_names_per_category=tuple((f"c{i}",) for i in ids),
    )
    return ModelSpec(
        task="segmentation",
        layout=layout,
        backbone="tiny",
        taps={"fc7": 1, "conv4": 1, "pool2": 3},
        grid_size=grid_size,
        output_size=output_size,
        input_size=(input_size, input_size),
    )


@pytest.fixture
def make_spec():
    """`tiny_spec(num_maps=2, ...)`: a segmentation `ModelSpec` for a tiny model."""
    return tiny_spec


def train_run(root, task, epochs, seed=3):
    """Synthetic data, a tiny model trained on it for `task`, saved with its spec."""
    import keras

    from hckeras import build_hypercolumn_model
    from hckeras.data.dataset import (
        first_samples,
        representative_crops,
        training_dataset,
        validation_dataset,
    )
    from hckeras.data.synthetic import generate
    from hckeras.losses import HypercolumnLoss
    from hckeras.model_spec import ModelSpec

    keras.utils.set_random_seed(seed)
    train_json = generate(root / "train", 32, seed=1, image_size_range=(128, 160))
    val_json = generate(root / "val", 32, seed=2, image_size_range=(128, 160))
    common = {"task": task, "input_size": INPUT_SIZE, "output_size": OUTPUT_SIZE}
    train = training_dataset(train_json, batch_size=16, workers=1, **common)
    layout = train.layout
    calibration = validation_dataset(train_json, batch_size=32, workers=1, layout=layout, **common)
    held_out = validation_dataset(val_json, batch_size=32, workers=1, layout=layout, **common)
    model = build_hypercolumn_model(
        "tiny", grid_size=GRID_SIZE, num_maps=layout.num_maps, output_size=OUTPUT_SIZE
    )
    model.compile(keras.optimizers.Adam(3e-3), loss=HypercolumnLoss(GRID_SIZE, OUTPUT_SIZE))
    model.fit(train, epochs=epochs, verbose=0)
    model_path = root / "model.keras"
    model.save(model_path)
    spec = ModelSpec(
        task=task,
        layout=layout,
        backbone="tiny",
        taps={"fc7": 1, "conv4": 1, "pool2": 3},
        grid_size=GRID_SIZE,
        output_size=OUTPUT_SIZE,
        input_size=(INPUT_SIZE, INPUT_SIZE),
    )
    spec.save(root / "model.json")
    crops, targets = first_samples(held_out, 96)
    return SimpleNamespace(
        root=root,
        task=task,
        model_path=model_path,
        spec=spec,
        train=train,
        train_json=train_json,
        val_json=val_json,
        calibration_crops=representative_crops(calibration, 64),
        held_out_crops=crops,
        held_out_targets=targets,
    )


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    """A segmentation model (masks: the IoU floors)."""
    return train_run(tmp_path_factory.mktemp("export_segmentation"), "segmentation", epochs=15)


@pytest.fixture(scope="session")
def keypoint_run(tmp_path_factory):
    """A keypoint model (peaked maps: the argmax floors)."""
    return train_run(tmp_path_factory.mktemp("export_keypoints"), "keypoints", epochs=15)
