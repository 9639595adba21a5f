"""`TrainConfig`: every argument of a training run, saved in its run directory."""

import dataclasses
import json
from pathlib import Path

from hckeras.data.image_cache import DEFAULT_IMAGE_CACHE_MB
from hckeras.io import write_json_atomic

CONFIG_FILE = "config.json"
RESUMABLE_CHANGES = ("epochs", "workers", "distribute", "batch_size", "image_cache_mb")
"""Options that may differ when a run is resumed: train longer, with more workers or
devices, with a batch size that fits the device's memory, or with another image
cache (the batches are the same)."""


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """A training run, as plain keyword arguments with defaults.

    `taps=None` uses the backbone's paper default; `input_size=None` the
    backbone's own size. `TrainConfig.from_preset(name, data=...)` starts from
    a named recipe (`hckeras.training.presets.PRESETS`).

    Optimisation: Adam (AdamW when `weight_decay > 0`) at `learning_rate`,
    constant or (`lr_schedule="cosine"`) decayed to 0 along a half cosine over
    all steps, after a linear warm-up from 0 over `warmup_epochs` epochs.
    `cache_dir`: train from cached shards (`hckeras.data.shards`) built there,
    `boxes_per_instance` jittered boxes per instance drawn once.
    `image_cache_mb`: MiB of decoded images the input pipeline keeps between
    batches (`hckeras.data.image_cache`; 0: decode on every use); it changes the
    speed, never the batches.
    `batch_norm_momentum`: set on every BatchNormalization layer of a new
    model (short runs from scratch need about 0.9 so that the moving statistics
    follow the weights; None keeps the backbone's own).
    `calibrate_threshold`: after training, choose the mask threshold on
    `val_data`'s ground-truth boxes and store it in the model's spec
    (`hckeras.training.threshold`; segmentation and parts; without
    `val_data` it stays 0.5).
    """

    data: str
    images: str | None = None
    task: str = "segmentation"
    backbone: str = "tiny"
    backbone_options: dict | None = None
    taps: dict | None = None
    grid_size: int = 5
    output_size: int = 50
    input_size: int | None = None
    weights: str | None = None
    loss_mode: str = "interpolated"
    epochs: int = 10
    batch_size: int = 16
    learning_rate: float = 1e-3
    lr_schedule: str = "constant"
    warmup_epochs: float = 0.0
    weight_decay: float = 0.0
    boxes_per_instance: int = 1
    min_iou: float = 0.7
    context_padding: float = 0.1
    augment: bool = True
    cache_dir: str | None = None
    batch_norm_momentum: float | None = None
    val_data: str | None = None
    val_images: str | None = None
    category_ids: list | None = None
    small_box_weight: float | None = None
    workers: int = 2
    image_cache_mb: float = DEFAULT_IMAGE_CACHE_MB
    seed: int = 0
    mixed_precision: str | None = None
    jit_compile: bool | str = "auto"
    distribute: bool = False
    calibrate_threshold: bool = False

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_preset(cls, name, **overrides):
        """The named recipe of `PRESETS`, with `overrides` (e.g. `data=...`)."""
        from hckeras.training.presets import preset_options

        return cls(**{**preset_options(name), **overrides})

    @classmethod
    def from_dict(cls, values):
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown training options: {sorted(unknown)}")
        return cls(**values)

    def save(self, run_dir):
        return write_json_atomic(Path(run_dir) / CONFIG_FILE, self.to_dict())

    @classmethod
    def load(cls, run_dir):
        path = Path(run_dir) / CONFIG_FILE
        try:
            return cls.from_dict(json.loads(path.read_text()))
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}: not valid JSON ({error})") from error

    def check_same_run(self, run_dir):
        """Refuse to resume a run directory that was started with other options
        (other than `RESUMABLE_CHANGES`); record the new ones otherwise."""
        saved = self.load(run_dir)
        changed = {
            k: (getattr(saved, k), getattr(self, k))
            for k in self.to_dict()
            if getattr(saved, k) != getattr(self, k) and k not in RESUMABLE_CHANGES
        }
        if changed:
            raise ValueError(
                f"{run_dir} holds a run with other options (saved vs now: {changed}); "
                "use another --out, or the same options to resume it"
            )
        self.save(run_dir)
