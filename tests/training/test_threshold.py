import json

import numpy as np
import pytest

from hckeras.data.coco import CocoDataset
from hckeras.data.dataset import validation_dataset
from hckeras.data.synthetic import generate
from hckeras.inference.predictor import Predictor
from hckeras.model_spec import ModelSpec
from hckeras.tasks import MapLayout
from hckeras.training import TrainConfig, train
from hckeras.training.threshold import CANDIDATES, best_threshold, choose_mask_threshold


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    return str(generate(tmp_path_factory.mktemp("synth"), 4, seed=5))


def _spec(data, task="segmentation"):
    categories = CocoDataset.load(data).categories
    return ModelSpec(
        task=task,
        layout=MapLayout.from_categories(categories, task),
        backbone="tiny",
        taps={"fc7": 1},
        grid_size=2,
        output_size=8,
        input_size=(32, 32),
    )


def test_best_threshold_prefers_quality_then_nearness_to_half():
    assert best_threshold({0.3: 0.5, 0.45: 0.7, 0.55: 0.7, 0.7: 0.2}) in (0.45, 0.55)
    assert best_threshold({0.3: 0.5, 0.4: 0.7, 0.6: 0.7}) == 0.4  # equally near: the lower
    assert best_threshold({0.2: 0.9, 0.5: 0.8}) == 0.2


def test_constant_heatmap_is_best_thresholded_at_its_own_value(synthetic):
    """A model that says 0.3 everywhere: at t <= 0.3 the mask is every labelled
    cell (IoU = foreground / labelled per instance), above it the mask is empty
    (IoU 0), so the best threshold is 0.3, the candidate nearest 0.5 of the tie."""
    spec = _spec(synthetic)
    predictor = Predictor(
        lambda crops: np.full((len(crops), 8, 8, spec.layout.num_maps), 0.3, np.float32), spec
    )
    chosen = choose_mask_threshold(predictor, synthetic)
    dataset = validation_dataset(
        synthetic,
        task="segmentation",
        input_size=(32, 32),
        output_size=8,
        layout=spec.layout,
        workers=0,
    )
    expected = []
    for index in range(len(dataset)):
        for target in dataset[index][1]:
            channel = target[..., np.flatnonzero((target >= 0).any(axis=(0, 1)))[0]]
            expected.append((channel > 0.5).sum() / (channel >= 0).sum())
    assert chosen["count"] == len(expected) > 0
    assert chosen["threshold"] == 0.3
    assert sorted(chosen["quality"]) == list(CANDIDATES)
    for threshold, quality in chosen["quality"].items():
        np.testing.assert_allclose(quality, np.mean(expected) if threshold <= 0.3 else 0.0)


def test_keypoint_models_and_bad_candidates_are_refused(synthetic):
    keypoints = Predictor(lambda crops: None, _spec(synthetic, "keypoints"))
    with pytest.raises(ValueError, match="not keypoints"):
        choose_mask_threshold(keypoints, synthetic)
    segmentation = Predictor(lambda crops: None, _spec(synthetic))
    with pytest.raises(ValueError, match=r"lie in \(0, 1\)"):
        choose_mask_threshold(segmentation, synthetic, candidates=(0.5, 1.0))


def test_train_stores_the_chosen_threshold_in_the_spec(tmp_path, synthetic):
    config = TrainConfig(
        data=synthetic,
        val_data=synthetic,
        backbone="tiny",
        input_size=32,
        output_size=8,
        grid_size=2,
        epochs=1,
        batch_size=8,
        workers=0,
        calibrate_threshold=True,
    )
    result = train(config, tmp_path / "run", verbose=0)
    chosen = json.loads((tmp_path / "run" / "threshold.json").read_text())
    spec = ModelSpec.load(tmp_path / "run" / "model.json")
    assert spec.thresholds["mask"] == chosen["threshold"] == result["threshold"]["threshold"]
    assert chosen["threshold"] in CANDIDATES
    quality = {float(t): q for t, q in chosen["quality"].items()}
    assert quality[chosen["threshold"]] == max(quality.values())
