import keras
import numpy as np
import pytest
from backend_gradients import value_and_gradient

import hckeras
from hckeras.layers import cell_weights
from hckeras.losses import HypercolumnLoss, hypercolumn_loss
from hckeras.losses.hypercolumn_loss import active_cells

pytestmark = pytest.mark.multibackend

S, K, C = 6, 3, 2


def _naive(y_true, logits, alpha):
    """Float64: form p, take its log (fine for moderate logits)."""
    p = (alpha[:, :, None, :] / (1 + np.exp(-logits.astype(np.float64)))).sum(-1)
    nll = -(y_true * np.log(p) + (1 - y_true) * np.log(1 - p))
    labelled = y_true >= 0
    nll = np.where(labelled, nll, 0)
    return nll.sum((1, 2, 3)) / np.maximum(labelled.sum((1, 2, 3)), 1)


def _data(rng, scale):
    logits = rng.uniform(-scale, scale, (3, S, S, C, K * K)).astype(np.float32)
    y_true = rng.choice([1.0, 0.0, -1.0], size=(3, S, S, C)).astype(np.float32)
    return y_true, logits


def test_matches_naive_formula(rng):
    y_true, logits = _data(rng, 10)
    alpha = hckeras.grid_weights(K, S)
    out = keras.ops.convert_to_numpy(hypercolumn_loss(y_true, logits, alpha))
    np.testing.assert_allclose(out, _naive(y_true, logits, alpha), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("alpha_fn", [hckeras.grid_weights, cell_weights])
def test_finite_values_and_gradients_for_huge_logits(rng, alpha_fn):
    y_true, logits = _data(rng, 1e4)
    alpha = alpha_fn(K, S)
    # Most pixels of a 3x3 grid over 6x6 have zero weights for some classifiers.
    assert (alpha == 0).any(axis=-1).mean() > 0.5
    value, grad = value_and_gradient(lambda v: hypercolumn_loss(y_true, v, alpha), logits)
    assert np.all(np.isfinite(value)) and np.all(np.isfinite(grad))
    assert np.abs(grad).max() > 0


@pytest.mark.parametrize("alpha_fn", [hckeras.grid_weights, cell_weights])
def test_gradient_matches_float64_central_differences(rng, alpha_fn):
    """Autodiff of the stable loss (float32) against central differences of the naive
    float64 formula, on every logit of a small tensor."""
    size, grid = 4, 2
    alpha = alpha_fn(grid, size)
    logits = rng.uniform(-4, 4, (2, size, size, 2, grid * grid))
    y_true = rng.choice([1.0, 0.0, -1.0], size=(2, size, size, 2)).astype(np.float32)
    _, grad = value_and_gradient(
        lambda v: hypercolumn_loss(y_true, v, alpha), logits.astype(np.float32)
    )
    step, numeric = 1e-6, np.zeros_like(logits)
    for index in np.ndindex(logits.shape):
        plus, minus = logits.copy(), logits.copy()
        plus[index] += step
        minus[index] -= step
        numeric[index] = (
            _naive(y_true, plus, alpha).sum() - _naive(y_true, minus, alpha).sum()
        ) / (2 * step)
    assert np.abs(numeric).max() > 1e-3  # the check is not vacuous
    np.testing.assert_allclose(grad, numeric, rtol=1e-3, atol=1e-6)
    # Ignored pixels and classifiers with zero weight get exactly no gradient.
    ignored = np.broadcast_to((y_true < 0)[..., None], logits.shape)
    unweighted = np.broadcast_to((alpha == 0)[None, :, :, None, :], logits.shape)
    assert not np.any(grad[ignored | unweighted])


def test_confident_right_answer_costs_nothing_and_wrong_one_is_linear():
    alpha = hckeras.grid_weights(1, 2)
    y_true = np.ones((1, 2, 2, 1), np.float32)
    right = np.full((1, 2, 2, 1, 1), 1e4, np.float32)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(hypercolumn_loss(y_true, right, alpha)), 0
    )
    wrong = -right
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(hypercolumn_loss(y_true, wrong, alpha)), 1e4, rtol=1e-6
    )


def test_cell_mode_is_binary_cross_entropy_on_own_classifier(rng):
    y_true, logits = _data(rng, 8)
    y_true = np.where(y_true < 0, 0, y_true)  # all labelled
    loss = HypercolumnLoss(K, S, mode="cell", reduction=None)
    out = keras.ops.convert_to_numpy(loss(y_true, logits))
    own = (logits * cell_weights(K, S)[:, :, None, :]).sum(-1).astype(np.float64)
    bce = np.maximum(own, 0) - own * y_true + np.log1p(np.exp(-np.abs(own)))
    np.testing.assert_allclose(out, bce.mean((1, 2, 3)), rtol=1e-5)


def test_sample_without_labels_is_zero_and_weights_scale_samples(rng):
    y_true, logits = _data(rng, 3)
    y_true[1] = -1
    loss = HypercolumnLoss(K, S, reduction=None)
    per_sample = keras.ops.convert_to_numpy(loss(y_true, logits))
    assert per_sample[1] == 0 and per_sample[0] > 0
    weights = np.array([0.5, 1.0, 2.0], np.float32)
    mean = keras.ops.convert_to_numpy(HypercolumnLoss(K, S)(y_true, logits, sample_weight=weights))
    np.testing.assert_allclose(mean, (per_sample * weights).mean(), rtol=1e-5)


def test_shape_mismatch_is_a_clear_error():
    loss = HypercolumnLoss(K, S)
    logits = np.zeros((1, S, S, C, K * K), np.float32)
    with pytest.raises(ValueError, match="y_true must have shape"):
        loss(np.zeros((1, S, S, C + 1), np.float32), logits)
    with pytest.raises(ValueError, match="expects logits of shape"):
        loss(np.zeros((1, S, S, C), np.float32), np.zeros((1, S, S, C, 4), np.float32))


def test_unknown_mode():
    with pytest.raises(ValueError, match="unknown loss mode 'sum'"):
        HypercolumnLoss(K, S, mode="sum")


def test_config_round_trip_and_serialization(rng):
    loss = HypercolumnLoss(K, S, mode="cell")
    clone = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(clone, HypercolumnLoss) and clone.get_config() == loss.get_config()
    y_true, logits = _data(rng, 4)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(clone(y_true, logits)),
        keras.ops.convert_to_numpy(loss(y_true, logits)),
    )


@pytest.mark.parametrize("alpha_fn, count", [(hckeras.grid_weights, 4), (cell_weights, 1)])
def test_active_cells_rebuild_alpha(alpha_fn, count):
    """The gathered classifiers and weights are exactly alpha's non-zero entries."""
    alpha = alpha_fn(5, 32)
    indices, weights = active_cells(alpha)
    assert indices.shape == weights.shape == (32, 32, count)
    rebuilt = np.zeros_like(alpha)
    rows, cols = np.indices((32, 32))
    for slot in range(count):
        np.add.at(rebuilt, (rows, cols, indices[..., slot]), weights[..., slot])
    np.testing.assert_array_equal(rebuilt, alpha)
    # A pixel at a cell centre blends one classifier; the padding weighs nothing.
    assert (weights > 0).sum(-1).min() == 1
