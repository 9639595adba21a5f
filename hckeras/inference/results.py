"""`Predictor` results -> COCO results dicts (docs/data_format.md, "Results").

    {image_id, category_id, bbox: [x, y, w, h], score,
     segmentation: RLE,              # segmentation models; the foreground of part models
     keypoints: [x, y, s] * K,       # keypoint models
     parts: [RLE] * P}               # part models: part p's pixels (label p + 1)

RLE masks are pycocotools' compressed RLE with `counts` as a str, so the list
is plain JSON and loads with `COCO.loadRes`. Box-local masks (a result with a
`window`, `hckeras.inference.paste`) are encoded from the window alone
(`encode_window_mask`): the same RLE as the image-sized mask's, without building it.
"""

import json

import numpy as np

from hckeras.boxes import xyxy_to_xywh
from hckeras.io import write_text_atomic


def encode_mask(mask):
    """bool `(H, W)` -> COCO RLE `{"size": [H, W], "counts": str}`."""
    from pycocotools import mask as mask_utils

    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2:
        raise ValueError(f"mask must be (H, W), got shape {mask.shape}")
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")}


def encode_window_mask(mask, window, image_size):
    """bool `(h, w)` over the int xyxy `window` of an `image_size` `(H, W)` image
    (False elsewhere) -> the COCO RLE of the image-sized mask, `encode_mask`'s
    bit for bit, in time and memory of the window's size.

    >>> encode_window_mask(np.ones((1, 1), bool), (1, 0, 2, 1), (2, 2))["counts"]
    '211'
    """
    from pycocotools import mask as mask_utils

    from hckeras.resample import check_window

    mask = np.asarray(mask, dtype=bool)
    height, width = int(image_size[0]), int(image_size[1])
    x0, y0, x1, y1 = check_window(window, image_size)
    if mask.shape != (y1 - y0, x1 - x0):
        raise ValueError(f"mask of shape {mask.shape} does not fit window {(x0, y0, x1, y1)}")
    # COCO RLE runs over the pixels in column-major order. One False row above and
    # below each window column keeps every run inside its column.
    side = mask.shape[0] + 2
    columns = np.zeros((mask.shape[1], side), dtype=bool)
    columns[:, 1:-1] = mask.T
    changes = np.flatnonzero(columns.reshape(-1)[1:] != columns.reshape(-1)[:-1]) + 1
    column, row = np.divmod(changes, side)
    edges = (x0 + column).astype(np.int64) * height + y0 + row - 1
    starts, ends = edges[0::2], edges[1::2]
    # A run that ends at the bottom of the image and one that starts at the top of
    # the next column are one run (windows as tall as the image).
    apart = ends[:-1] != starts[1:]
    starts = np.concatenate([starts[:1], starts[1:][apart]])
    ends = np.concatenate([ends[:-1][apart], ends[-1:]])
    bounds = np.empty(2 * len(starts), dtype=np.int64)
    bounds[0::2], bounds[1::2] = starts, ends
    counts = np.diff(np.concatenate([[0], bounds, [height * width]]))
    if len(counts) > 1 and counts[-1] == 0:
        counts = counts[:-1]
    size = [height, width]
    rle = mask_utils.frPyObjects({"counts": counts.tolist(), "size": size}, height, width)
    return {"size": size, "counts": rle["counts"].decode("ascii")}


def _encode(prediction, mask):
    if "window" in prediction:
        return encode_window_mask(mask, prediction["window"], prediction["image_size"])
    return encode_mask(mask)


def results_to_coco(predictions, image_id=None):
    """Convert `Predictor.predict` output to COCO results dicts.

    Args:
        predictions: list of `Predictor` result dicts.
        image_id: the image they belong to; default each prediction's `image_id`.

    Returns:
        list of JSON-serialisable dicts, one per prediction.
    """
    results = []
    for position, prediction in enumerate(predictions):
        entry_image = prediction.get("image_id") if image_id is None else image_id
        if entry_image is None:
            raise ValueError(
                f"predictions[{position}] has no image_id; pass image_id= to results_to_coco"
            )
        entry = {
            "image_id": int(entry_image),
            "category_id": int(prediction["category_id"]),
            "bbox": [float(v) for v in xyxy_to_xywh(prediction["box"])],
            "score": float(prediction["score"]),
        }
        for key in ("box_score", "mask_quality"):  # Predictor(scoring="mask")
            if key in prediction:
                entry[key] = float(prediction[key])
        if "mask" in prediction:
            entry["segmentation"] = _encode(prediction, prediction["mask"])
        if "keypoints" in prediction:
            entry["keypoints"] = [float(v) for v in np.asarray(prediction["keypoints"]).ravel()]
        if "part_labels" in prediction:
            labels = prediction["part_labels"]
            entry["parts"] = [
                _encode(prediction, labels == part + 1)
                for part in range(len(prediction["part_names"]))
            ]
        results.append(entry)
    return results


def write_results(path, results):
    """Write COCO results as JSON, atomically."""
    write_text_atomic(path, json.dumps(results))
