"""How good a predicted mask is likely to be, from its own probabilities.

A detection's box score says how sure the detector is that an object is there,
not how good the mask drawn in the box is. At strict overlaps (APr@0.7) that
matters: a confident box with a blurred mask ranks above a weaker box with a
sharp one. `expected_iou` reads the mask's quality off the model's probabilities
(like SOLO's "maskness", which averages them over the mask), and
`Predictor(scoring="mask")` ranks detections by box score x expected IoU: a
training-free stand-in for the paper's region rescoring (section 4.2,
`hckeras.sds` trains one).
"""

import numpy as np

SCORINGS = ("box", "mask")
"""`box`: a result's score is its detection's (the paper's protocol). `mask`: the
detection's score times `expected_iou` of its mask."""


def expected_iou(probability, mask):
    """Expected overlap of `mask` with a mask drawn from `probability`.

    With pixel `i` in the object with probability `p_i`, independently, the
    expected intersection with `mask` is `sum_{i in mask} p_i` and the expected
    union `|mask| + sum_{i not in mask} p_i`; their ratio is returned (the ratio
    of expectations). 1 for a mask whose probabilities are all 0 or 1; lower the
    more probability mass lies near the threshold, on either side of it.

    Args:
        probability: float `(h, w)` probabilities (a window of the image).
        mask: bool `(h, w)`, the thresholded mask over the same pixels.

    Returns:
        float in [0, 1]; 0 for an empty mask.

    >>> expected_iou(np.array([[0.9, 0.6, 0.2, 0.0]]), np.array([[True, True, False, False]]))
    0.6818181818181818
    """
    probability = np.asarray(probability, dtype=np.float64)
    mask = np.asarray(mask, dtype=bool)
    if probability.shape != mask.shape:
        raise ValueError(
            f"probability {probability.shape} and mask {mask.shape} must have the same shape"
        )
    inside = float(probability[mask].sum())
    union = float(mask.sum()) + float(probability[~mask].sum())
    return inside / union if union > 0 else 0.0
