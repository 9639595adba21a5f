"""Pictures of predictions, for people: overlays and side-by-side report figures.

All images are RGB uint8 arrays; `save_png` converts to OpenCV's BGR on write.

    picture = draw_overlay(image, predictor.predict(image, detections), categories)
    save_png("out/000001_overlay.png", picture)
"""

from pathlib import Path

import cv2
import numpy as np

from hckeras.io import write_bytes_atomic

INSTANCE_COLORS = (
    (230, 25, 75),
    (60, 180, 75),
    (0, 130, 200),
    (245, 130, 48),
    (145, 30, 180),
    (70, 240, 240),
    (240, 50, 230),
    (210, 245, 60),
    (250, 190, 212),
    (0, 128, 128),
)
"""RGB colours of instances, cycled in detection order."""

PART_COLORS = (
    (255, 0, 0),
    (0, 255, 0),
    (0, 0, 255),
    (255, 0, 255),
    (0, 255, 255),
    (255, 255, 0),
    (255, 128, 0),
    (128, 0, 255),
)
"""RGB colours of part labels 1, 2, ... (cycled); the first four are the paper's figure 6."""

_SHIFT = 4  # cv2 fixed-point fractional bits, for sub-pixel drawing
_FAR = 1e6  # coordinates are clipped to +-_FAR pixels, inside cv2's int32 range


def draw_overlay(
    image, predictions, categories=None, alpha=0.5, keypoint_threshold=0.0, in_place=False
):
    """Draw predictions over an image.

    Masks are filled semi-transparently in the instance's colour and outlined;
    part labels are filled in `PART_COLORS`; keypoints are dots joined by the
    category's skeleton; every detection gets its box and a `name score` label.

    Args:
        image: `(H, W, 3)` RGB (uint8 or float in [0, 255]).
        predictions: `Predictor.predict` dicts; box-local maps (with a `window`,
            `hckeras.inference.paste`) are drawn inside their window only, or
            image-sized maps without one.
        categories: COCO category dicts (list, or dict by id) for names and
            `skeleton` (pairs of 1-based keypoint indices); optional.
        alpha: opacity of mask and part fills.
        keypoint_threshold: draw keypoints scored at least this.
        in_place: draw on `image` itself (a writeable C-contiguous uint8 array)
            instead of on a copy: for images too large to copy.

    Returns:
        uint8 `(H, W, 3)` RGB (`image` itself when `in_place`).
    """
    image = np.asarray(image)
    if in_place:
        if image.dtype != np.uint8 or not image.flags.c_contiguous or not image.flags.writeable:
            raise ValueError(
                f"in_place drawing needs a writeable C-contiguous uint8 image, got {image.dtype}"
            )
        canvas = image
    elif image.dtype == np.uint8:
        canvas = np.array(image, order="C")
    else:
        canvas = np.ascontiguousarray(np.clip(image, 0, 255).astype(np.uint8))
    if isinstance(categories, list | tuple):
        categories = {c["id"]: c for c in categories}
    categories = categories or {}
    thickness = max(1, round(max(canvas.shape[:2]) / 400))
    for number, prediction in enumerate(predictions):
        color = INSTANCE_COLORS[number % len(INSTANCE_COLORS)]
        x0, y0, x1, y1 = prediction.get("window", (0, 0, canvas.shape[1], canvas.shape[0]))
        region = canvas[y0:y1, x0:x1]
        if "part_labels" in prediction:
            labels = prediction["part_labels"]
            for part in range(1, int(labels.max(initial=0)) + 1):
                part_color = PART_COLORS[(part - 1) % len(PART_COLORS)]
                _blend(region, labels == part, part_color, alpha)
            _outline(canvas, prediction["mask"], (x0, y0), color, thickness)
        elif "mask" in prediction:
            _blend(region, prediction["mask"], color, alpha)
            _outline(canvas, prediction["mask"], (x0, y0), color, thickness)
        if "keypoints" in prediction:
            skeleton = categories.get(prediction["category_id"], {}).get("skeleton", [])
            _draw_keypoints(
                canvas, prediction["keypoints"], skeleton, color, keypoint_threshold, thickness
            )
        name = categories.get(prediction["category_id"], {}).get(
            "name", str(prediction["category_id"])
        )
        _draw_box(canvas, prediction["box"], f"{name} {prediction['score']:.2f}", color, thickness)
    return canvas


