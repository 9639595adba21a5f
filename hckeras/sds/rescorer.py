"""The region rescorer of System 2 (paper section 4.2) and its JSON sidecar.

A candidate is scored from two views of its expanded box: the box crop, through the
mask model's own backbone up to fc7 (the "detection network", frozen), and the region
crop (the box crop with the predicted region's background masked out), through a
*region network*: a copy of that backbone (frozen by default; `fine_tune_region=True`
trains it with the classifier). The two fc7 vectors are concatenated, standardised
(a `Normalization` layer adapted on the training candidates' features) and a linear
classifier with an L2 penalty, one logistic unit per category, gives the candidate's new
score (the paper trains an SVM on fixed features of this kind; `train_classifier` fits
it with `model.fit` on features computed once).

The paper's box network is its detector's own network, so its features carry what the
detector knows of the box. Ours is the mask model's backbone (there is no detector
network: the synthetic detections are simulated), so by default the classifier also
sees two *cues* of each candidate, `CUES`: the detector's box score and the mask's
expected IoU under its own probabilities (`hckeras.inference.mask_quality`).
`cues=()` builds the paper's classifier on the two fc7 vectors alone.

    model = build_rescorer(mask_model, mask_spec)       # inputs: box, region, category, cues
    train_classifier(model, [b, r, one_hot, c], labels, epochs=30)
    save_rescorer(model, RescorerSpec.for_mask_spec(mask_spec), "runs/r/rescorer.keras")
    model, rescorer_spec = load_rescorer("runs/r/rescorer.keras", mask_spec, "mask.keras")

Inputs: `box` and `region` float32 `(B, H, W, 3)` crops in [0, 255]; `category` float32
`(B, C)` one-hot over `RescorerSpec.category_ids`; `cues` float32 `(B, len(cues))` in
[0, 1] (absent with `cues=()`). Output: `(B, 1)` probabilities. The graph has only
built-in Keras layers (no Lambda), so it reloads in safe mode.
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
FEATURES = "box_region_fc7"
"""Name of the layer whose output is the classifier's input (fc7 vectors and cues)."""
L2_PENALTY = 1e-3
CUES = ("box_score", "mask_quality")
"""The candidate cues a rescorer sees by default (`candidate_cues`)."""


