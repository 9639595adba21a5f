import warnings

import numpy as np
import pytest

from hckeras.inference.paste import full_image
from hckeras.inference.predictor import Predictor, load_predictor, parse_detections
from hckeras.model_spec import spec_path

IMAGE = np.full((60, 80, 3), 128, np.uint8)


def _expected(rows, cols, size=(60, 80)):
    mask = np.zeros(size, bool)
    mask[rows[0] : rows[1], cols[0] : cols[1]] = True
    return mask


def _detection(bbox, category_id=1, score=0.9, **extra):
    return {"bbox": bbox, "category_id": category_id, "score": score, **extra}


@pytest.fixture
def segmenter(segmentation_model, spec_for):
    return Predictor(segmentation_model, spec_for("segmentation"))


def test_mask_covers_the_left_half_of_the_expanded_box(segmenter):
    # Box [10, 20, 50, 40] expands (padding 0.1) to [6, 18, 54, 42]; its left half is x < 30.
    (result,) = segmenter.predict(IMAGE, [_detection([10, 20, 40, 20], image_id=3, area=5)])
    np.testing.assert_array_equal(full_image(result), _expected((18, 42), (6, 30)))
    np.testing.assert_allclose(result["box"], [10, 20, 50, 40])
    np.testing.assert_allclose(result["expanded_box"], [6, 18, 54, 42])
    assert result["category_id"] == 1 and result["score"] == 0.9 and result["image_id"] == 3
    assert result["index"] == 0
    assert result["window"] == (6, 18, 54, 42) and result["image_size"] == (60, 80)
    assert result["mask"].shape == result["probability"].shape == (24, 48)
    probability = full_image(result, "probability")
    assert probability.shape == (60, 80) and probability.dtype == np.float32
    assert probability[~_expected((18, 42), (6, 54))].sum() == 0
    assert probability[30, 10] > 0.99 and probability[30, 50] < 0.01


def test_category_selects_its_channel(segmenter):
    (result,) = segmenter.predict(IMAGE, [_detection([10, 20, 40, 20], category_id=2)])
    np.testing.assert_array_equal(full_image(result), _expected((18, 42), (30, 54)))


def test_box_partly_outside_the_image(segmenter):
    # [-10, -10, 20, 20] expands to [-13, -13, 23, 23]; its left half is x < 5.
    (result,) = segmenter.predict(IMAGE, [_detection([-10, -10, 30, 30])])
    np.testing.assert_array_equal(full_image(result), _expected((0, 23), (0, 5)))


def test_two_pixel_wide_box(segmenter):
    # [30, 10, 32, 30] expands to [29.8, 8, 32.2, 32]: pixel columns 30 and 31.
    (result,) = segmenter.predict(IMAGE, [_detection([30, 10, 2, 20])])
    np.testing.assert_array_equal(full_image(result), _expected((8, 32), (30, 31)))


def test_bad_boxes_and_unknown_categories_are_skipped_and_counted(segmenter):
    detections = [
        _detection([float("nan"), 0, 10, 10]),
        _detection([10, 20, 40, 20]),
        _detection([5, 5, 0, 10]),
        _detection([None, 1, 2, 3]),
        _detection([10, 20, 40, 20], category_id=9),
        _detection([5, 5, 10]),
    ]
    with pytest.warns(UserWarning, match=r"skipped 5 detections: 4 invalid_box .* 1 unknown"):
        results = segmenter.predict(IMAGE, detections)
    assert [r["index"] for r in results] == [1]
    assert segmenter.last_skipped == {
        "invalid_box": 4,
        "invalid_score": 0,
        "unknown_category": 1,
        "no_figure_ground": 0,
    }


def test_nan_and_missing_like_scores_are_skipped_and_counted_never_ranked(segmenter):
    detections = [
        {**_detection([10, 20, 40, 20]), "score": float("nan")},
        {**_detection([10, 20, 40, 20]), "score": None},
        {**_detection([10, 20, 40, 20]), "score": "high"},
        {**_detection([10, 20, 40, 20]), "score": 0.4},
        {key: value for key, value in _detection([10, 20, 40, 20]).items() if key != "score"},
    ]
    with pytest.warns(UserWarning, match=r"skipped 3 detections: 3 invalid_score"):
        results = segmenter.predict(IMAGE, detections)
    assert [(r["index"], r["score"]) for r in results] == [(3, 0.4), (4, 1.0)]
    assert segmenter.last_skipped["invalid_score"] == 3
    array = np.array([[10, 20, 50, 40, np.nan, 1], [10, 20, 50, 40, 0.7, 1]])
    with pytest.warns(UserWarning, match=r"detections\[0\]: score nan is not a finite number"):
        results = segmenter.predict(IMAGE, array)
    assert [r["index"] for r in results] == [1]


