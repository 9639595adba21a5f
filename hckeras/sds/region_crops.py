"""The two inputs of the region rescorer for one candidate (paper section 4.2).

The box crop is the candidate's expanded box resampled to the model's input size, the
crop the mask model sees; the region crop is the same crop with the predicted region's
background set to `BACKGROUND_FILL` (the grey that tiny's in-graph normalisation maps to
0, as [22] sets the background to the mean).

    box_crop, region_crop = region_crops(image, result, spec)   # (H, W, 3) float32 each
"""

import numpy as np

from hckeras.resample import crop_and_resize

BACKGROUND_FILL = 127.5


def crop_mask(mask, window, expanded_box, size):
    """A box-local bool `mask` over int `window` resampled onto the `size` `(h, w)` crop
    of the xyxy `expanded_box`: bool `(h, w)`, True where the bilinear sample is >= 0.5."""
    x0, y0 = window[0], window[1]
    box = np.asarray(expanded_box, dtype=np.float64) - [x0, y0, x0, y0]
    return crop_and_resize(np.asarray(mask, np.float32), box, size, fill=0.0) >= 0.5


def region_crops(image, result, spec, background_fill=BACKGROUND_FILL):
    """`(box_crop, region_crop)`, float32 `(H, W, 3)` each, for a segmentation
    `Predictor` result (`expanded_box`, `mask`, `window`) and its model's `ModelSpec`."""
    fill = float(spec.input_format.get("fill", 0.0))
    box_crop = crop_and_resize(image, result["expanded_box"], spec.input_size, fill=fill)
    inside = crop_mask(result["mask"], result["window"], result["expanded_box"], spec.input_size)
    region_crop = np.where(inside[..., None], box_crop, np.float32(background_fill))
    return box_crop, region_crop.astype(np.float32)
