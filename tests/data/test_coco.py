import json

import numpy as np
import pytest

from hckeras.data.coco import SKIP_REASONS, CocoDataset


def annotation(data, annotation_id):
    return next(a for a in data["annotations"] if a["id"] == annotation_id)


def test_valid_file_keeps_every_annotation(coco_json):
    data = CocoDataset.load(coco_json)
    assert [a["id"] for a in data.annotations] == [1, 2, 3, 4, 5]
    assert data.report.total == 0
    assert data.image_path(1) == str(coco_json.parent / "img1.png")
    assert data.image_size(2) == (30, 32)
    np.testing.assert_array_equal(data.box(data.annotations[0]), [10, 10, 30, 30])
    assert data.keypoints(data.annotations[1]).shape == (3, 3)
    assert data.category(2)["parts"] == ["head", "left_arm", "right_arm"]


def test_images_dir_overrides_the_json_folder(coco_data, write_json, tmp_path):
    folder, data = coco_data
    (tmp_path / "json").mkdir()
    path = write_json(data, "json/annotations.json")
    loaded = CocoDataset.load(path, images_dir=folder)
    assert loaded.image_path(1) == str(folder / "img1.png")


@pytest.mark.parametrize("key", ["images", "annotations", "categories"])
def test_non_coco_json_names_file_and_key(coco_data, write_json, key):
    data = dict(coco_data[1])
    del data[key]
    path = write_json(data, "broken.json")
    with pytest.raises(ValueError, match=rf"broken\.json.*'{key}'"):
        CocoDataset.load(path)


def test_not_json_and_missing_file(tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="bad.json"):
        CocoDataset.load(tmp_path / "bad.json")
    with pytest.raises(FileNotFoundError, match="absent.json"):
        CocoDataset.load(tmp_path / "absent.json")
    (tmp_path / "list.json").write_text("[]")
    with pytest.raises(ValueError, match="list.json"):
        CocoDataset.load(tmp_path / "list.json")


def _set(key, value):
    def change(a):
        a[key] = value

    return change


def _delete(key):
    def change(a):
        del a[key]

    return change


BAD_ANNOTATIONS = [
    ("crowd", _set("iscrowd", 1)),
    ("unknown_image", _set("image_id", 99)),
    ("unknown_image", _delete("image_id")),
    ("unknown_category", _set("category_id", 7)),
    ("unknown_category", _delete("category_id")),
    ("invalid_bbox", _set("bbox", [10, 10, 0, 20])),
    ("invalid_bbox", _set("bbox", [10, float("nan"), 5, 20])),
    ("invalid_bbox", _set("bbox", [10, 10, 5])),
    ("bbox_outside_image", _set("bbox", [50, 10, 20, 20])),
    ("bbox_outside_image", _set("bbox", [-5, 10, 20, 20])),
    ("degenerate_polygon", _set("segmentation", [[10, 10, 30, 30]])),
    ("degenerate_polygon", _set("segmentation", [[10, 10, 20, 20, 30, 30]])),
    ("degenerate_polygon", _set("segmentation", [[10, 10, 30, 10, 30]])),
    ("invalid_rle", _set("segmentation", {"size": [10, 10], "counts": "abc"})),
    ("invalid_rle", _set("segmentation", {"size": [40, 60], "counts": [5, 10]})),
    ("invalid_segmentation", _set("segmentation", 42)),
]


@pytest.mark.parametrize(("reason", "change"), BAD_ANNOTATIONS)
def test_bad_annotation_is_skipped_and_counted(coco_data, write_json, reason, change):
    data = coco_data[1]
    change(annotation(data, 1))
    loaded = CocoDataset.load(write_json(data))
    assert [a["id"] for a in loaded.annotations] == [2, 3, 4, 5]
    assert loaded.report.counts == {reason: 1}
    assert loaded.report.annotation_ids == {reason: [1]}
    assert reason in SKIP_REASONS
    assert "annotation 1" in loaded.report.format()


@pytest.mark.parametrize(
    ("reason", "keypoints"),
    [
        ("keypoint_outside_image", [45, 10, 2, 70, 25, 1, 0, 0, 0]),
        ("keypoint_outside_image", [45, -3, 1, 38, 25, 1, 0, 0, 0]),
        ("invalid_keypoints", [45, 10, 2, 38, 25]),
        ("invalid_keypoints", [45, 10, 2, 38, 25, 1]),
        ("invalid_keypoints", [45, 10, 3, 38, 25, 1, 0, 0, 0]),
        ("invalid_keypoints", [45, float("nan"), 2, 38, 25, 1, 0, 0, 0]),
    ],
)
def test_bad_keypoints_are_skipped(coco_data, write_json, reason, keypoints):
    data = coco_data[1]
    annotation(data, 2)["keypoints"] = keypoints
    loaded = CocoDataset.load(write_json(data))
    assert loaded.report.annotation_ids == {reason: [2]}


def test_non_object_annotation_is_skipped(coco_data, write_json):
    data = coco_data[1]
    data["annotations"].append([1, 2, 3])
    loaded = CocoDataset.load(write_json(data))
    assert loaded.report.counts == {"invalid_annotation": 1}
    assert len(loaded.annotations) == 5


