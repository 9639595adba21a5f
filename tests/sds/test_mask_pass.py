"""Tests of `hckeras.sds.mask_pass`: the mask pass's features and the Predictor's
`features` under a `MaskPassRunner`, on conftest.py's box-mask model."""

import numpy as np
import pytest

from hckeras.inference.predictor import Predictor
from hckeras.sds.mask_pass import MaskPassRunner, spatial_taps
from hckeras.sds.region_crops import region_crops


@pytest.fixture(scope="module")
def mask(make_mask_model, make_mask_spec):
    import keras

    keras.utils.set_random_seed(3)
    return make_mask_model(), make_mask_spec()


def test_features_are_fc7_and_each_categorys_mask_mean_of_a_tap(mask):
    import keras

    mask_model, spec = mask
    runner = MaskPassRunner(mask_model, spec, ("conv4",))
    crops = np.random.default_rng(0).uniform(0, 255, (3, 32, 32, 3)).astype("float32")
    probabilities, features = runner(crops)
    np.testing.assert_allclose(probabilities, mask_model.predict(crops, verbose=0), rtol=1e-6)
    taps = keras.Model(mask_model.input, [mask_model.get_layer(n).output for n in ("fc7", "conv4")])
    fc7, conv4 = (np.asarray(t) for t in taps(crops))
    upsampled = np.asarray(keras.layers.Resizing(8, 8, interpolation="bilinear")(conv4))
    assert features.shape == (3, 2, runner.feature_width) and runner.feature_width == 32 + 16
    for category in range(2):
        np.testing.assert_allclose(features[:, category, :32], fc7, rtol=1e-5, atol=1e-6)
        weights = probabilities[..., category]
        mean = np.einsum("bhwd,bhw->bd", upsampled, weights) / (weights.sum((1, 2))[:, None] + 1e-3)
        np.testing.assert_allclose(features[:, category, 32:], mean, rtol=1e-4, atol=1e-5)


def test_the_default_pooled_taps_are_the_specs_spatial_taps(mask):
    from dataclasses import replace
    from types import SimpleNamespace

    mask_model, spec = mask
    assert spatial_taps(mask_model, spec) == ()
    assert MaskPassRunner(mask_model, spec).feature_width == 32  # fc7 alone
    wider = replace(spec, taps={"fc7": 1, "conv3": 1, "pool1": 3})
    assert spatial_taps(mask_model, wider) == ("conv3", "pool1")
    with pytest.raises(ValueError, match="backbone 'tiny' has no 'stride8' tap"):
        MaskPassRunner(mask_model, spec, ("stride8",))
    with pytest.raises(ValueError, match="need a segmentation model"):
        MaskPassRunner(mask_model, SimpleNamespace(task="keypoints"))


def test_predictor_results_carry_their_categorys_features(mask):
    mask_model, spec = mask
    image = np.random.default_rng(1).integers(0, 256, (64, 64, 3)).astype(np.uint8)
    detections = np.array([[10, 10, 40, 40, 0.9, 1], [5, 20, 50, 60, 0.7, 2]], "float32")
    runner = MaskPassRunner(mask_model, spec, ("conv4",))
    results = Predictor(runner, spec).predict(image, detections)
    plain = Predictor(mask_model, spec).predict(image, detections)
    for result, reference, category in zip(results, plain, (0, 1), strict=True):
        np.testing.assert_array_equal(result["mask"], reference["mask"])
        assert "features" not in reference
        box_crop, _ = region_crops(image, result, spec)
        _, rows = runner(box_crop[None])
        np.testing.assert_allclose(result["features"], rows[0, category], rtol=1e-5, atol=1e-6)
