import json
import os
import subprocess
import sys

import numpy as np
import pytest

from hckeras.data.coco import CocoDataset
from hckeras.data.dataset import (
    first_samples,
    representative_crops,
    training_dataset,
    validation_dataset,
)
from hckeras.data.targets import training_sample
from hckeras.data.throughput import measure_pipeline

SIZES = {"input_size": 16, "output_size": 8}


def _batches(dataset):
    return [dataset[i] for i in range(len(dataset))]


@pytest.mark.parametrize(("task", "maps"), [("segmentation", 2), ("parts", 3), ("keypoints", 3)])
def test_batches_have_the_right_shapes_and_values(coco_json, task, maps):
    dataset = training_dataset(coco_json, task=task, batch_size=2, **SIZES)
    assert dataset.layout.num_maps == maps
    for x, y in _batches(dataset):
        assert x.dtype == np.float32 and y.dtype == np.float32
        assert x.shape[1:] == (16, 16, 3) and y.shape[1:] == (8, 8, maps)
        assert x.min() >= 0 and x.max() <= 255
        assert set(np.unique(y)) <= {1.0, 0.0, -1.0}


def test_last_partial_batch(coco_json):
    dataset = training_dataset(coco_json, batch_size=2, **SIZES)
    assert dataset.num_samples == 5 and len(dataset) == 3
    assert [len(x) for x, _ in _batches(dataset)] == [2, 2, 1]
    with pytest.raises(IndexError):
        dataset[3]
    doubled = training_dataset(coco_json, batch_size=4, boxes_per_instance=2, **SIZES)
    assert [len(x) for x, _ in _batches(doubled)] == [4, 4, 2]


def test_deterministic_for_a_seed_and_new_each_epoch(coco_json):
    first = _batches(training_dataset(coco_json, batch_size=2, seed=3, **SIZES))
    dataset = training_dataset(CocoDataset.load(coco_json), batch_size=2, seed=3, **SIZES)
    for (x1, y1), (x2, y2) in zip(first, _batches(dataset), strict=True):
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(y1, y2)
    dataset.on_epoch_end()
    assert dataset.epoch == 1
    second = _batches(dataset)
    assert not np.array_equal(
        np.concatenate([b[0] for b in first]), np.concatenate([b[0] for b in second])
    )
    other_seed = _batches(training_dataset(coco_json, batch_size=2, seed=4, **SIZES))
    assert not np.array_equal(first[0][0], other_seed[0][0])


def test_threads_give_the_same_batches(coco_json):
    from keras.src.trainers.data_adapters.py_dataset_adapter import PyDatasetAdapter

    dataset = training_dataset(coco_json, batch_size=2, workers=2, **SIZES)
    adapter = PyDatasetAdapter(dataset)
    adapter.on_epoch_begin()
    batches = list(adapter.get_numpy_iterator())
    adapter.on_epoch_end()
    for (x1, y1), (x2, y2) in zip(
        batches, _batches(training_dataset(coco_json, batch_size=2, **SIZES)), strict=True
    ):
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(y1, y2)
    assert dataset.epoch == 1


def test_validation_uses_ground_truth_boxes(coco_json):
    dataset = validation_dataset(coco_json, task="keypoints", batch_size=4, **SIZES)
    assert [a["id"] for a in dataset.instances] == [2, 5]
    x, y = dataset[0]
    coco = dataset.coco
    person = coco.annotations[1]
    x0, y0 = training_sample(coco, person, coco.box(person), dataset.layout, 16, 8)
    np.testing.assert_array_equal(x[0], x0)
    np.testing.assert_array_equal(y[0], y0)
    dataset.on_epoch_end()
    np.testing.assert_array_equal(dataset[0][0], x)


def test_report_layout_and_category_selection(coco_data, write_json):
    data = coco_data[1]
    data["annotations"][0]["bbox"] = [0, 0, 0, 0]
    dataset = training_dataset(write_json(data), category_ids=[1], **SIZES)
    assert dataset.layout.category_ids == (1,)
    assert dataset.report.annotation_ids == {
        "invalid_bbox": [1],
        "category_not_selected": [2, 5],
    }
    assert len(dataset.instances) == 2
    train = training_dataset(write_json(data), task="parts", **SIZES)
    assert train.layout.category_ids == (2,)
    validation = validation_dataset(
        CocoDataset.load(write_json(data)), task="parts", layout=train.layout, **SIZES
    )
    assert validation.layout == train.layout