def test_no_detections_give_no_results_and_no_warning(segmenter):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert segmenter.predict(IMAGE, []) == []
        assert segmenter.predict(IMAGE, None) == []
        assert segmenter.predict(IMAGE, np.zeros((0, 6))) == []


def test_array_detections_are_xyxy_score_category(segmenter):
    array = np.array([[10, 20, 50, 40, 0.8, 2], [10, 20, 50, 40, 0.7, 1]])
    results = segmenter.predict(IMAGE, array)
    assert [r["category_id"] for r in results] == [2, 1]
    np.testing.assert_array_equal(full_image(results[0]), _expected((18, 42), (30, 54)))
    with pytest.raises(ValueError, match=r"\(N, 6\)"):
        parse_detections(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="no \\['category_id'\\]"):
        parse_detections([{"bbox": [0, 0, 1, 1]}])


def test_batches_keep_input_order(spec_for, halves_output):
    sizes = []

    def runner(crops):
        sizes.append(len(crops))
        return halves_output(len(crops), 2)

    predictor = Predictor(runner, spec_for("segmentation"), batch_size=2)
    detections = [_detection([10 + i, 20, 20, 20], category_id=1 + i % 2) for i in range(5)]
    results = predictor.predict(IMAGE, detections)
    assert sizes == [2, 2, 1]
    assert [r["index"] for r in results] == list(range(5))
    assert [r["category_id"] for r in results] == [1, 2, 1, 2, 1]


def test_parts_label_the_foreground_by_most_probable_part(spec_for):
    def runner(crops):
        # Person: part 0 on the top half of the rows, part 1 on the bottom half.
        # Bird: both parts 0.3 everywhere, below the 0.5 threshold: no foreground.
        maps = np.zeros((8, 8, 4), np.float32)
        maps[:4, :, 0] = 1.0
        maps[4:, :, 1] = 1.0
        maps[..., 2:] = 0.3
        return np.broadcast_to(maps, (len(crops), 8, 8, 4))

    predictor = Predictor(runner, spec_for("parts"))
    # Box [8, 8, 48, 48] expands to [4, 4, 52, 52], whose middle row is y = 28.
    person, bird = predictor.predict(
        IMAGE, [_detection([8, 8, 40, 40]), _detection([8, 8, 40, 40], category_id=2)]
    )
    labels = person["part_labels"]
    assert labels.dtype == np.int32 and person["part_names"] == ["upper", "lower"]
    expected = np.zeros((60, 80), np.int32)
    expected[4:28, 4:52] = 1
    expected[28:52, 4:52] = 2
    np.testing.assert_array_equal(full_image(person, "part_labels"), expected)
    np.testing.assert_array_equal(full_image(person), expected > 0)
    assert bird["part_names"] == ["head", "body"]
    assert not bird["mask"].any() and not bird["part_labels"].any()


def test_parts_use_the_figure_ground_mask(spec_for, segmentation_model):
    def runner(crops):
        return np.full((len(crops), 8, 8, 4), 0.9, np.float32)

    figure_ground = Predictor(segmentation_model, spec_for("segmentation"))
    predictor = Predictor(runner, spec_for("parts"), figure_ground=figure_ground)
    (result,) = predictor.predict(IMAGE, [_detection([10, 20, 40, 20])])
    np.testing.assert_array_equal(full_image(result), _expected((18, 42), (6, 30)))
    np.testing.assert_array_equal(result["part_labels"], result["mask"].astype(np.int32))
    with pytest.raises(ValueError, match="figure_ground is for part models"):
        Predictor(runner, spec_for("keypoints"), figure_ground=figure_ground)


