import keras
import numpy as np
import pytest

import hckeras
from hckeras.inference.runners import KerasRunner
from hckeras.io import save_model_atomic
from hckeras.model_spec import ModelSpec, spec_path
from hckeras.sds.refiner import build_refiner, load_refiner, resample_grid_classifiers, save_refiner
from hckeras.tasks import MapLayout

TAPS = {"fc7": 1, "conv4": 1, "pool2": 3}
CATEGORIES = [{"id": 1, "name": "box"}, {"id": 2, "name": "disc"}]


def _mask_model_and_spec(grid_size=2, task="segmentation"):
    layout = MapLayout.from_categories(CATEGORIES, "segmentation")
    model = hckeras.build_hypercolumn_model(
        "tiny", taps=TAPS, grid_size=grid_size, num_maps=2, output_size=12, input_size=64
    )
    spec = ModelSpec(
        task="segmentation", layout=layout, backbone="tiny", taps=TAPS, grid_size=grid_size,
        output_size=12, input_size=(64, 64), thresholds={"mask": 0.4},
    )  # fmt: skip
    return model, spec


def _inputs(rng, count=2, size=12):
    return [
        rng.uniform(0, 255, (count, 64, 64, 3)).astype("float32"),
        (rng.random((count, size, size, 1)) > 0.5).astype("float32"),
        rng.random((count, 100)).astype("float32"),
    ]


def test_resampling_to_the_same_grid_is_the_identity(rng):
    values = rng.normal(size=(3, 3, 5, 2 * 9)).astype("float32")
    np.testing.assert_allclose(resample_grid_classifiers(values, 2, 3, 3), values, atol=1e-6)


def test_resampling_blends_neighbouring_classifiers_by_hand():
    # K = 2 -> K' = 4 along one map: the target cell centres sit at 1/8, 3/8, 5/8, 7/8
    # of the side, the source centres at 1/4 and 3/4; per axis the weights are
    # (1, 0), (0.75, 0.25), (0.25, 0.75), (0, 1).
    source = np.array([0.0, 4.0, 8.0, 12.0])  # row-major 2 x 2: [[0, 4], [8, 12]]
    moved = resample_grid_classifiers(source, 1, 2, 4).reshape(4, 4)
    np.testing.assert_allclose(moved[0], [0, 1, 3, 4])
    np.testing.assert_allclose(moved[:, 0], [0, 2, 6, 8])
    np.testing.assert_allclose(moved[1, 1], 0.75 * 0.25 * (4 + 8) + 0.25 * 0.25 * 12)


def test_a_refiner_on_the_mask_models_grid_starts_as_the_mask_model(rng):
    """Copied backbone, classifiers moved onto the same grid, candidate weights zero: the
    same logits whatever the candidate inputs."""
    mask_model, spec = _mask_model_and_spec()
    refiner, refiner_spec = build_refiner(mask_model, spec, grid_size=2)
    x = _inputs(rng)
    expected = keras.ops.convert_to_numpy(mask_model(x[0]))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(refiner(x)), expected, atol=1e-5)
    assert refiner_spec == spec
    # The mask model's own weights are not shared (a copy is fine-tuned).
    assert not any(a is b for a in refiner.weights for b in mask_model.weights)


def test_a_10x10_refiner_starts_near_the_mask_models_probabilities(rng):
    mask_model, spec = _mask_model_and_spec(grid_size=5)
    refiner, refiner_spec = build_refiner(mask_model, spec)
    assert refiner_spec.grid_size == 10 and refiner_spec.thresholds == {"mask": 0.4}
    x = _inputs(rng)
    refined = hckeras.probability_model(refiner)(x)
    plain = hckeras.probability_model(mask_model)(x[0])
    assert refined.shape == plain.shape == (2, 12, 12, 2)
    difference = np.abs(keras.ops.convert_to_numpy(refined) - keras.ops.convert_to_numpy(plain))
    # Blending classifiers before the sigmoid is not blending probabilities after it,
    # so the two agree closely but not exactly.
    assert difference.mean() < 0.01 and difference.max() < 0.1


def test_save_and_load_round_trip_in_safe_mode(tmp_path, rng):
    refiner, spec = build_refiner(*_mask_model_and_spec())
    path = save_refiner(refiner, spec, tmp_path / "refiner.keras")
    loaded, loaded_spec = load_refiner(path)
    x = _inputs(rng)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded(x)), keras.ops.convert_to_numpy(refiner(x)), atol=1e-6
    )
    assert loaded_spec == spec


def test_loading_a_mask_model_as_a_refiner_is_an_error_naming_it(tmp_path):
    model, spec = _mask_model_and_spec()
    path = tmp_path / "mask.keras"
    save_model_atomic(model, path)
    spec.save(spec_path(path))
    with pytest.raises(ValueError, match=f"{path}.*not a System 1 refiner"):
        load_refiner(path)
    with pytest.raises(ValueError, match="no candidate inputs"):
        save_refiner(model, spec, tmp_path / "other.keras")


def test_a_predictor_refuses_a_refiner():
    refiner, _ = build_refiner(*_mask_model_and_spec())
    with pytest.raises(ValueError, match="System 1 refiner"):
        KerasRunner(refiner)


def test_only_segmentation_models_are_refined():
    model, spec = _mask_model_and_spec()
    keypoints = ModelSpec(
        task="keypoints",
        layout=MapLayout("keypoints", (1,), ("box",), (("a", "b"),)),
        backbone="tiny", taps=TAPS, grid_size=2, output_size=12, input_size=(64, 64),
    )  # fmt: skip
    with pytest.raises(ValueError, match="segmentation model"):
        build_refiner(model, keypoints)
    refiner, _ = build_refiner(model, spec)
    with pytest.raises(ValueError, match="already a refiner"):
        build_refiner(refiner, spec)
