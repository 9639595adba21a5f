"""The region rescorer of System 2 (paper section 4.2) and its JSON sidecar.

A candidate is scored from two views of its expanded box: the box crop, through the
mask model's own backbone up to fc7 (the "detection network", frozen), and the region
crop (the box crop with the predicted region's background masked out), through a
*region network*: a copy of that backbone, initialised from it and trained. The two fc7
vectors are concatenated and a linear classifier, one logistic unit per category,
gives the candidate's new score (the paper feeds the same features to an SVM).

    model = build_rescorer(mask_model, mask_spec)       # inputs: box, region, category
    model.fit({"box": b, "region": r, "category": one_hot}, labels)
    save_rescorer(model, RescorerSpec.for_mask_spec(mask_spec), "runs/r/rescorer.keras")
    model, rescorer_spec = load_rescorer("runs/r/rescorer.keras", mask_spec, "mask.keras")

Inputs: `box` and `region` float32 `(B, H, W, 3)` crops in [0, 255]; `category` float32
`(B, C)` one-hot over `RescorerSpec.category_ids`. Output: `(B, 1)` probabilities. The
graph has only built-in Keras layers (no Lambda), so it reloads in safe mode.
"""

import dataclasses
import json
from pathlib import Path

import numpy as np

from hckeras.boxes import DEFAULT_CONTEXT_PADDING
from hckeras.io import save_model_atomic, write_text_atomic
from hckeras.model_spec import checked_sidecar, spec_path
from hckeras.sds.region_crops import BACKGROUND_FILL

FORMAT_VERSION = 1
KIND = "region_rescorer"
FEATURE_TAP = "fc7"


@dataclasses.dataclass(frozen=True, kw_only=True)
class RescorerSpec:
    """What a rescorer was trained with; inference checks it against the mask model.

    Attributes:
        backbone: backbone name of the mask model (and of the region network).
        input_size: `(height, width)` of both crops.
        category_ids: the categories, in the order of the `category` one-hot input.
        context_padding: expanded-box padding of the crops.
        background_fill: value of the masked-out background in region crops.
        mask_model: file name of the mask model it was trained with (informative).
    """

    format_version: int = FORMAT_VERSION
    kind: str = KIND
    backbone: str
    input_size: tuple
    category_ids: tuple
    context_padding: float = DEFAULT_CONTEXT_PADDING
    background_fill: float = BACKGROUND_FILL
    mask_model: str | None = None

    def __post_init__(self):
        if self.format_version != FORMAT_VERSION or self.kind != KIND:
            raise ValueError(
                f"not a rescorer spec of format {FORMAT_VERSION}: kind {self.kind!r}, "
                f"format_version {self.format_version!r}"
            )
        object.__setattr__(self, "input_size", tuple(int(v) for v in self.input_size))
        object.__setattr__(self, "category_ids", tuple(int(v) for v in self.category_ids))
        if not self.category_ids:
            raise ValueError("a rescorer needs at least one category")

    @classmethod
    def for_mask_spec(cls, mask_spec, mask_model=None):
        """The spec of a rescorer for a segmentation model's `ModelSpec`."""
        return cls(
            backbone=mask_spec.backbone,
            input_size=mask_spec.input_size,
            category_ids=mask_spec.layout.category_ids,
            context_padding=mask_spec.context_padding,
            mask_model=None if mask_model is None else Path(mask_model).name,
        )

    def save(self, path):
        config = dataclasses.asdict(self)
        config["input_size"], config["category_ids"] = (
            list(self.input_size),
            list(self.category_ids),
        )
        write_text_atomic(path, json.dumps(config, indent=2) + "\n")

    @classmethod
    def load(cls, path):
        try:
            config = json.loads(Path(path).read_text())
            return cls(**config)
        except (OSError, json.JSONDecodeError, TypeError, ValueError) as error:
            raise ValueError(f"rescorer spec {path}: {error}") from error

    def check_mask_spec(self, mask_spec, rescorer_where, mask_where):
        """Raise `ValueError` naming both files when the mask model differs in backbone,
        categories, crop size or context padding."""
        problems = []
        if mask_spec.task != "segmentation":
            problems.append(f"the mask model is a {mask_spec.task!r} model, not segmentation")
        if mask_spec.backbone != self.backbone:
            problems.append(f"backbone {self.backbone!r} vs {mask_spec.backbone!r}")
        if tuple(mask_spec.layout.category_ids) != self.category_ids:
            problems.append(
                f"categories {list(self.category_ids)} vs {list(mask_spec.layout.category_ids)}"
            )
        if tuple(mask_spec.input_size) != self.input_size:
            problems.append(f"input size {self.input_size} vs {mask_spec.input_size}")
        if abs(mask_spec.context_padding - self.context_padding) > 1e-9:
            problems.append(
                f"context padding {self.context_padding} vs {mask_spec.context_padding}"
            )
        if problems:
            raise ValueError(
                f"rescoring model {rescorer_where} was trained for another mask model than "
                f"{mask_where}: {'; '.join(problems)} (rescorer vs mask model)"
            )


