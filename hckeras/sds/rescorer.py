"""The region rescorer of System 2 (paper section 4.2) and its JSON sidecar.

A candidate's new score is a linear classifier with an L2 penalty, one logistic unit per
category, on standardised features (a `Normalization` layer adapted on the training
candidates' features; the paper trains an SVM on fixed features of this kind;
`train_classifier` fits it with `model.fit` on features computed once). The features
come from one of three sources, `RescorerSpec.features`:

- "mask_pass" (default): the box view and the region view from the mask model's own
  pass over the box crop (`hckeras.sds.mask_pass`): its fc7 vector, and per spatial tap
  the mean of the tap's features inside the predicted mask. No network runs beyond the
  mask model, so rescoring costs the classifier alone.
- "region_network" (the paper's two networks): the box crop through a frozen copy of the
  mask model's backbone up to fc7 (the "detection network") and the region crop (the box
  crop with the predicted region's background masked out) through a *region network*, a
  copy of that backbone (frozen by default; `fine_tune_region=True` trains it with the
  classifier); two more backbone passes per candidate.
- "none": the cues alone.

The paper's box network is its detector's own network, so its features carry what the
detector knows of the box. Ours is the mask model's backbone (there is no detector
network: the synthetic detections are simulated), so by default the classifier also
sees two *cues* of each candidate, `CUES`: the detector's box score and the mask's
expected IoU under its own probabilities (`hckeras.inference.mask_quality`).
`cues=()` builds the classifier on the network features alone.

    model = build_rescorer(mask_model, mask_spec)       # inputs: features, category, cues
    train_classifier(model, rescorer_inputs(spec, ids, cues, features=f), labels)
    save_rescorer(model, RescorerSpec.for_mask_spec(mask_spec, pooled_taps=taps), path)
    model, rescorer_spec = load_rescorer("runs/r/rescorer.keras", mask_spec, "mask.keras")

Inputs, in this order where present (`input_names`): `box` and `region` float32
`(B, H, W, 3)` crops in [0, 255] (region_network); `features` float32 `(B, F)`, a
`Predictor` result's `features` under a `MaskPassRunner` (mask_pass); `category`
float32 `(B, C)` one-hot over `RescorerSpec.category_ids`; `cues` float32
`(B, len(cues))` in [0, 1]. Output: `(B, 1)` probabilities. The graph has only built-in
Keras layers (no Lambda), so it reloads in safe mode.
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
FEATURES = "box_region_fc7"
"""Name of the layer whose output is the classifier's input (network features and cues;
the name is from the two-network rescorer, kept so that saved rescorers still load)."""
L2_PENALTY = 1e-3
CUES = ("box_score", "mask_quality")
"""The candidate cues a rescorer sees by default (`candidate_cues`)."""
FEATURE_SOURCES = ("mask_pass", "region_network", "none")
"""Where a rescorer's network features come from (module docstring)."""
DEFAULT_FEATURES = "mask_pass"


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
            a rescorer on the network features alone, and in sidecars written before cues).
        features: one of `FEATURE_SOURCES` ("region_network" in sidecars written
            before the mask-pass features).
        pooled_taps: mask_pass only: the taps averaged inside the mask, in feature order.
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
    features: str = "region_network"
    pooled_taps: tuple = ()

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
        object.__setattr__(self, "pooled_taps", tuple(str(t) for t in self.pooled_taps))
        if self.features not in FEATURE_SOURCES:
            raise ValueError(
                f"rescorer features {self.features!r}: expected one of {list(FEATURE_SOURCES)}"
            )
        if self.pooled_taps and self.features != "mask_pass":
            raise ValueError(f"pooled taps are for mask_pass features, not {self.features!r}")
        if self.features == "none" and not self.cues:
            raise ValueError("a rescorer without network features needs at least one cue")

    @classmethod
    def for_mask_spec(
        cls, mask_spec, mask_model=None, cues=CUES, features=DEFAULT_FEATURES, pooled_taps=()
    ):
        """The spec of a rescorer for a segmentation model's `ModelSpec`."""
        return cls(
            backbone=mask_spec.backbone,
            input_size=mask_spec.input_size,
            category_ids=mask_spec.layout.category_ids,
            context_padding=mask_spec.context_padding,
            mask_model=None if mask_model is None else Path(mask_model).name,
            cues=cues,
            features=features,
            pooled_taps=pooled_taps,
        )

    def save(self, path):
        config = dataclasses.asdict(self)
        for key in ("input_size", "category_ids", "cues", "pooled_taps"):
            config[key] = list(config[key])
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


def input_names(rescorer_spec):
    """The rescorer's input names, in input order (module docstring)."""
    names = {"region_network": ["box", "region"], "mask_pass": ["features"], "none": []}
    names = names[rescorer_spec.features] + ["category"]
    return names + ["cues"] if rescorer_spec.cues else names


