"""Box-local results: pasted to the image they equal the image-sized decoding, bit for bit,
and what a result keeps grows with its box, not with the image."""

import tracemalloc

import numpy as np
import pytest

from hckeras.boxes import expand_box, xywh_to_xyxy
from hckeras.inference.decode import part_foreground, part_labels
from hckeras.inference.overlay import draw_overlay
from hckeras.inference.paste import full_image, paste_mask
from hckeras.inference.predictor import Predictor
from hckeras.inference.results import results_to_coco
from hckeras.inference.superpixels import average_over_segments, slic_superpixels
from hckeras.resample import box_pixels, paste_heatmap

SIZE = (37, 53)
IMAGE = np.kron(np.random.default_rng(3).integers(0, 256, (8, 10, 3)), np.ones((5, 6, 1)))
IMAGE = IMAGE[: SIZE[0], : SIZE[1]].astype(np.uint8)  # 5 x 6 pixel colour blocks
SUPERPIXELS = {"n_segments": 80, "compactness": 10}
# Inside, partly outside on every side, tiny, as tall as the image, wholly outside.
DETECTIONS = [
    {"bbox": [10.3, 5.2, 20.0, 14.7], "category_id": 1, "score": 0.9},
    {"bbox": [-6.0, 20.0, 18.0, 25.0], "category_id": 2, "score": 0.5},
    {"bbox": [40.5, -4.0, 30.0, 12.0], "category_id": 1, "score": 0.7},
    {"bbox": [25.0, 30.0, 1.2, 0.8], "category_id": 2, "score": 0.3},
    {"bbox": [2.0, -10.0, 11.0, 60.0], "category_id": 1, "score": 0.6},
    {"bbox": [70.0, 50.0, 5.0, 5.0], "category_id": 2, "score": 0.2},
]


class RecordingRunner:
    """Seeded random 8 x 8 maps (values on both sides of 0.5, mostly above), kept in
    call order."""

    def __init__(self, num_maps, seed):
        self.rng = np.random.default_rng(seed)
        self.num_maps = num_maps
        self.outputs = []

    def __call__(self, crops):
        maps = self.rng.uniform(0.2, 1, (len(crops), 8, 8, self.num_maps)).astype(np.float32)
        self.outputs.extend(maps)
        return maps


def _image_sized(spec, runner, threshold, superpixels, foregrounds=None):
    """The image-sized decoding of the runner's recorded maps (hckeras before box-local
    results): one `(H, W)` map per detection."""
    segments = slic_superpixels(IMAGE, **SUPERPIXELS) if superpixels else None
    results = []
    for detection, maps in zip(DETECTIONS, runner.outputs, strict=True):
        box = xywh_to_xyxy(detection["bbox"])
        expanded = expand_box(box, spec.context_padding)
        maps = maps[..., spec.layout.maps_of(detection["category_id"])]
        result = {"box": box, "category_id": detection["category_id"], "score": detection["score"]}
        if spec.task == "segmentation":
            probability, mask = paste_mask(maps[..., 0], expanded, SIZE, threshold)
            if segments is not None:
                probability = average_over_segments(probability, segments)
                mask = probability >= threshold
            result.update(probability=probability, mask=mask)
        else:
            probabilities = paste_heatmap(maps, expanded, SIZE)
            if segments is not None:
                probabilities = average_over_segments(probabilities, segments)
            foreground = (
                part_foreground(probabilities, threshold)
                if foregrounds is None
                else foregrounds[len(results)]["mask"]
            )
            result.update(
                part_labels=part_labels(probabilities, foreground),
                mask=foreground,
                part_names=["a", "b"],
            )
        results.append(result)
    return results


def _same_coco(box_local, image_sized):
    return results_to_coco(box_local, image_id=1) == results_to_coco(image_sized, image_id=1)