def test_small_box_weights(coco_json):
    dataset = validation_dataset(coco_json, batch_size=5, **SIZES)
    dataset.small_box_weight = 20
    x, y, w = dataset[0]
    assert w.dtype == np.float32 and w.shape == (5,)
    # Areas 400, 600, 255, 60, 600 over 20^2, capped at 1.
    np.testing.assert_allclose(w, [1.0, 1.0, 255 / 400, 60 / 400, 1.0])
    weighted = training_dataset(coco_json, small_box_weight=224, **SIZES)
    assert len(weighted[0]) == 3 and np.all(weighted[0][2] <= 1)


def test_representative_crops(coco_json):
    dataset = validation_dataset(coco_json, batch_size=2, **SIZES)
    crops = representative_crops(dataset, 3)
    assert crops.shape == (3, 16, 16, 3) and crops.dtype == np.float32
    np.testing.assert_array_equal(crops[2], dataset[1][0][0])
    assert len(representative_crops(dataset, 50)) == 5


def test_first_samples_pairs_crops_with_their_targets(coco_json):
    dataset = validation_dataset(coco_json, batch_size=2, **SIZES)
    crops, targets = first_samples(dataset, 3)
    assert crops.shape == (3, 16, 16, 3) and targets.shape == (3, 8, 8, 2)
    np.testing.assert_array_equal(targets[2], dataset[1][1][0])
    with pytest.raises(ValueError, match="count must be >= 1"):
        first_samples(dataset, 0)


def test_measure_pipeline(coco_json):
    dataset = training_dataset(coco_json, batch_size=1, workers=2, **SIZES)
    assert measure_pipeline(dataset, batches=3) > 0
    assert dataset.epoch == 0
    with pytest.raises(ValueError, match="5 batches"):
        measure_pipeline(dataset, batches=5)


def test_no_tensorflow_import_on_jax(coco_json):
    script = (
        "import sys, json\n"
        "from hckeras.data.dataset import training_dataset\n"
        "x, y = training_dataset(sys.argv[1], task='keypoints', input_size=16, output_size=8)[0]\n"
        "print(json.dumps({'tf': any(m.split('.')[0] == 'tensorflow' for m in sys.modules),"
        " 'shape': list(y.shape)}))\n"
    )
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    result = subprocess.run(
        [sys.executable, "-c", script, str(coco_json)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"tf": False, "shape": [2, 8, 8, 3]}


def test_image_cache_changes_speed_not_batches(coco_json):
    cached = training_dataset(coco_json, batch_size=2, boxes_per_instance=2, **SIZES)
    uncached = training_dataset(
        coco_json, batch_size=2, boxes_per_instance=2, image_cache_mb=0, **SIZES
    )
    uses = 0  # (batch, image) pairs: a batch reads each of its images once
    for _ in range(2):
        for (x1, y1), (x2, y2) in zip(_batches(cached), _batches(uncached), strict=True):
            np.testing.assert_array_equal(x1, x2)
            np.testing.assert_array_equal(y1, y2)
        order = cached.sample_order() // cached.boxes_per_instance
        for start in range(0, len(order), cached.batch_size):
            batch = order[start : start + cached.batch_size]
            uses += len({cached.instances[i]["image_id"] for i in batch})
        cached.on_epoch_end()
        uncached.on_epoch_end()
    # The two images are decoded once in two epochs; every other use is a hit.
    assert (cached.image_cache.misses, len(cached.image_cache)) == (2, 2)
    assert cached.image_cache.hits == uses - 2 > 0
    assert len(uncached.image_cache) == 0 and uncached.image_cache.hits == 0
    with pytest.raises(ValueError, match="image_cache_mb must be >= 0, got -1"):
        validation_dataset(coco_json, image_cache_mb=-1, **SIZES)