def side_by_side(images, titles=None, gap=4, background=255):
    """Join images left to right, each under its title, into one report figure.

    Images may be RGB, grayscale `(H, W)`, bool (black/white) or float in
    [0, 1] (e.g. a probability map); shorter ones are padded at the bottom.

    Returns:
        uint8 `(H, W, 3)` RGB.
    """
    panels = [_as_rgb_uint8(image) for image in images]
    if not panels:
        raise ValueError("side_by_side needs at least one image")
    titles = list(titles) if titles is not None else [""] * len(panels)
    if len(titles) != len(panels):
        raise ValueError(f"got {len(titles)} titles for {len(panels)} images")
    title_height = 20 if any(titles) else 0
    height = max(p.shape[0] for p in panels) + title_height
    width = sum(p.shape[1] for p in panels) + gap * (len(panels) - 1)
    figure = np.full((height, width, 3), background, dtype=np.uint8)
    x = 0
    for panel, title in zip(panels, titles, strict=True):
        figure[title_height : title_height + panel.shape[0], x : x + panel.shape[1]] = panel
        if title:
            font = cv2.FONT_HERSHEY_SIMPLEX
            cv2.putText(figure, title, (x + 2, 15), font, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
        x += panel.shape[1] + gap
    return figure


def save_png(path, image, copy=True):
    """Write an RGB image as PNG, creating the folder (atomically: `write_bytes_atomic`).

    `copy=False` converts a writeable uint8 RGB `image` to OpenCV's BGR in place
    (row strip by row strip) instead of into a new array, leaving it BGR: for a
    large picture that is no longer needed.
    """
    path = Path(path)
    picture = _as_rgb_uint8(image)
    if copy or picture is not image or not picture.flags.writeable:
        picture = cv2.cvtColor(picture, cv2.COLOR_RGB2BGR)
    else:
        for start in range(0, len(picture), 256):
            rows = picture[start : start + 256]
            rows[...] = rows[..., ::-1].copy()
    ok, png = cv2.imencode(".png", picture)
    if not ok:
        raise ValueError(f"could not encode PNG {path}")
    write_bytes_atomic(path, png.tobytes())


def _as_rgb_uint8(image):
    image = np.asarray(image)
    if image.dtype == bool:
        image = image.astype(np.uint8) * 255
    elif np.issubdtype(image.dtype, np.floating) and image.max(initial=0) <= 1:
        image = np.round(np.clip(image, 0, 1) * 255)
    if image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"expected an (H, W) or (H, W, 3) image, got shape {image.shape}")
    return np.ascontiguousarray(image)


def _blend(canvas, mask, color, alpha):
    mask = np.asarray(mask, dtype=bool)
    if mask.any():
        blended = (1 - alpha) * canvas[mask] + alpha * np.asarray(color, dtype=np.float64)
        canvas[mask] = np.round(blended).astype(np.uint8)


def _outline(canvas, mask, origin, color, thickness):
    """Outline `mask`, whose top-left pixel is the canvas's pixel `origin` (x, y)."""
    mask = np.asarray(mask, dtype=np.uint8)
    if mask.size == 0:
        return
    contours, _ = cv2.findContours(
        mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE, offset=tuple(int(v) for v in origin)
    )
    cv2.drawContours(canvas, contours, -1, color, thickness)


def _point(x, y):
    """Continuous image coordinates -> cv2 fixed-point pixel coordinates (centres at
    integers)."""
    scale = 1 << _SHIFT
    x, y = np.clip([x - 0.5, y - 0.5], -_FAR, _FAR)
    return round(x * scale), round(y * scale)


def _draw_keypoints(canvas, keypoints, skeleton, color, threshold, thickness):
    keypoints = np.asarray(keypoints, dtype=np.float64)
    shown = keypoints[:, 2] >= threshold
    for a, b in skeleton:
        i, j = a - 1, b - 1
        if max(i, j) < len(keypoints) and shown[i] and shown[j]:
            start, end = _point(*keypoints[i, :2]), _point(*keypoints[j, :2])
            cv2.line(canvas, start, end, color, thickness, cv2.LINE_AA, _SHIFT)
    radius = (thickness + 2) << _SHIFT
    for x, y, _ in keypoints[shown]:
        cv2.circle(canvas, _point(x, y), radius, (255, 255, 255), -1, cv2.LINE_AA, _SHIFT)
        cv2.circle(canvas, _point(x, y), radius, color, thickness, cv2.LINE_AA, _SHIFT)


def _draw_box(canvas, box, label, color, thickness):
    x0, y0, x1, y1 = (float(v) for v in box)
    # The outline runs through the centres of the box's outermost pixels.
    top_left = _point(x0 + 0.5, y0 + 0.5)
    bottom_right = _point(max(x0 + 0.5, x1 - 0.5), max(y0 + 0.5, y1 - 0.5))
    cv2.rectangle(canvas, top_left, bottom_right, color, thickness, cv2.LINE_AA, _SHIFT)
    font, scale = cv2.FONT_HERSHEY_SIMPLEX, 0.4
    (text_width, text_height), baseline = cv2.getTextSize(label, font, scale, 1)
    left = int(np.clip(x0, 0, _FAR))
    bottom = int(np.clip(y0, text_height + baseline + 2, _FAR))
    top_left, bottom_right = (
        (left, bottom - text_height - baseline - 2),
        (left + text_width + 2, bottom),
    )
    cv2.rectangle(canvas, top_left, bottom_right, color, -1)
    origin = (left + 1, bottom - baseline - 1)
    cv2.putText(canvas, label, origin, font, scale, (255, 255, 255), 1, cv2.LINE_AA)