@pytest.mark.parametrize("superpixels", [False, True])
@pytest.mark.parametrize("threshold", [0.5, 0.0])
def test_segmentation_equals_the_image_sized_decoding(spec_for, categories, threshold, superpixels):
    spec = spec_for("segmentation")
    runner = RecordingRunner(spec.layout.num_maps, seed=1)
    predictor = Predictor(
        runner, spec, threshold=threshold, superpixels=SUPERPIXELS if superpixels else False
    )
    results = predictor.predict(IMAGE, DETECTIONS)
    expected = _image_sized(spec, runner, threshold, superpixels)
    assert len(results) == len(expected) == len(DETECTIONS)
    for result, reference in zip(results, expected, strict=True):
        np.testing.assert_array_equal(full_image(result), reference["mask"])
        np.testing.assert_array_equal(full_image(result, "probability"), reference["probability"])
    picture = draw_overlay(IMAGE, results, categories)
    np.testing.assert_array_equal(picture, draw_overlay(IMAGE, expected, categories))
    assert _same_coco(results, expected)


@pytest.mark.parametrize("superpixels", [False, True])
@pytest.mark.parametrize("threshold", [0.5, 0.0])
@pytest.mark.parametrize("figure_ground", [False, True])
def test_parts_equal_the_image_sized_decoding(
    spec_for, categories, threshold, superpixels, figure_ground
):
    spec = spec_for("parts", context_padding=0.2)
    fg_spec = spec_for("segmentation")
    fg_runner = RecordingRunner(fg_spec.layout.num_maps, seed=4)
    fg_predictor = Predictor(fg_runner, fg_spec, threshold=0.4) if figure_ground else None
    runner = RecordingRunner(spec.layout.num_maps, seed=2)
    superpixels = SUPERPIXELS if superpixels else False
    predictor = Predictor(
        runner, spec, figure_ground=fg_predictor, threshold=threshold, superpixels=superpixels
    )
    results = predictor.predict(IMAGE, DETECTIONS)
    foregrounds = _image_sized(fg_spec, fg_runner, 0.4, False) if figure_ground else None
    expected = _image_sized(spec, runner, threshold, superpixels, foregrounds)
    for result, reference in zip(results, expected, strict=True):
        np.testing.assert_array_equal(full_image(result), reference["mask"])
        np.testing.assert_array_equal(full_image(result, "part_labels"), reference["part_labels"])
    picture = draw_overlay(IMAGE, results, categories)
    np.testing.assert_array_equal(picture, draw_overlay(IMAGE, expected, categories))
    assert _same_coco(results, expected)


def test_result_maps_are_the_size_of_the_expanded_box_clipped_to_the_image(spec_for):
    spec = spec_for("segmentation")
    results = Predictor(RecordingRunner(2, seed=0), spec).predict(IMAGE, DETECTIONS)
    for result in results:
        window = box_pixels(result["expanded_box"], SIZE)
        assert result["window"] == window and result["image_size"] == SIZE
        shape = (window[3] - window[1], window[2] - window[0])
        assert result["mask"].shape == result["probability"].shape == shape
    assert results[-1]["mask"].size == 0  # the box outside the image


def test_memory_grows_with_the_boxes_not_the_image(spec_for):
    # 24 detections of 500 px boxes in an 8000 x 8000 image; image-sized maps would
    # hold 24 x 320 MB. np.zeros does not touch the image's pages.
    image = np.zeros((8000, 8000, 3), np.uint8)
    rng = np.random.default_rng(0)
    detections = [
        {"bbox": [*rng.uniform(50, 7450, 2), 500, 500], "category_id": 1, "score": 0.9}
        for _ in range(24)
    ]
    predictor = Predictor(RecordingRunner(2, seed=0), spec_for("segmentation"))
    tracemalloc.start()
    try:
        results = predictor.predict(image, detections)
        coco = results_to_coco(results, image_id=1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(coco) == 24
    for result in results:
        assert result["mask"].shape == (600, 600)  # the expanded box's pixels
    kept = sum(v.nbytes for r in results for v in r.values() if isinstance(v, np.ndarray))
    assert kept <= 24 * (600 * 600 * 5 + 1024)
    assert peak < 64 * 2**20  # less than one image-sized bool mask