def test_unlabelled_keypoint_outside_the_image_is_fine(coco_data, write_json):
    data = coco_data[1]
    annotation(data, 2)["keypoints"] = [45, 10, 2, 38, 25, 1, 500, 500, 0]
    assert CocoDataset.load(write_json(data)).report.total == 0


def test_missing_image_file_skips_its_annotations(coco_data, write_json):
    folder, data = coco_data
    (folder / "img2.png").unlink()
    loaded = CocoDataset.load(write_json(data))
    assert [a["id"] for a in loaded.annotations] == [1, 2]
    assert loaded.report.annotation_ids == {"missing_image_file": [3, 4, 5]}
    assert loaded.report.missing_files == [str(folder / "img2.png")]
    assert "img2.png" in loaded.report.format()


def test_nothing_usable_raises(coco_data, write_json):
    folder, data = coco_data
    (folder / "img1.png").unlink()
    (folder / "img2.png").unlink()
    with pytest.raises(ValueError, match="no usable annotation"):
        CocoDataset.load(write_json(data))


def test_polygon_and_rle_give_the_same_mask(coco_data, write_json, coco_helpers):
    data = coco_data[1]
    loaded = CocoDataset.load(write_json(data))
    polygon_mask = loaded.mask(loaded.annotations[0])
    expected = np.zeros((40, 60), np.uint8)
    expected[10:30, 10:30] = 1
    np.testing.assert_array_equal(polygon_mask, expected)
    compressed = dict(annotation(data, 1), segmentation=coco_helpers.compressed_rle(expected))
    uncompressed = dict(annotation(data, 1), segmentation=coco_helpers.uncompressed_rle(expected))
    np.testing.assert_array_equal(loaded.mask(compressed), expected)
    np.testing.assert_array_equal(loaded.mask(uncompressed), expected)
    rle_box = loaded.mask(loaded.annotations[2])
    assert rle_box.sum() == 15 * 17 and rle_box[5:20, 8:25].all()
    assert loaded.mask(loaded.annotations[3])[22:28, 2:12].all()


def test_task_requirements(coco_data, write_json):
    folder, data = coco_data
    annotation(data, 5)["keypoints"] = [0, 0, 0] * 3
    del annotation(data, 2)["parts_file"]
    loaded = CocoDataset.load(write_json(data))
    instances, report = loaded.instances("keypoints", category_ids=[2])
    assert [a["id"] for a in instances] == [2]
    assert report.annotation_ids == {
        "category_not_selected": [1, 3, 4],
        "no_labelled_keypoints": [5],
    }
    instances, report = loaded.instances("parts", category_ids=[2])
    assert [a["id"] for a in instances] == [5]
    assert report.annotation_ids["missing_parts_file"] == [2]
    (folder / "parts_5.png").unlink()
    with pytest.raises(ValueError, match="no usable annotation for the parts task"):
        loaded.instances("parts", category_ids=[2])


def test_report_merges_and_serialises(coco_data, write_json):
    data = coco_data[1]
    annotation(data, 1)["iscrowd"] = 1
    loaded = CocoDataset.load(write_json(data))
    _, report = loaded.instances("segmentation", category_ids=[1])
    assert report.annotation_ids == {"crowd": [1], "category_not_selected": [2, 5]}
    assert loaded.report.counts == {"crowd": 1}
    assert json.loads(json.dumps(report.to_dict()))["counts"]["category_not_selected"] == 2
    assert "crowd: 1" in str(report)


def test_part_labels_are_checked_against_the_image(coco_json):
    loaded = CocoDataset.load(coco_json)
    labels = loaded.part_labels(loaded.annotations[1])
    assert labels.shape == (40, 60) and labels.max() == 3
    wrong = dict(loaded.annotations[1], parts_file="parts_5.png")
    with pytest.raises(ValueError, match="parts_5.png"):
        loaded.part_labels(wrong)


def test_evaluation_mode_same_checks_keeps_crowds_needs_no_files(coco_data, write_json, tmp_path):
    folder, data = coco_data
    data = json.loads(json.dumps(data))
    annotation(data, 1)["iscrowd"] = 1
    annotation(data, 2)["segmentation"] = [[1, 1, 5, 5]]
    del annotation(data, 3)["bbox"]
    (tmp_path / "eval").mkdir()
    path = write_json(data, "eval/gt.json")  # no image files beside it
    evaluation = CocoDataset(json.loads(path.read_text()), json_path=path, evaluation=True)
    assert [a["id"] for a in evaluation.annotations] == [1, 3, 4, 5]
    assert evaluation.report.to_dict()["annotations"] == {
        "degenerate_polygon": [{"id": 2, "detail": "polygon 0 has 4 coordinates"}]
    }
    assert sorted(evaluation.coco.anns) == [1, 3, 4, 5]
    training = CocoDataset.load(path, images_dir=folder)
    assert training.report.counts == {"crowd": 1, "degenerate_polygon": 1, "invalid_bbox": 1}
    assert [a["id"] for a in training.annotations] == [4, 5]