def build_rescorer(
    mask_model,
    mask_spec,
    cues=CUES,
    fine_tune_region=False,
    features=DEFAULT_FEATURES,
    pooled_taps=None,
):
    """The rescoring model of a trained segmentation model.

    Args:
        mask_model: the mask model (`keras.Model` from crops, as saved by `train`).
        mask_spec: its `ModelSpec` (segmentation).
        cues: names from `CUES` fed to the classifier beside the network features, or
            () for the network features alone.
        fine_tune_region: region_network only: make the region network trainable
            (default: frozen, so the classifier trains on fixed features,
            `train_classifier`). The box network is always frozen, as the paper's
            detection features are fixed.
        features: one of `FEATURE_SOURCES`.
        pooled_taps: mask_pass only: the taps averaged inside the mask (default:
            `mask_pass.spatial_taps`); the spec must list the same.

    Returns:
        uncompiled `keras.Model` (see the module docstring); `compile_rescorer` compiles.
    """
    import keras

    from hckeras.sds.mask_pass import BOX_TAP, feature_width, spatial_taps
    from hckeras.sds.tap_layers import tap_layers

    if mask_spec.task != "segmentation":
        raise ValueError(f"the rescorer needs a segmentation model, got a {mask_spec.task!r} one")
    spec = RescorerSpec.for_mask_spec(mask_spec, cues=checked_cues(cues), features=features)
    if fine_tune_region and features != "region_network":
        raise ValueError(f"fine_tune_region trains the region network; {features!r} has none")
    num_categories = len(mask_spec.layout.category_ids)
    category = keras.Input((num_categories,), name="category")
    inputs, parts = [], []
    if features == "region_network":
        feature = tap_layers(mask_model, mask_spec, [BOX_TAP])[BOX_TAP].output
        source = keras.Model(mask_model.input, feature, name="box_network_source")
        shape = (*mask_spec.input_size, 3)
        for name, trainable in (("box", False), ("region", fine_tune_region)):
            network = keras.models.clone_model(source)
            network.set_weights(source.get_weights())
            network.name, network.trainable = f"{name}_network", trainable
            inputs.append(keras.Input(shape, name=name))
            parts.append(network(inputs[-1]))
    elif features == "mask_pass":
        if pooled_taps is None:
            pooled_taps = spatial_taps(mask_model, mask_spec)
        width = feature_width(mask_model, mask_spec, pooled_taps)
        inputs.append(keras.Input((width,), name="features"))
        parts.append(inputs[-1])
    inputs.append(category)
    if spec.cues:
        inputs.append(keras.Input((len(spec.cues),), name="cues"))
        parts.append(inputs[-1])
    if len(parts) > 1:
        joined = keras.layers.Concatenate(name=FEATURES)(parts)
    else:
        joined = keras.layers.Identity(name=FEATURES)(parts[0])
    return keras.Model(inputs, _classify(joined, category), name="region_rescorer")


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

    names = [tensor.name for tensor in model.inputs]
    if "region" in names and model.get_layer("region_network").trainable:
        raise ValueError("train_classifier needs a frozen region network; fit the model itself")
    features = adapt_normalization(model, inputs)
    normalization = model.get_layer("feature_normalization")
    feature_input = keras.Input((features.shape[1],), name="all_features")
    one_hot_rows = inputs[names.index("category")]
    category = keras.Input((one_hot_rows.shape[1],), name="category")
    layers = (normalization, model.get_layer("category_logits"))
    head = keras.Model([feature_input, category], _classify(feature_input, category, layers))
    compile_rescorer(head, learning_rate)
    labels = np.asarray(labels, np.float32).reshape(-1, 1)
    return head.fit(
        [features, one_hot_rows], labels, epochs=epochs, batch_size=batch_size, verbose=0
    )


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
    cues = widths.get("cues", 0)
    if list(widths) != input_names(rescorer_spec) or cues != len(rescorer_spec.cues):
        raise ValueError(
            f"{path} has inputs {list(widths)} ({cues} cues) but its sidecar lists "
            f"{rescorer_spec.features} features and cues {list(rescorer_spec.cues)}: the two "
            "files do not belong together"
        )
    return model, rescorer_spec


def rescorer_inputs(rescorer_spec, category_ids, cues=None, box=None, region=None, features=None):
    """The model's inputs, in its input order (`input_names`): `box`, `region` float32
    `(N, H, W, 3)` (region_network), `features` float32 `(N, F)` (mask_pass), the
    one-hot `(N, C)` of `category_ids`, and, where the spec has cues, its columns of
    `cues`, float32 `(N, len(CUES))` (`candidate_cues(results, CUES)`)."""
    given = {"box": box, "region": region, "features": features, "cues": cues}
    inputs = []
    for name in input_names(rescorer_spec):
        if name == "category":
            inputs.append(one_hot(category_ids, rescorer_spec))
        elif given[name] is None:
            raise ValueError(f"a {rescorer_spec.features} rescorer needs its {name!r} input")
        elif name == "cues":
            columns = [CUES.index(cue) for cue in rescorer_spec.cues]
            inputs.append(np.asarray(cues, np.float32)[:, columns])
        else:
            inputs.append(given[name])
    return inputs