def checked_cues(cues):
    """`cues` as a tuple of names; `ValueError` unless each is one of `CUES`, once."""
    cues = tuple(str(name) for name in cues)
    if set(cues) - set(CUES) or len(set(cues)) != len(cues):
        raise ValueError(f"rescorer cues {list(cues)}: each at most once, of {list(CUES)}")
    return cues


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
        cues: the names of the `cues` input's columns, in order (of `CUES`; empty for
            a rescorer on the fc7 vectors alone, and in sidecars written before cues).
    """

    format_version: int = FORMAT_VERSION
    kind: str = KIND
    backbone: str
    input_size: tuple
    category_ids: tuple
    context_padding: float = DEFAULT_CONTEXT_PADDING
    background_fill: float = BACKGROUND_FILL
    mask_model: str | None = None
    cues: tuple = ()

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
        object.__setattr__(self, "cues", checked_cues(self.cues))

    @classmethod
    def for_mask_spec(cls, mask_spec, mask_model=None, cues=CUES):
        """The spec of a rescorer for a segmentation model's `ModelSpec`."""
        return cls(
            backbone=mask_spec.backbone,
            input_size=mask_spec.input_size,
            category_ids=mask_spec.layout.category_ids,
            context_padding=mask_spec.context_padding,
            mask_model=None if mask_model is None else Path(mask_model).name,
            cues=cues,
        )

    def save(self, path):
        config = dataclasses.asdict(self)
        config["input_size"], config["category_ids"], config["cues"] = (
            list(self.input_size),
            list(self.category_ids),
            list(self.cues),
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


def build_rescorer(mask_model, mask_spec, cues=CUES, fine_tune_region=False):
    """The rescoring model of a trained segmentation model.

    Args:
        mask_model: the mask model (`keras.Model` from crops, as saved by `train`).
        mask_spec: its `ModelSpec` (segmentation).
        cues: names from `CUES` fed to the classifier beside the fc7 vectors, or ()
            for the paper's classifier on the fc7 vectors alone.
        fine_tune_region: make the region network trainable (default: frozen, so
            the classifier trains on fixed features, `train_classifier`). The box
            network is always frozen, as the paper's detection features are fixed.

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
    box_network.trainable = False
    region_network = keras.models.clone_model(source)
    region_network.set_weights(source.get_weights())
    region_network.name = "region_network"
    region_network.trainable = fine_tune_region
    shape = (*mask_spec.input_size, 3)
    box = keras.Input(shape, name="box")
    region = keras.Input(shape, name="region")
    num_categories = len(mask_spec.layout.category_ids)
    category = keras.Input((num_categories,), name="category")
    inputs, features = [box, region, category], [box_network(box), region_network(region)]
    if checked_cues(cues):
        inputs.append(keras.Input((len(cues),), name="cues"))
        features.append(inputs[-1])
    features = keras.layers.Concatenate(name=FEATURES)(features)
    return keras.Model(inputs, _classify(features, category), name="region_rescorer")


def _classify(features, category, layers=None):
    """The standardised features' logistic score for the candidate's category, `(B, 1)`;
    `layers` reuses a rescorer's `feature_normalization` and `category_logits`."""
    import keras

    if layers is None:
        layers = (
            keras.layers.Normalization(name="feature_normalization"),
            keras.layers.Dense(
                category.shape[-1],
                kernel_regularizer=keras.regularizers.L2(L2_PENALTY),
                name="category_logits",
            ),
        )
    normalization, dense = layers
    logits = dense(normalization(features))
    selected = keras.layers.Dot(axes=1, name="candidate_logit")([logits, category])
    return keras.layers.Activation("sigmoid", dtype="float32", name="score")(selected)


def adapt_normalization(model, inputs):
    """Adapt a rescorer's `feature_normalization` to the `FEATURES` of `inputs` (its
    inputs, in input order) and return those features, float32 `(N, F)`."""
    import keras

    features = keras.Model(model.inputs, model.get_layer(FEATURES).output)
    features = features.predict(inputs, batch_size=64, verbose=0)
    model.get_layer("feature_normalization").adapt(features)
    # The layer's call reads tensors set at adapt time: a predict function traced
    # before would keep the old ones, so it is made again.
    model.make_predict_function(force=True)
    return features


def train_classifier(model, inputs, labels, epochs=30, batch_size=32, learning_rate=1e-3):
    """Fit a rescorer's classifier on features computed once (a frozen region network).

    The `FEATURES` output of every training candidate is computed once, the
    normalization adapted to it, and a model from (features, category) to the score,
    sharing the rescorer's `feature_normalization` and `category_logits` layers, is
    fitted with `model.fit` (Adam, logistic loss), so `model` holds the result.

    Args:
        model: from `build_rescorer` (region network frozen).
        inputs: its inputs, in input order (`rescorer_inputs`).
        labels: float32 `(N,)` 0/1.

    Returns:
        the Keras `History` of the classifier's fit.
    """
    import keras

    if model.get_layer("region_network").trainable:
        raise ValueError("train_classifier needs a frozen region network; fit the model itself")
    features = adapt_normalization(model, inputs)
    normalization = model.get_layer("feature_normalization")
    feature_input = keras.Input((features.shape[1],), name="features")
    category = keras.Input((inputs[2].shape[1],), name="category")
    layers = (normalization, model.get_layer("category_logits"))
    head = keras.Model([feature_input, category], _classify(feature_input, category, layers))
    compile_rescorer(head, learning_rate)
    labels = np.asarray(labels, np.float32).reshape(-1, 1)
    return head.fit([features, inputs[2]], labels, epochs=epochs, batch_size=batch_size, verbose=0)


def candidate_cues(results, cues):
    """float32 `(N, len(cues))` cues of segmentation `Predictor` results: `box_score`
    (the detection's score, `box_score` where the result was rescored already) and
    `mask_quality` (`mask_quality.expected_iou` of its pasted probabilities and mask)."""
    from hckeras.inference.mask_quality import expected_iou

    def cue(result, name):
        if name == "box_score":
            return result.get("box_score", result["score"])
        if "mask_quality" in result:
            return result["mask_quality"]
        return expected_iou(result["probability"], result["mask"])

    rows = [[cue(result, name) for name in cues] for result in results]
    return np.asarray(rows, np.float32).reshape(len(results), len(cues))


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
    widths = {tensor.name: tensor.shape[-1] for tensor in model.inputs}
    if widths.get("cues", 0) != len(rescorer_spec.cues):
        raise ValueError(
            f"{path} has inputs {list(widths)} ({widths.get('cues', 0)} cues) but its sidecar "
            f"lists cues {list(rescorer_spec.cues)}: the two files do not belong together"
        )
    return model, rescorer_spec


def rescorer_inputs(rescorer_spec, box, region, category_ids, cues):
    """The model's inputs, in its input order: `box`, `region` float32 `(N, H, W, 3)`,
    the one-hot `(N, C)` of `category_ids`, and, where the spec has cues, its columns
    of `cues`, float32 `(N, len(CUES))` (`candidate_cues(results, CUES)`; unused, and
    may be None, for a spec without cues)."""
    inputs = [box, region, one_hot(category_ids, rescorer_spec)]
    if rescorer_spec.cues:
        columns = [CUES.index(name) for name in rescorer_spec.cues]
        inputs.append(np.asarray(cues, np.float32)[:, columns])
    return inputs
