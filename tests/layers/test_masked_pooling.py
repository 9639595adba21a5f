import keras
import numpy as np
import pytest

from hckeras.layers import MaskedAveragePooling

pytestmark = pytest.mark.multibackend


def _pool(features, masks, epsilon=0.0):
    return keras.ops.convert_to_numpy(MaskedAveragePooling(epsilon=epsilon)([features, masks]))


def test_each_mask_weights_the_vectors_under_it():
    features = np.arange(8, dtype="float32").reshape(1, 2, 2, 2)  # vectors (0,1) (2,3) (4,5) (6,7)
    masks = np.zeros((1, 2, 2, 3), "float32")
    masks[0, 0, 0, 0] = masks[0, 1, 1, 0] = 1.0  # first and last pixel
    masks[0, :, :, 1] = 0.5  # everywhere, half
    masks[0, 0, 1, 2], masks[0, 1, 0, 2] = 1.0, 0.25  # 1 x (2,3) + 0.25 x (4,5)
    out = _pool(features, masks)
    assert out.shape == (1, 3, 2)
    np.testing.assert_allclose(out[0, 0], [3.0, 4.0])
    np.testing.assert_allclose(out[0, 1], [3.0, 4.0])
    np.testing.assert_allclose(out[0, 2], [(2 + 1) / 1.25, (3 + 1.25) / 1.25], rtol=1e-6)


def test_coarse_features_are_upsampled_to_the_masks_like_the_head(rng):
    features = rng.normal(size=(2, 3, 3, 4)).astype("float32")
    masks = rng.uniform(size=(2, 8, 8, 2)).astype("float32")
    upsampled = keras.ops.convert_to_numpy(
        keras.layers.Resizing(8, 8, interpolation="bilinear")(features)
    )
    expected = np.einsum("bhwd,bhwc->bcd", upsampled, masks) / (masks.sum((1, 2))[..., None] + 1e-3)
    np.testing.assert_allclose(_pool(features, masks, 1e-3), expected, rtol=1e-4, atol=1e-5)


def test_an_empty_mask_gives_zeros_and_bad_shapes_are_errors():
    out = _pool(np.ones((1, 2, 2, 3), "float32"), np.zeros((1, 2, 2, 1), "float32"), 1e-3)
    np.testing.assert_array_equal(out, np.zeros((1, 1, 3)))
    with pytest.raises(ValueError, match=r"takes \(B, h, w, D\) features and \(B, S, S, C\)"):
        MaskedAveragePooling()([np.ones((1, 3), "float32"), np.ones((1, 2, 2, 1), "float32")])
    with pytest.raises(ValueError, match="epsilon must be >= 0"):
        MaskedAveragePooling(epsilon=-1.0)


def test_round_trips_through_its_config():
    layer = MaskedAveragePooling(epsilon=0.5, name="pooled")
    clone = MaskedAveragePooling.from_config(layer.get_config())
    assert clone.epsilon == 0.5 and clone.name == "pooled"
