"""What a saved model needs to be used: the JSON sidecar beside every model file.

A model file holds a graph from image crops to probabilities; `ModelSpec` says
what those crops and probabilities mean: the task and channel layout, the
crop size and pixel format, the context padding of the expanded box, and the
decision thresholds. Python inference and the Android app both read it.

    spec = ModelSpec(task="segmentation", layout=layout, backbone="vgg16",
                     taps={"pool3": 3, "pool4": 1}, grid_size=5, output_size=50,
                     input_size=(224, 224))
    spec.save(spec_path("runs/x/model.keras"))      # runs/x/model.json
    spec = ModelSpec.load("runs/x/model.json")
"""

import dataclasses
import json
from pathlib import Path

from hckeras.boxes import DEFAULT_CONTEXT_PADDING
from hckeras.io import write_text_atomic
from hckeras.tasks import TASKS, MapLayout

FORMAT_VERSION = 1
SUPPORTED_FORMAT_VERSIONS = (1,)

DEFAULT_INPUT_FORMAT = {
    "dtype": "float32",
    "color": "RGB",
    "range": [0.0, 255.0],
    "normalization": "in_graph",
    "fill": 0.0,
}
"""Crops are float32 RGB in [0, 255]; the graph normalizes them itself. `fill`
is the value of crop pixels outside the image (`resample.crop_and_resize`)."""

DEFAULT_THRESHOLDS = {"mask": 0.5}
"""`mask`: a pixel is foreground when its probability is >= this value."""


def spec_path(model_path):
    """Sidecar of a model file: the same path with suffix `.json`.

    >>> str(spec_path("runs/x/model.keras"))
    'runs/x/model.json'
    """
    return Path(model_path).with_suffix(".json")


def checked_sidecar(model_path, what="model"):
    """The spec sidecar of a `.keras` model file, after checking that both exist.

    Raises:
        ValueError: not a `.keras` path. FileNotFoundError: the model file or its sidecar
            is missing. Messages start with `what` ("model", "refiner", ...).
    """
    path = Path(model_path)
    if path.suffix != ".keras":
        raise ValueError(f"unsupported {what} file {path}: expected a .keras file")
    if not path.is_file():
        raise FileNotFoundError(f"{what} file {path} does not exist")
    sidecar = spec_path(path)
    if not sidecar.is_file():
        raise FileNotFoundError(f"{what} {path} has no spec sidecar {sidecar}")
    return sidecar


@dataclasses.dataclass(frozen=True, kw_only=True)
class ModelSpec:
    """Everything inference needs besides the graph itself.

    Attributes:
        format_version: version of this JSON format (`FORMAT_VERSION`).
        task: one of `hckeras.tasks.TASKS`; equals `layout.task`.
        layout: `MapLayout` of the output channels.
        backbone: backbone name, e.g. `"vgg16"`.
        taps: backbone layer name -> n of its n x n classifier neighbourhood.
        grid_size: K of the K x K grid of classifiers.
        output_size: S of the S x S heatmaps.
        input_size: `(height, width)` of the crops the graph takes.
        input_format: pixel format of the crops (`DEFAULT_INPUT_FORMAT`).
        context_padding: expanded box padding (`hckeras.boxes.expand_box`).
        thresholds: decision thresholds (`DEFAULT_THRESHOLDS`).
    """

    format_version: int = FORMAT_VERSION
    task: str
    layout: MapLayout
    backbone: str
    taps: dict
    grid_size: int
    output_size: int
    input_size: tuple
    input_format: dict = dataclasses.field(default_factory=lambda: dict(DEFAULT_INPUT_FORMAT))
    context_padding: float = DEFAULT_CONTEXT_PADDING
    thresholds: dict = dataclasses.field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))

    def __post_init__(self):
        if self.format_version not in SUPPORTED_FORMAT_VERSIONS:
            raise ValueError(
                f"model spec format_version {self.format_version!r} is not understood; "
                f"this hckeras reads versions {list(SUPPORTED_FORMAT_VERSIONS)}"
            )
        if self.task not in TASKS:
            raise ValueError(f"unknown task {self.task!r}; valid tasks: {', '.join(TASKS)}")
        if not isinstance(self.layout, MapLayout):
            raise ValueError(f"layout must be a MapLayout, got {type(self.layout).__name__}")
        if self.layout.task != self.task:
            raise ValueError(f"task {self.task!r} does not match the layout's {self.layout.task!r}")
        for name in ("grid_size", "output_size"):
            value = getattr(self, name)
            if not _is_positive_int(value):
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        input_size = tuple(self.input_size)
        if len(input_size) != 2 or not all(_is_positive_int(v) for v in input_size):
            raise ValueError(f"input_size must be (height, width) > 0, got {self.input_size!r}")
        object.__setattr__(self, "input_size", tuple(int(v) for v in input_size))
        bad_taps = {k: v for k, v in dict(self.taps).items() if not _is_positive_int(v)}
        if bad_taps:
            raise ValueError(f"tap neighbourhoods must be positive integers, got {bad_taps}")
        if not self.context_padding >= 0:
            raise ValueError(f"context_padding must be >= 0, got {self.context_padding!r}")
        bad = {k: v for k, v in dict(self.thresholds).items() if not 0 <= float(v) <= 1}
        if bad:
            raise ValueError(f"thresholds must lie in [0, 1], got {bad}")

    def to_config(self):
        """JSON-serialisable dict; `ModelSpec.from_config` reads it back."""
        return {
            "format_version": self.format_version,
            "task": self.task,
            "layout": self.layout.to_config(),
            "backbone": self.backbone,
            "taps": dict(self.taps),
            "grid_size": self.grid_size,
            "output_size": self.output_size,
            "input_size": list(self.input_size),
            "input_format": dict(self.input_format),
            "context_padding": float(self.context_padding),
            "thresholds": {k: float(v) for k, v in self.thresholds.items()},
        }

    @classmethod
    def from_config(cls, config, where="model spec"):
        """Build from a dict as written by `to_config`; errors name `where`."""
        if not isinstance(config, dict):
            raise ValueError(f"{where}: expected a JSON object, got {type(config).__name__}")
        version = config.get("format_version")
        if version not in SUPPORTED_FORMAT_VERSIONS:
            raise ValueError(
                f"{where}: format_version {version!r} is not understood; "
                f"this hckeras reads versions {list(SUPPORTED_FORMAT_VERSIONS)}"
            )
        names = [f.name for f in dataclasses.fields(cls)]
        missing = [n for n in names if n not in config]
        if missing:
            raise ValueError(f"{where}: missing keys {missing}")
        unknown = sorted(set(config) - set(names))
        if unknown:
            raise ValueError(f"{where}: unknown keys {unknown} for format_version {version}")
        values = dict(config)
        try:
            values["layout"] = MapLayout.from_config(config["layout"])
            return cls(**values)
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{where}: {error}") from error

    def to_json(self):
        """The spec as an indented JSON string."""
        return json.dumps(self.to_config(), indent=2) + "\n"

    @classmethod
    def from_json(cls, text, where="model spec"):
        """Parse `to_json` output; errors name `where`."""
        try:
            config = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"{where}: not valid JSON ({error})") from error
        return cls.from_config(config, where=where)

    def save(self, path):
        """Write the JSON atomically (`write_text_atomic`)."""
        write_text_atomic(path, self.to_json())

    @classmethod
    def load(cls, path):
        """Read a spec written by `save`."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"model spec {path} does not exist")
        return cls.from_json(path.read_text(), where=str(path))


def _is_positive_int(value):
    return isinstance(value, int) and not isinstance(value, bool) and value > 0
