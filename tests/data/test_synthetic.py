"""Tests of the synthetic data set (`hckeras.data.synthetic`) and `hckeras synth`."""

import argparse
import ast
import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from hckeras.cli import synth
from hckeras.data import synthetic, synthetic_detections
from hckeras.data.synthetic_detections import box_iou
from hckeras.sds.box_nms import nms_detections

NUM_IMAGES = 8


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth")
    path = synthetic.generate(out, NUM_IMAGES, seed=0)
    return out, json.loads(path.read_text())


def _image(out, entry):
    return cv2.cvtColor(cv2.imread(str(out / entry["file_name"])), cv2.COLOR_BGR2RGB)


def _annotations_by_image(data):
    by_image = {image["id"]: [] for image in data["images"]}
    for annotation in data["annotations"]:
        by_image[annotation["image_id"]].append(annotation)
    return by_image


def _object_mask(data, image):
    masks = [
        mask_utils.decode(a["segmentation"]).astype(bool)
        for a in _annotations_by_image(data)[image["id"]]
    ]
    return np.any(masks, axis=0) if masks else np.zeros((image["height"], image["width"]), bool)


def _file_bytes(out):
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*.*"))}


def test_same_seed_gives_identical_bytes_and_other_seed_differs(tmp_path):
    first = synthetic.generate(tmp_path / "a", 2, seed=7).parent
    second = synthetic.generate(tmp_path / "b", 2, seed=7).parent
    other = synthetic.generate(tmp_path / "c", 2, seed=8).parent
    assert _file_bytes(first) == _file_bytes(second)
    assert (first / "annotations.json").read_bytes() != (other / "annotations.json").read_bytes()
    first_image = (first / "images" / "000001.png").read_bytes()
    assert first_image != (other / "images" / "000001.png").read_bytes()


def test_no_temporary_files_are_left(dataset):
    out, _ = dataset
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    assert sorted(p.name for p in out.iterdir()) == [
        "annotations.json",
        "detections_raw.json",
        "detections_simulated.json",
        "images",
        "parts",
        "region_candidates.json",
    ]


def test_json_is_coco_with_the_extensions(dataset):
    out, data = dataset
    coco = COCO(str(out / "annotations.json"))
    assert len(coco.getImgIds()) == NUM_IMAGES
    assert coco.getAnnIds()
    categories = {c["name"]: c for c in data["categories"]}
    assert {"person", "quadruped", "bird"} <= set(categories)
    assert len(categories["person"]["keypoints"]) >= 9
    assert {"head", "torso", "left_arm", "right_arm", "left_leg", "right_leg"} <= set(
        categories["person"]["parts"]
    )
    for category in data["categories"]:
        names, parts = category["keypoints"], category["parts"]
        for a, b in category["skeleton"]:
            assert 1 <= a <= len(names) and 1 <= b <= len(names)
        for i, j in category["flip_pairs"]["keypoints"]:
            assert names[i].replace("left", "right") == names[j]
        for i, j in category["flip_pairs"]["parts"]:
            assert parts[i].replace("left", "right") == parts[j]
        assert all(name in names for group in category["torso"] for name in group)
    assert categories["bird"]["flip_pairs"]["parts"] == [[2, 3]]
    for image in data["images"]:
        assert 256 <= image["width"] <= 320 and 256 <= image["height"] <= 320
        assert (out / image["file_name"]).is_file()
    assert {a["category_id"] for a in data["annotations"]} == {c["id"] for c in data["categories"]}


def test_masks_match_area_and_bbox_and_do_not_overlap(dataset):
    _, data = dataset
    images = {image["id"]: image for image in data["images"]}
    for image_id, annotations in _annotations_by_image(data).items():
        covered = np.zeros((images[image_id]["height"], images[image_id]["width"]), int)
        for annotation in annotations:
            mask = mask_utils.decode(annotation["segmentation"]).astype(bool)
            assert mask.shape == covered.shape
            assert mask.sum() == annotation["area"] >= 300
            assert annotation["iscrowd"] == 0
            rows, cols = np.nonzero(mask)
            x, y, w, h = annotation["bbox"]
            assert (x, y, x + w, y + h) == (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1)
            covered += mask
        assert covered.max() <= 1