def _feature_layer(mask_model, mask_spec):
    try:
        return mask_model.get_layer(FEATURE_TAP)
    except ValueError:
        from hckeras.backbones import build_backbone

        backbone = build_backbone(mask_spec.backbone, input_size=mask_spec.input_size[0])
        if FEATURE_TAP not in backbone.tap_layers:
            raise ValueError(
                f"backbone {mask_spec.backbone!r} has no {FEATURE_TAP} tap for the rescorer"
            ) from None
        return mask_model.get_layer(backbone.tap_layers[FEATURE_TAP])


def build_rescorer(mask_model, mask_spec, train_box_network=False):
    """The rescoring model of a trained segmentation model.

    Args:
        mask_model: the mask model (`keras.Model` from crops, as saved by `train`).
        mask_spec: its `ModelSpec` (segmentation).
        train_box_network: also fine-tune the box network (default: frozen, as the
            paper's detection network features are fixed).

    Returns:
        uncompiled `keras.Model` (see the module docstring); `compile_rescorer` compiles.
    """
    import keras

    if mask_spec.task != "segmentation":
        raise ValueError(f"the rescorer needs a segmentation model, got a {mask_spec.task!r} one")
    feature = _feature_layer(mask_model, mask_spec).output
    source = keras.Model(mask_model.input, feature, name="box_network_source")
    box_network = keras.models.clone_model(source)
    box_network.set_weights(source.get_weights())
    box_network.name = "box_network"
    box_network.trainable = train_box_network
    region_network = keras.models.clone_model(source)
    region_network.set_weights(source.get_weights())
    region_network.name = "region_network"
    shape = (*mask_spec.input_size, 3)
    box = keras.Input(shape, name="box")
    region = keras.Input(shape, name="region")
    num_categories = len(mask_spec.layout.category_ids)
    category = keras.Input((num_categories,), name="category")
    features = keras.layers.Concatenate(name="box_region_fc7")(
        [box_network(box), region_network(region)]
    )
    logits = keras.layers.Dense(num_categories, name="category_logits")(features)
    selected = keras.layers.Dot(axes=1, name="candidate_logit")([logits, category])
    probability = keras.layers.Activation("sigmoid", dtype="float32", name="score")(selected)
    return keras.Model([box, region, category], probability, name="region_rescorer")


def compile_rescorer(model, learning_rate=1e-3):
    """Adam and the logistic loss (binary cross-entropy on the probability)."""
    import keras

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.BinaryCrossentropy(),
        metrics=[keras.metrics.BinaryAccuracy(name="accuracy")],
    )
    return model


def one_hot(category_ids, rescorer_spec):
    """float32 `(N, C)` one-hot of `category_ids` over `rescorer_spec.category_ids`."""
    index = {c: i for i, c in enumerate(rescorer_spec.category_ids)}
    unknown = sorted({int(c) for c in category_ids} - set(index))
    if unknown:
        raise ValueError(
            f"category ids {unknown} are not among the rescorer's "
            f"{list(rescorer_spec.category_ids)}"
        )
    out = np.zeros((len(category_ids), len(index)), dtype=np.float32)
    out[np.arange(len(category_ids)), [index[int(c)] for c in category_ids]] = 1.0
    return out


def save_rescorer(model, rescorer_spec, path):
    """Write `path` (.keras) and its sidecar `spec_path(path)` (.json)."""
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"rescorer file {path} must end in .keras")
    save_model_atomic(model, path)
    rescorer_spec.save(spec_path(path))
    return path


def load_rescorer(path, mask_spec=None, mask_path="the mask model"):
    """`(model, RescorerSpec)` of a saved rescorer, in safe mode; with `mask_spec`,
    checked against it (`RescorerSpec.check_mask_spec`)."""
    import keras

    path = Path(path)
    rescorer_spec = RescorerSpec.load(checked_sidecar(path, "rescoring model"))
    if mask_spec is not None:
        rescorer_spec.check_mask_spec(mask_spec, path, mask_path)
    model = keras.saving.load_model(path, compile=False, safe_mode=True)
    if model.name != "region_rescorer":
        raise ValueError(f"{path} holds model {model.name!r}, not a region rescorer")
    return model, rescorer_spec
