"""Inference: detections -> masks, part labels and keypoints, outside the model graph.

- `Predictor`, `load_predictor`: crop, run, decode, per image (`predictor`).
- `predict_dataset`, `results_to_coco`, `write_results`, `encode_window_mask`: COCO
  results (`dataset`, `results`).
- Plain post-processing shared with the parity tests: `paste_mask(s)`, and
  `full_image` / `to_image` for box-local result maps (`paste`),
  `decode_keypoints`, `part_labels`, `part_foreground` (`decode`),
  `project_to_superpixels` (`superpixels`).
- Runners: `KerasRunner`, `run_in_batches`, the `Runner` protocol (`runners`).
- Pictures: `draw_overlay`, `side_by_side`, `save_png` (`overlay`).

Importing this package does not import Keras; `KerasRunner` and
`load_predictor` do when used.
"""

from hckeras.inference.dataset import predict_dataset
from hckeras.inference.decode import decode_keypoints, part_foreground, part_labels
from hckeras.inference.overlay import draw_overlay, save_png, side_by_side
from hckeras.inference.paste import full_image, paste_mask, paste_masks, to_image
from hckeras.inference.predictor import SKIP_REASONS, Predictor, load_predictor
from hckeras.inference.results import (
    encode_mask,
    encode_window_mask,
    results_to_coco,
    write_results,
)
from hckeras.inference.runners import KerasRunner, Runner, run_in_batches
from hckeras.inference.superpixels import project_to_superpixels

__all__ = [
    "SKIP_REASONS",
    "KerasRunner",
    "Predictor",
    "Runner",
    "decode_keypoints",
    "draw_overlay",
    "encode_mask",
    "encode_window_mask",
    "full_image",
    "load_predictor",
    "paste_mask",
    "paste_masks",
    "part_foreground",
    "part_labels",
    "predict_dataset",
    "project_to_superpixels",
    "results_to_coco",
    "run_in_batches",
    "save_png",
    "side_by_side",
    "to_image",
    "write_results",
]