def test_parts_skip_categories_the_figure_ground_model_lacks(spec_for, categories):
    def runner(crops):
        return np.full((len(crops), 8, 8, 1), 0.9, np.float32)

    person_only = spec_for("segmentation", categories=categories[:1])
    figure_ground = Predictor(runner, person_only)
    predictor = Predictor(
        lambda c: np.full((len(c), 8, 8, 4), 0.9, np.float32),
        spec_for("parts"),
        figure_ground=figure_ground,
    )
    with pytest.warns(UserWarning, match="1 no_figure_ground"):
        results = predictor.predict(IMAGE, [_detection([0, 0, 9, 9], 2), _detection([0, 0, 9, 9])])
    assert [r["category_id"] for r in results] == [1]


def test_keypoints_decode_the_detection_category_maps(spec_for):
    def runner(crops):
        maps = np.zeros((len(crops), 8, 8, 6), np.float32)
        maps[:, 2, 5, 0] = 0.9  # person head
        maps[:, 7, 0, 3] = 0.7  # bird beak
        maps[:, 4, 4, 4] = 0.4
        maps[:, 1, 1, 5] = 0.2
        return maps

    predictor = Predictor(runner, spec_for("keypoints"))
    # Box [10, 10, 50, 50] expands to [6, 6, 54, 54]: 6 pixels per cell.
    results = predictor.predict(
        IMAGE, [_detection([10, 10, 40, 40], 1, score=0.0), _detection([10, 10, 40, 40], 2, 2.0)]
    )
    assert results[0]["keypoint_names"] == ["head", "hip", "foot"]
    np.testing.assert_allclose(results[0]["keypoints"][0], [6 + 5.5 * 6, 6 + 2.5 * 6, 0.45])
    s = 1 / (1 + np.exp(-2.0))
    np.testing.assert_allclose(
        results[1]["keypoints"],
        [[9.0, 51.0, 0.7 * s], [33.0, 33.0, 0.4 * s], [15.0, 15.0, 0.2 * s]],
    )


def test_superpixel_projection_runs_before_the_threshold(segmentation_model, spec_for):
    image = np.zeros((60, 80, 3), np.uint8)
    image[:, 40:] = 255
    predictor = Predictor(
        segmentation_model,
        spec_for("segmentation"),
        superpixels={"n_segments": 4, "compactness": 10},
    )
    (result,) = predictor.predict(image, [_detection([10, 20, 40, 20])])
    from hckeras.inference.superpixels import slic_superpixels

    segments = slic_superpixels(image, n_segments=4, compactness=10)
    probability = full_image(result, "probability")
    for label in np.unique(segments):
        assert np.ptp(probability[segments == label]) < 1e-6
    np.testing.assert_array_equal(result["mask"], result["probability"] >= 0.5)


def test_threshold_override(segmentation_model, spec_for):
    spec = spec_for("segmentation", thresholds={"mask": 0.9})
    assert Predictor(segmentation_model, spec).threshold == 0.9
    assert Predictor(segmentation_model, spec, threshold=0.3).threshold == 0.3


def test_mismatched_model_and_spec_are_errors(segmentation_model, spec_for):
    with pytest.raises(ValueError, match=r"takes \(32, 32\) crops but its spec says"):
        Predictor(segmentation_model, spec_for("segmentation", input_size=(64, 64)))
    predictor = Predictor(segmentation_model, spec_for("parts"))
    with pytest.raises(ValueError, match=r"shape \(1, 8, 8, 2\) for 1 crops.*\(1, 8, 8, 4\)"):
        predictor.predict(IMAGE, [_detection([10, 20, 40, 20])])
    segmenter = Predictor(segmentation_model, spec_for("segmentation"))
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        segmenter.predict(IMAGE[..., 0], [])


def test_load_predictor_reads_keras_file_and_sidecar(tmp_path, segmentation_model, spec_for):
    path = tmp_path / "model.keras"
    segmentation_model.save(path)
    spec_for("segmentation").save(spec_path(path))
    predictor = load_predictor(path, batch_size=4)
    (result,) = predictor.predict(IMAGE, [_detection([10, 20, 40, 20])])
    np.testing.assert_array_equal(full_image(result), _expected((18, 42), (6, 30)))
    with pytest.raises(ValueError, match="unsupported model file"):
        load_predictor(tmp_path / "model.onnx")
    spec_path(path).unlink()
    with pytest.raises(FileNotFoundError, match="no spec sidecar"):
        load_predictor(path)
