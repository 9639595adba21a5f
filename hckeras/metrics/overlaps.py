"""Overlaps between detection and ground-truth masks: mask IoU and part-aware IoU.

Both count the union over the figure-ground masks and treat crowd regions as COCO does:
against a crowd region the overlap is the figure-ground intersection over the detection's
area (how much of the detection lies inside the crowd). Empty denominators give 0, as in
pycocotools.
"""

import numpy as np


def _flatten(array, name, dtype):
    array = np.asarray(array)
    if array.ndim != 3:
        raise ValueError(f"{name} must have shape (N, H, W), got {array.shape}")
    return array.reshape(array.shape[0], array.shape[1] * array.shape[2]).astype(dtype, copy=False)


def _check_sizes(det_masks, gt_masks, gt_crowd):
    det_size, gt_size = np.shape(det_masks)[1:], np.shape(gt_masks)[1:]
    if det_size != gt_size:
        raise ValueError(
            f"det_masks are {det_size} (H, W) but gt_masks are {gt_size}: "
            "masks of one image must have the same size"
        )
    if np.shape(gt_crowd) != np.shape(gt_masks)[:1]:
        raise ValueError(
            f"gt_crowd must have shape {np.shape(gt_masks)[:1]}, got {np.shape(gt_crowd)}"
        )


def _check_same_shape(parts, masks, parts_name, masks_name):
    if np.shape(parts) != np.shape(masks):
        raise ValueError(
            f"{parts_name} has shape {np.shape(parts)} but {masks_name} has {np.shape(masks)}"
        )


def _count_overlaps(det, gt):
    """(D, G) float64: number of pixels set in both, for (D, P) and (G, P) bool rows."""
    counts = [np.count_nonzero(gt & row, axis=1) for row in det]
    return np.array(counts, dtype=np.float64).reshape(len(det), len(gt))


def _divide(intersection, fg_intersection, det, gt, gt_crowd):
    crowd = np.asarray(gt_crowd, dtype=bool)[None, :]
    det_area = np.count_nonzero(det, axis=1).astype(np.float64)[:, None]
    gt_area = np.count_nonzero(gt, axis=1).astype(np.float64)[None, :]
    numerator = np.where(crowd, fg_intersection, intersection)
    union = np.where(crowd, det_area, det_area + gt_area - fg_intersection)
    return np.divide(numerator, union, out=np.zeros_like(numerator), where=union > 0)


def mask_ious(det_masks, gt_masks, gt_crowd):
    """Mask IoU of every detection with every ground-truth instance (pycocotools' `iou`).

    Args:
        det_masks: (D, H, W) bool, detection masks.
        gt_masks: (G, H, W) bool, ground-truth masks.
        gt_crowd: (G,) bool, crowd regions (overlap = intersection / detection area).

    Returns:
        (D, G) float64.

    >>> det = np.zeros((1, 2, 2), bool); det[0, 0] = True   # top row: 2 pixels
    >>> gt = np.ones((2, 2, 2), bool)                        # whole image, twice
    >>> mask_ious(det, gt, np.array([False, True]))
    array([[0.5, 1. ]])
    """
    _check_sizes(det_masks, gt_masks, gt_crowd)
    det = _flatten(det_masks, "det_masks", bool)
    gt = _flatten(gt_masks, "gt_masks", bool)
    intersection = _count_overlaps(det, gt)
    return _divide(intersection, intersection, det, gt, gt_crowd)


def part_ious(det_masks, det_parts, gt_masks, gt_parts, gt_crowd):
    """Part-aware IoU (APr-part): only pixels with the right part label intersect.

    The intersection counts the pixels inside both figure-ground masks whose predicted part
    label equals the ground-truth one (labels > 0); the union is that of the figure-ground
    masks. Crowd regions have no parts and use the crowd overlap of `mask_ious`.

    Args:
        det_masks: (D, H, W) bool, detection figure-ground masks.
        det_parts: (D, H, W) int, predicted part label per pixel (0: no part).
        gt_masks: (G, H, W) bool, ground-truth masks.
        gt_parts: (G, H, W) int, ground-truth part labels (0: no part; ignored for crowds).
        gt_crowd: (G,) bool.

    Returns:
        (D, G) float64, at most the `mask_ious` value of the same pair.
    """
    _check_sizes(det_masks, gt_masks, gt_crowd)
    _check_same_shape(det_parts, det_masks, "det_parts", "det_masks")
    _check_same_shape(gt_parts, gt_masks, "gt_parts", "gt_masks")
    det = _flatten(det_masks, "det_masks", bool)
    gt = _flatten(gt_masks, "gt_masks", bool)
    det_labels = np.where(det, _flatten(det_parts, "det_parts", np.int64), 0)
    gt_labels = np.where(gt, _flatten(gt_parts, "gt_parts", np.int64), 0)
    agree = [np.count_nonzero((gt_labels == row) & (gt_labels > 0), axis=1) for row in det_labels]
    intersection = np.array(agree, dtype=np.float64).reshape(len(det), len(gt))
    return _divide(intersection, _count_overlaps(det, gt), det, gt, gt_crowd)


def mask_iou(a, b):
    """IoU of two bool masks of one shape (0 when both are empty).

    >>> mask_iou(np.array([True, True, False]), np.array([False, True, True]))
    0.3333333333333333
    """
    union = np.count_nonzero(np.logical_or(a, b))
    return np.count_nonzero(np.logical_and(a, b)) / union if union else 0.0