def test_keypoints_visibility_and_position(dataset):
    _, data = dataset
    images = {image["id"]: image for image in data["images"]}
    categories = {c["id"]: c for c in data["categories"]}
    visibility = []
    for annotation in data["annotations"]:
        image = images[annotation["image_id"]]
        keypoints = np.array(annotation["keypoints"], float).reshape(-1, 3)
        assert len(keypoints) == len(categories[annotation["category_id"]]["keypoints"])
        assert annotation["num_keypoints"] == np.count_nonzero(keypoints[:, 2] > 0)
        x, y, v = keypoints.T
        assert set(v) <= {0, 1, 2}
        assert np.all(x[v == 0] == 0) and np.all(y[v == 0] == 0)
        labelled = v > 0
        assert np.all((x[labelled] >= 0) & (x[labelled] < image["width"]))
        assert np.all((y[labelled] >= 0) & (y[labelled] < image["height"]))
        mask = mask_utils.decode(annotation["segmentation"]).astype(np.uint8)
        distance = cv2.distanceTransform(1 - mask, cv2.DIST_L2, 5)
        for px, py in keypoints[v == 2, :2]:
            assert distance[int(py), int(px)] <= 2.0, (annotation["id"], px, py)
        visibility += list(v)
    assert {0, 1, 2} <= set(visibility)


def test_parts_files_cover_the_visible_mask(dataset):
    out, data = dataset
    categories = {c["id"]: c for c in data["categories"]}
    for annotation in data["annotations"]:
        assert annotation["parts_file"] == f"parts/{annotation['id']}.png"
        parts = cv2.imread(str(out / annotation["parts_file"]), cv2.IMREAD_UNCHANGED)
        mask = mask_utils.decode(annotation["segmentation"]).astype(bool)
        assert parts.dtype == np.uint8 and parts.shape == mask.shape
        np.testing.assert_array_equal(parts > 0, mask)
        assert parts.max() <= len(categories[annotation["category_id"]]["parts"])


def test_instances_have_reasonable_sizes(dataset):
    _, data = dataset
    sides = np.array([max(a["bbox"][2:]) for a in data["annotations"]])
    assert 2 * NUM_IMAGES <= len(sides) <= 5 * NUM_IMAGES
    assert np.mean((sides >= 40) & (sides <= 220)) >= 0.8


def test_detections_mix_good_and_bad_boxes(dataset):
    out, data = dataset
    detections = json.loads((out / "detections_simulated.json").read_text())
    assert isinstance(detections, list) and detections
    image_ids = {image["id"] for image in data["images"]}
    by_image = _annotations_by_image(data)
    best = []
    for detection in detections:
        assert set(detection) == {"image_id", "category_id", "bbox", "score"}
        assert detection["image_id"] in image_ids
        assert 0.0 < detection["score"] < 1.0
        assert detection["bbox"][2] > 0 and detection["bbox"][3] > 0
        same = [
            a["bbox"]
            for a in by_image[detection["image_id"]]
            if a["category_id"] == detection["category_id"]
        ]
        best.append(max([box_iou(detection["bbox"], box) for box in same], default=0.0))
    best, scores = np.array(best), np.array([d["score"] for d in detections])
    good = best >= 0.5
    assert good.mean() >= 0.5 and (~good).sum() >= 2
    assert scores[good].mean() > scores[~good].mean()


def test_detections_are_the_box_nms_of_the_raw_pool(dataset):
    out, _ = dataset
    raw = json.loads((out / "detections_raw.json").read_text())
    detections = json.loads((out / "detections_simulated.json").read_text())
    assert len(raw) >= 3 * len(detections)
    expected = [
        d
        for d in nms_detections(raw, synthetic_detections.NMS_THRESHOLD)
        if d["score"] >= synthetic_detections.DETECTION_MIN_SCORE
    ]
    assert detections == expected
    # Every raw box that is not a detection was suppressed by a detection of its image
    # and category that overlaps it by >= the NMS threshold and scores at least as high,
    # or scores below the detector's floor.
    for entry in raw:
        if entry in detections or entry["score"] < synthetic_detections.DETECTION_MIN_SCORE:
            continue
        assert any(
            d["image_id"] == entry["image_id"]
            and d["category_id"] == entry["category_id"]
            and d["score"] >= entry["score"]
            and box_iou(d["bbox"], entry["bbox"]) >= synthetic_detections.NMS_THRESHOLD
            for d in detections
        ), entry


def test_raw_pool_has_several_boxes_per_object_and_background_boxes(dataset):
    out, data = dataset
    raw = json.loads((out / "detections_raw.json").read_text())
    by_image = _annotations_by_image(data)
    per_object = []
    for image_id, annotations in by_image.items():
        for annotation in annotations:
            near = [
                r
                for r in raw
                if r["image_id"] == image_id
                and r["category_id"] == annotation["category_id"]
                and box_iou(r["bbox"], annotation["bbox"]) >= 0.5
            ]
            per_object.append(len(near))
    per_object = np.array(per_object)
    # Most objects are found by a cluster of boxes; about MISS_RATE get none.
    assert np.median(per_object) >= 3
    assert 0.0 < np.mean(per_object == 0) < 0.35
    low = [r for r in raw if r["score"] < synthetic_detections.DETECTION_MIN_SCORE]
    assert len(low) >= 4 * NUM_IMAGES
    assert all(0.0 < r["score"] < 1.0 and r["bbox"][2] > 0 for r in raw)


