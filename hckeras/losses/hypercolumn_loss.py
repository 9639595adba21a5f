"""The composite sigmoid-interpolation loss (paper section 3, "Representation as a
neural network"), computed in log space so that it never forms `p` and takes its log."""

import keras
import numpy as np
from keras import ops

from hckeras.layers.grid_weights import cell_weights, grid_weights

MODES = ("interpolated", "cell")


def _masked_logsumexp(values, mask):
    """`log(sum_k mask_k * exp(values_k))` over the last axis, stably.

    `mask` is a constant 0/1 array broadcastable to `values` with at least one 1
    per row. Masked entries are zeroed before `exp`, so they contribute neither
    to the value nor (as NaN or inf) to the gradient.
    """
    floor = ops.min(values, axis=-1, keepdims=True)
    peak = ops.max(ops.where(mask > 0, values, floor), axis=-1, keepdims=True)
    peak = ops.stop_gradient(peak)
    shifted = ops.where(mask > 0, values - peak, ops.zeros_like(values))
    total = ops.sum(mask * ops.exp(shifted), axis=-1)
    return ops.squeeze(peak, axis=-1) + ops.log(total)


def active_cells(alpha):
    """The classifiers each pixel actually blends: those with `alpha > 0`.

    Bilinear weights touch at most 4 of the K*K classifiers per pixel (the cell
    heuristic 1), so the loss only needs those logits: gathering them first cuts
    its elementwise work by K*K / 4 (6x for K = 5).

    Args:
        alpha: `(S, S, K*K)` weights (`grid_weights` or `cell_weights`).

    Returns:
        `(indices, weights)`, both `(S, S, A)` with A the largest number of
        non-zero weights of any pixel: the classifiers' indices (int32) and their
        weights, padded with index 0 and weight 0.
    """
    alpha = np.asarray(alpha, dtype=np.float32)
    count = int((alpha > 0).sum(axis=-1).max())
    # Non-zero weights first, in classifier order (a stable sort of 0/1 keys).
    order = np.argsort((alpha <= 0).astype(np.int8), axis=-1, kind="stable")[..., :count]
    weights = np.take_along_axis(alpha, order, axis=-1)
    return order.astype(np.int32), weights


def hypercolumn_loss(y_true, logits, alpha):
    """Per-sample negative log-likelihood of eq. 3's interpolated probabilities.

    With `p_i = sum_k alpha_ik sigmoid(s_ik)` and `sum_k alpha_ik = 1`:
    `log p_i = logsumexp_k(log alpha_ik - softplus(-s_ik))` and
    `log(1 - p_i) = logsumexp_k(log alpha_ik - softplus(s_ik))`, terms with
    `alpha_ik = 0` dropped (their logits are not even gathered, `active_cells`).

    Args:
        y_true: `(B, S, S, C)` targets in {1, 0, -1}; -1 is ignored.
        logits: `(B, S, S, C, K*K)` grid-classifier scores.
        alpha: `(S, S, K*K)` NumPy weights (`grid_weights` or `cell_weights`).

    Returns:
        `(B,)` mean loss over each sample's labelled locations (0 if none).
    """
    logits = ops.cast(logits, "float32")
    y_true = ops.cast(y_true, "float32")
    indices, weights = active_cells(alpha)
    shape = ops.shape(logits)
    indices = ops.broadcast_to(indices[None, :, :, None, :], (*shape[:4], indices.shape[-1]))
    active = ops.take_along_axis(logits, indices, axis=-1)  # (B, S, S, C, A)
    weights = weights[:, :, None, :]
    mask = ops.convert_to_tensor((weights > 0).astype(np.float32))
    log_alpha = ops.convert_to_tensor(np.log(np.where(weights > 0, weights, 1.0)))
    log_p = _masked_logsumexp(log_alpha - ops.softplus(-active), mask)
    log_not_p = _masked_logsumexp(log_alpha - ops.softplus(active), mask)
    labelled = ops.cast(y_true >= 0, "float32")
    positive = ops.cast(y_true > 0.5, "float32")
    nll = -(positive * log_p + (1.0 - positive) * log_not_p) * labelled
    count = ops.sum(labelled, axis=(1, 2, 3))
    return ops.sum(nll, axis=(1, 2, 3)) / ops.maximum(count, 1.0)


@keras.saving.register_keras_serializable(package="hckeras")
class HypercolumnLoss(keras.losses.Loss):
    """Composite loss on the logits of `build_hypercolumn_model`.

    Args:
        grid_size: K.
        output_size: S.
        mode: "interpolated" trains the interpolated classifier of eq. 3 end to
            end; "cell" is the paper's heuristic, each classifier trained only on
            the pixels of its own grid cell.

    `y_true`: `(B, S, S, C)` with 1, 0 and -1 (ignore). `y_pred`:
    `(B, S, S, C, K*K)` logits. Per-sample weights (`sample_weight` in `fit`)
    scale each sample's mean; the batch is averaged by Keras's reduction.

    >>> model.compile("adam", loss=HypercolumnLoss(grid_size=5, output_size=50))
    """

    def __init__(
        self,
        grid_size,
        output_size,
        mode="interpolated",
        name="hypercolumn_loss",
        reduction="sum_over_batch_size",
        **kwargs,
    ):
        super().__init__(name=name, reduction=reduction, **kwargs)
        if mode not in MODES:
            raise ValueError(f"unknown loss mode {mode!r}; valid modes: {', '.join(MODES)}")
        weights = grid_weights if mode == "interpolated" else cell_weights
        self._alpha = weights(grid_size, output_size)
        self.grid_size, self.output_size, self.mode = grid_size, output_size, mode

    def call(self, y_true, y_pred):
        self._check_shapes(y_true.shape, y_pred.shape)
        return hypercolumn_loss(y_true, y_pred, self._alpha)

    def _check_shapes(self, true_shape, pred_shape):
        size, cells = self.output_size, self.grid_size * self.grid_size
        if len(pred_shape) != 5 or tuple(pred_shape[1:3]) != (size, size) or pred_shape[4] != cells:
            raise ValueError(
                f"HypercolumnLoss(grid_size={self.grid_size}, output_size={size}) expects "
                f"logits of shape (B, {size}, {size}, num_maps, {cells}), got {tuple(pred_shape)}"
            )
        expected = (size, size, pred_shape[3])
        if len(true_shape) != 4 or any(
            t is not None and p is not None and t != p
            for t, p in zip(true_shape[1:], expected, strict=True)
        ):
            raise ValueError(
                f"y_true must have shape (B, {size}, {size}, {pred_shape[3]}) to match the "
                f"logits {tuple(pred_shape)}, got {tuple(true_shape)}"
            )

    def get_config(self):
        return {
            **super().get_config(),
            "grid_size": self.grid_size,
            "output_size": self.output_size,
            "mode": self.mode,
        }
