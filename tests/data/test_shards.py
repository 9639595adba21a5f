import errno
import json

import numpy as np
import pytest

from hckeras.data import shards as shards_module
from hckeras.data.dataset import training_dataset
from hckeras.data.shards import ShardDataset, build_shards
from hckeras.data.synthetic import generate


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("synth"), 3, seed=11)


def _build(data, cache, **kwargs):
    options = dict(task="segmentation", input_size=32, output_size=8, boxes_per_instance=2)
    return build_shards(str(data), cache, verbose=False, **{**options, **kwargs})


def test_cached_samples_equal_the_on_the_fly_pipeline(synthetic, tmp_path):
    shards = _build(synthetic, tmp_path, seed=4)
    reference = training_dataset(
        str(synthetic),
        input_size=32,
        output_size=8,
        boxes_per_instance=2,
        seed=4,
        augment=False,
        workers=0,
        batch_size=1000,
    )
    reference.shuffle = False  # the cache stores the first epoch's draws in sample order
    x, y = reference[0]
    assert len(shards) == reference.num_samples == len(x)
    assert np.abs(shards.crops.astype(np.float32) - x).max() <= 0.5  # uint8 rounding only
    np.testing.assert_array_equal(shards.targets, y.astype(np.int8))
    ids = [reference.instances[i // 2]["category_id"] for i in range(len(x))]
    np.testing.assert_array_equal(shards.categories, ids)


def test_cache_is_reused_for_the_same_data_and_options(synthetic, tmp_path, monkeypatch):
    first = _build(synthetic, tmp_path)
    calls = []
    monkeypatch.setattr(shards_module, "_build", lambda *a, **k: calls.append(a))
    again = _build(synthetic, tmp_path)
    assert again.folder == first.folder and calls == []


def test_other_options_or_data_get_another_cache(synthetic, tmp_path):
    first = _build(synthetic, tmp_path)
    assert _build(synthetic, tmp_path, boxes_per_instance=3).folder != first.folder
    assert _build(synthetic, tmp_path, seed=1).folder != first.folder
    changed = json.loads(synthetic.read_text())
    changed["annotations"] = changed["annotations"][:-1]
    edited = synthetic.parent / "edited.json"
    edited.write_text(json.dumps(changed))
    other = build_shards(
        str(edited), tmp_path, input_size=32, output_size=8, boxes_per_instance=2, verbose=False
    )
    assert other.folder != first.folder and len(other) == len(first) - 2


def test_foreign_meta_in_the_folder_is_rebuilt(synthetic, tmp_path):
    first = _build(synthetic, tmp_path)
    meta = json.loads((first.folder / "meta.json").read_text())
    (first.folder / "meta.json").write_text(json.dumps({**meta, "key": "0" * 64}))
    rebuilt = _build(synthetic, tmp_path)
    assert json.loads((rebuilt.folder / "meta.json").read_text())["key"] == meta["key"]


def test_interrupted_build_leaves_nothing_that_is_read(synthetic, tmp_path, monkeypatch):
    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(shards_module, "_write_range", crash)
    with pytest.raises(KeyboardInterrupt):
        _build(synthetic, tmp_path)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    assert len(_build(synthetic, tmp_path)) > 0


def test_full_disk_names_the_cache_folder(synthetic, tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(shards_module, "_write_range", full)
    with pytest.raises(OSError, match=r"no space left.*training cache .*segmentation-"):
        _build(synthetic, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_shard_dataset_augments_reproducibly_and_reorders_each_epoch(synthetic, tmp_path):
    shards = _build(synthetic, tmp_path)
    dataset = ShardDataset(shards, batch_size=4, seed=2)
    x0, y0 = dataset[0]
    x1, y1 = ShardDataset(shards, batch_size=4, seed=2)[0]
    np.testing.assert_array_equal(x0, x1)
    np.testing.assert_array_equal(y0, y1)
    assert x0.dtype == np.float32 and set(np.unique(y0)) <= {-1.0, 0.0, 1.0}
    first = dataset.sample_order()
    dataset.on_epoch_end()
    assert sorted(dataset.sample_order()) == sorted(first)
    assert list(dataset.sample_order()) != list(first)
    plain = ShardDataset(shards, batch_size=len(shards), augment=False)
    x, y = plain[0]
    order = plain.sample_order()
    np.testing.assert_array_equal(x, shards.crops[order].astype(np.float32))
    np.testing.assert_array_equal(y, shards.targets[order].astype(np.float32))


def test_small_box_weights_come_from_the_cached_boxes(synthetic, tmp_path):
    shards = _build(synthetic, tmp_path)
    dataset = ShardDataset(shards, batch_size=len(shards), augment=False, small_box_weight=100)
    _, _, weights = dataset[0]
    boxes = shards.boxes[dataset.sample_order()]
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    np.testing.assert_allclose(weights, np.minimum(areas / 100**2, 1.0), rtol=1e-6)
