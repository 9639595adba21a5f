import keras
import numpy as np
import pytest

import hckeras

pytestmark = pytest.mark.multibackend

TAPS = {"fc7": 1, "conv4": 1, "pool2": 3}


def _build(head, **kwargs):
    return hckeras.build_hypercolumn_model(
        "tiny", taps=TAPS, grid_size=2, num_maps=2, output_size=12, head=head, **kwargs
    )


def _relative_error(a, b):
    return np.abs(a - b).max() / np.abs(b).max()


@pytest.mark.parametrize("source_head", ["efficient", "explicit"])
def test_efficient_equals_explicit_with_copied_weights(rng, source_head):
    scales = {"pool2": 0.5, "fc7": 2.0}
    source = _build(source_head, tap_scales=scales)
    target = _build("explicit" if source_head == "efficient" else "efficient", tap_scales=scales)
    # Non-zero biases, so that their conversion is tested too.
    for layer in source.layers:
        if layer.name.endswith(("_score", "_classifier")):
            kernel, bias = layer.get_weights()
            layer.set_weights([kernel, rng.normal(size=bias.shape).astype("float32")])
    hckeras.copy_head_weights(source, target)
    x = rng.uniform(0, 255, (2, 64, 64, 3)).astype("float32")
    expected = keras.ops.convert_to_numpy(source(x))
    assert expected.shape == (2, 12, 12, 2, 4)
    assert _relative_error(keras.ops.convert_to_numpy(target(x)), expected) <= 1e-4


def test_explicit_hypercolumn_width_is_sum_of_tap_neighbourhoods():
    model = _build("explicit")
    # tiny: pool2 32 channels x 3x3, conv4 64, fc7 128.
    assert model.get_layer("hypercolumn").output.shape[-1] == 32 * 9 + 64 + 128


def test_tnet_hypercolumn_is_4736_dimensional():
    model = hckeras.build_hypercolumn_model(
        "alexnet", taps={"pool2": 1, "conv4": 1, "fc7": 1}, head="explicit"
    )
    assert model.get_layer("hypercolumn").output.shape[-1] == 4736


@pytest.mark.parametrize("source_head", ["efficient", "explicit"])
def test_candidate_inputs_join_both_heads_equally(rng, source_head):
    """System 1's candidate features are two more hypercolumn taps: the inside map at
    S x S (no resize) and the coarse mask as a per-box constant (like fc7)."""
    source = _build(source_head, candidates=True)
    target = _build("explicit" if source_head == "efficient" else "efficient", candidates=True)
    assert [t.name for t in source.inputs] == ["image", "candidate_inside", "candidate_coarse"]
    hckeras.copy_head_weights(source, target)
    x = [
        rng.uniform(0, 255, (2, 64, 64, 3)).astype("float32"),
        (rng.random((2, 12, 12, 1)) > 0.5).astype("float32"),
        rng.random((2, 100)).astype("float32"),
    ]
    expected = keras.ops.convert_to_numpy(source(x))
    assert _relative_error(keras.ops.convert_to_numpy(target(x)), expected) <= 1e-4


def test_inside_map_term_is_a_per_location_linear_classifier(rng):
    """Only the inside map's weight differs between the two evaluations, so the logits
    differ by exactly that weight where the location is inside."""
    model = _build("efficient", candidates=True)
    layer = model.get_layer("candidate_inside_score")
    kernel, bias = layer.get_weights()
    image = rng.uniform(0, 255, (1, 64, 64, 3)).astype("float32")
    inside = np.zeros((1, 12, 12, 1), "float32")
    inside[0, 3:7, 2:5] = 1
    coarse = rng.random((1, 100)).astype("float32")
    layer.set_weights([np.zeros_like(kernel), bias])
    before = keras.ops.convert_to_numpy(model([image, inside, coarse]))
    layer.set_weights([np.full_like(kernel, 0.25), bias])
    after = keras.ops.convert_to_numpy(model([image, inside, coarse]))
    expected = np.broadcast_to(0.25 * inside[..., None], before.shape)
    np.testing.assert_allclose(after - before, expected, atol=1e-5)
