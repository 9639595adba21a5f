"""Reading images as uint8 RGB arrays.

`load_image` is the one way hckeras reads an image file: training, validation,
inference and the metrics all see the same pixels. It never resizes: crops are
sampled directly from the full-resolution array (`hckeras.resample`), so a very
large image costs memory for its pixels, not for a resized copy.
"""

import os

import cv2
import numpy as np


def load_image(path):
    """Read an image file as a uint8 RGB array.

    Grayscale becomes RGB (the value repeated in all three channels), an alpha
    channel is dropped, 16-bit samples become 8-bit (`round(value / 257)`, so
    65535 -> 255), and OpenCV's BGR order becomes RGB. EXIF orientation is not
    applied: pixels are used as stored, like the COCO annotations do.

    Args:
        path: file path (str or `os.PathLike`).

    Returns:
        uint8 array `(H, W, 3)`.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file exists but is not an image OpenCV can decode, or has
            a sample type other than 8 or 16 bits.

    >>> load_image("images/000001.png").shape  # doctest: +SKIP
    (480, 640, 3)
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"image file not found: {path}")
    image = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ValueError(f"cannot read image {path}: not an image format OpenCV can decode")
    if image.dtype == np.uint16:
        image = ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise ValueError(f"image {path} has {image.dtype} samples; expected 8 or 16 bits")
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    channels = image.shape[2]
    if channels in (1, 2):
        return cv2.cvtColor(np.ascontiguousarray(image[:, :, 0]), cv2.COLOR_GRAY2RGB)
    if channels == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    if channels == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    raise ValueError(f"image {path} has {channels} channels; expected 1 to 4")


def load_coco_image(images_dir, info):
    """`load_image` of a COCO image entry (`file_name` under `images_dir`), checked
    against the entry's `width` and `height`.

    Raises:
        ValueError: the file's size differs from the entry's, naming both and the id.
    """
    from pathlib import Path

    path = Path(images_dir) / info["file_name"]
    image = load_image(path)
    if list(image.shape[:2]) != [info["height"], info["width"]]:
        raise ValueError(
            f"image {path} is {image.shape[1]}x{image.shape[0]} but the ground truth "
            f"says {info['width']}x{info['height']} (image id {info['id']})"
        )
    return image
