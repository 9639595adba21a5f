import keras
import numpy as np
import pytest

from hckeras.layers import BroadcastMap

pytestmark = pytest.mark.multibackend


def test_repeats_the_map_over_the_output():
    x = np.arange(6, dtype="float32").reshape(2, 1, 1, 3)
    out = keras.ops.convert_to_numpy(BroadcastMap(4)(x))
    assert out.shape == (2, 4, 4, 3)
    np.testing.assert_array_equal(out[1, 3, 2], [3.0, 4.0, 5.0])
    np.testing.assert_array_equal(out, np.broadcast_to(x, (2, 4, 4, 3)))


def test_equals_bilinear_resize_of_a_1x1_map(rng):
    x = rng.normal(size=(2, 1, 1, 5)).astype("float32")
    resized = keras.layers.Resizing(7, 7, interpolation="bilinear")(x)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(BroadcastMap(7)(x)), keras.ops.convert_to_numpy(resized)
    )


def test_rejects_bad_size_and_shape():
    with pytest.raises(ValueError, match="positive integer, got 0"):
        BroadcastMap(0)
    with pytest.raises(ValueError, match=r"takes \(B, 1, 1, C\) maps"):
        BroadcastMap(3)(np.zeros((1, 2, 2, 3), "float32"))


def test_config_round_trip_and_keras_file(tmp_path):
    layer = BroadcastMap(5, name="fc7_broadcast")
    assert BroadcastMap.from_config(layer.get_config()).get_config() == layer.get_config()
    inputs = keras.Input((1, 1, 2))
    model = keras.Model(inputs, BroadcastMap(5)(inputs))
    model.save(tmp_path / "b.keras")
    loaded = keras.saving.load_model(tmp_path / "b.keras")
    assert loaded.predict(np.ones((1, 1, 1, 2)), verbose=0).shape == (1, 5, 5, 2)