def test_raw_pool_of_one_object_by_hand():
    gt = [(1, [40.0, 50.0, 60.0, 80.0])]
    raw = synthetic_detections.simulate_raw_pool(
        np.random.default_rng(3), np.random.default_rng(4), 7, gt, [], 256, 256, [1, 2]
    )
    again = synthetic_detections.simulate_raw_pool(
        np.random.default_rng(3), np.random.default_rng(4), 7, gt, [], 256, 256, [1, 2]
    )
    assert raw == again
    assert all(r["image_id"] == 7 for r in raw)
    # The anchors come from the first generator exactly as a pool-free simulator draws them.
    anchors = synthetic_detections._anchors(np.random.default_rng(3), 7, gt, [], 256, 256, [1, 2])
    assert all(anchor in raw for anchor in anchors)
    detections = synthetic_detections.simulate_detections(raw)
    assert all(d in raw for d in detections)
    assert len(detections) < len(raw)


def _oracle_color_iou(image, mask, bins=8):
    """IoU of the best per-image colour classifier (a 3D colour histogram that knows the truth)."""
    q = image.astype(int) // (256 // bins)
    index = (q[..., 0] * bins + q[..., 1]) * bins + q[..., 2]
    inside = np.bincount(index[mask], minlength=bins**3)
    outside = np.bincount(index[~mask], minlength=bins**3)
    chosen = inside > outside
    true_positive = inside[chosen].sum()
    return true_positive / (inside.sum() + outside[chosen].sum())


def test_oracle_color_iou_is_one_for_flat_objects_on_a_plain_background():
    image = np.full((64, 64, 3), (90, 140, 60), np.uint8)
    mask = np.zeros((64, 64), bool)
    mask[10:30, 20:40] = True
    image[mask] = (200, 40, 40)
    assert _oracle_color_iou(image, mask) == 1.0


def test_color_alone_does_not_separate_objects_from_background(dataset):
    out, data = dataset
    ious = [
        _oracle_color_iou(_image(out, image), _object_mask(data, image)) for image in data["images"]
    ]
    assert np.median(ious) < 0.7, ious


def test_bad_arguments_raise_value_error(tmp_path):
    with pytest.raises(ValueError, match="num_images"):
        synthetic.generate(tmp_path, -1)
    with pytest.raises(ValueError, match="seed"):
        synthetic.generate(tmp_path, 1, seed=-3)
    with pytest.raises(ValueError, match="image_size_range"):
        synthetic.generate(tmp_path, 1, image_size_range=(300, 200))
    for workers in (0, True, 1.5):
        with pytest.raises(ValueError, match="workers must be an integer >= 1"):
            synthetic.generate(tmp_path, 1, workers=workers)


def test_workers_write_the_same_bytes_as_one_process(tmp_path):
    # 5 images over 2 spawned processes: chunks of one image, returned out of order
    # or not, the annotation ids, parts files and detections must come out the same.
    size = (96, 128)
    one = synthetic.generate(tmp_path / "one", 5, seed=4, image_size_range=size).parent
    two = synthetic.generate(tmp_path / "two", 5, seed=4, image_size_range=size, workers=2).parent
    files = _file_bytes(one)
    assert files == _file_bytes(two)
    data = json.loads(files["annotations.json"])
    assert [a["id"] for a in data["annotations"]] == list(range(1, len(data["annotations"]) + 1))
    assert len({a["image_id"] for a in data["annotations"]}) > 1


def test_default_workers_is_the_cpus_this_process_may_use():
    assert 1 <= synthetic.default_workers() <= (os.cpu_count() or 1)


def test_cli_writes_a_data_set(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    synth.register(parser.add_subparsers(dest="command"))
    out = tmp_path / "cli"
    args = parser.parse_args(
        ["synth", "--out", str(out), "--images", "2", "--seed", "3", "--size", "64", "96"]
        + ["--workers", "2"]
    )
    assert args.func(args) == 0
    data = json.loads((out / "annotations.json").read_text())
    assert len(data["images"]) == 2
    assert all(64 <= image["width"] <= 96 for image in data["images"])
    assert "wrote 2 images" in capsys.readouterr().out


def test_generator_modules_import_no_deep_learning_framework():
    allowed = {"numpy", "cv2", "pycocotools", "hckeras", "colorsys", "dataclasses", "json"}
    allowed |= {"os", "tempfile", "pathlib", "functools", "multiprocessing", "concurrent"}
    folder = Path(synthetic.__file__).parent
    for path in sorted(folder.glob("synthetic*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module]
            else:
                continue
            assert {name.split(".")[0] for name in names} <= allowed, (path.name, names)
