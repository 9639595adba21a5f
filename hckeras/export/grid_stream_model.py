"""`grid_stream_model`: the probability graph with eq. 3 run on grid streams.

The dense probability graph (`hckeras.probability_model`) upsamples every tap's
`M * K*K` score maps to S x S, sums them, and blends K*K classifiers per pixel
of which at most four have a non-zero weight. This graph reorders each tap's
score conv to classifier-major channels, stitches each stream's classifiers into
one coarse map (`hckeras.layers.StitchGridStreams`), upsamples and sums the
`min(K, 3)^2 * M` stitched channels, and blends the streams
(`GridStreamInterpolation`): the same probabilities, up to float rounding, with
a head that works on 9 maps per output map instead of 25 (K = 5). fc taps, a
per-box constant, are added to the coarsest spatial tap's scores before
stitching (upsampling preserves a constant). The finer taps, where the score
convs cost the most, compute each classifier only on the band stitching keeps
(`hckeras.export.classifier_blocks`).

    fast = grid_stream_model(model)   # model: training or probability model
"""

import numpy as np

from hckeras.export.category_model import SCORE_SUFFIX, score_convs
from hckeras.export.classifier_blocks import classifier_block_scores, has_classifier_blocks


def _summed_scores(model):
    """K*K and the summed score tensor that eq. 3 (or the logits reshape) takes."""
    from hckeras.models.hypercolumn_model import LOGITS_LAYER

    for layer in model.layers:
        if layer.name == LOGITS_LAYER:
            return int(layer.target_shape[-1]), layer.input
        if type(layer).__name__ == "GridInterpolation":
            return layer.grid_size**2, layer.input
    raise ValueError(f"model {model.name!r} has no {LOGITS_LAYER!r} or GridInterpolation layer")


HEAD_LAYERS = ("Resizing", "Add", "BroadcastMap")
"""The layers `efficient_head` puts between the score convs and the summed scores."""


def _check_efficient_head(model, scores, convs):
    """`ValueError` unless only `efficient_head`'s layers lie between `convs` and
    `scores` (a layer there would be left out of the rebuilt head)."""
    stack, seen = [scores], set()
    while stack:
        layer, node_index, _ = stack.pop()._keras_history
        if layer in convs or id(layer) in seen:
            continue
        seen.add(id(layer))
        kind = type(layer).__name__
        bilinear = kind != "Resizing" or (
            layer.interpolation == "bilinear" and not layer.crop_to_aspect_ratio
        )
        if kind not in HEAD_LAYERS or not bilinear:
            raise ValueError(
                f"model {model.name!r} has layer {layer.name!r} ({kind}) between its score "
                "convs and eq. 3; grid streams rebuild only the efficient head "
                f"({', '.join(HEAD_LAYERS)})"
            )
        stack.extend(layer._inbound_nodes[node_index].input_tensors)


def _classifier_major(conv, cells):
    """A copy of score `conv` whose output channel `k * M + m` is its channel
    `m * K*K + k`."""
    import keras

    maps = conv.filters // cells
    order = np.arange(conv.filters).reshape(maps, cells).T.reshape(-1)
    copy = keras.layers.Conv2D.from_config({**conv.get_config(), "name": f"{conv.name}_streams"})
    copy.build(conv.input.shape)
    copy.set_weights([weight[..., order] for weight in conv.get_weights()])
    return copy


CLASSIFIER_BLOCK_MIN_MAPS = 8
"""Classifier blocks from this many maps (M). Each block conv has M output channels;
measured against stitching the full score conv (BENCHMARKS.md, "Classifier blocks";
MobileNetV3 at 224 px, S 50, 1 thread, fp32 / int8 / QAT): 1 map from 2% faster to 34%
slower, 3 maps 2-15% slower, 17 maps 2-16% faster; MobileNetV3-Small fp32 / int8: 4
maps 3-4% slower, 8 maps 2-6% faster, 12 maps 7-15% faster."""


def grid_stream_model(model, classifier_blocks=True):
    """A probability model equal to `probability_model(model)` (up to float
    rounding) whose head works on grid streams.

    Args:
        model: a hypercolumn model with the efficient head (training model, with
            its 5-D logits, or probability model), all or one category's maps.
        classifier_blocks: for models with at least `CLASSIFIER_BLOCK_MIN_MAPS`
            maps, compute each classifier of the taps finer than the coarsest on
            its band only (`hckeras.export.classifier_blocks`, where the score
            conv allows it); False stitches every tap's full score conv (kept
            for comparison: the same function, more multiply-adds).

    Returns:
        `keras.Model` with `model`'s inputs and `(B, S, S, M)` probabilities,
        sharing the backbone's layers.

    Raises:
        ValueError: no score convs (explicit head), a layer other than the
            efficient head's between them and eq. 3, no tap with a spatial map,
            K < 4 (no classifier to skip), or a tap map too coarse to stitch
            (`hckeras.layers.stream_bands`), naming it.
    """
    import keras

    from hckeras.layers import GridStreamInterpolation, StitchGridStreams

    convs = score_convs(model)
    cells, summed = _summed_scores(model)
    _check_efficient_head(model, summed, convs)
    grid_size = round(cells**0.5)
    if grid_size < 4:
        raise ValueError(
            f"model {model.name!r} has a {grid_size} x {grid_size} grid: every classifier is "
            "its own stream, grid streams would not skip any"
        )
    output_size = int(model.outputs[0].shape[1])
    blocks = classifier_blocks and convs[0].filters // cells >= CLASSIFIER_BLOCK_MIN_MAPS
    spatial, constants = [], []
    for conv in convs:
        tap = conv.name[: -len(SCORE_SUFFIX)]
        (constants if tuple(conv.output.shape[1:3]) == (1, 1) else spatial).append((tap, conv))
    if not spatial:
        raise ValueError(f"model {model.name!r} has only 1 x 1 (fc) taps: nothing to stitch")
    spatial.sort(key=lambda item: item[1].output.shape[1] * item[1].output.shape[2])
    terms = []
    for index, (tap, conv) in enumerate(spatial):
        try:
            if blocks and index > 0 and has_classifier_blocks(conv):
                x = classifier_block_scores(conv, grid_size, output_size, tap)
            else:
                x = _classifier_major(conv, cells)(conv.input)
                if index == 0:
                    for name, constant in constants:
                        fc = _classifier_major(constant, cells)(constant.input)
                        x = keras.layers.Add(name=f"{name}_streams_add")([x, fc])
                x = StitchGridStreams(grid_size, output_size, name=f"{tap}_stitch")(x)
        except ValueError as error:
            raise ValueError(f"tap {tap!r} of model {model.name!r}: {error}") from None
        if tuple(x.shape[1:3]) != (output_size, output_size):
            x = keras.layers.Resizing(
                output_size, output_size, interpolation="bilinear", name=f"{tap}_streams_upsample"
            )(x)
        terms.append(x)
    total = terms[0]
    for index, term in enumerate(terms[1:], start=1):
        total = keras.layers.Add(name=f"streams_sum_{index}")([total, term])
    probabilities = GridStreamInterpolation(
        grid_size, dtype="float32", name="grid_stream_interpolation"
    )(total)
    return keras.Model(model.input, probabilities, name=f"{model.name}_streams")


HEAD_FORMS = ("auto", "streams", "dense")
"""`export_graph` forms: grid streams where they pay and the model allows them, always,
or never."""

AUTO_MIN_MAPS = 4
"""`auto` picks grid streams for models with at least this many output maps. Measured
(BENCHMARKS.md, "Grid streams"; 1 thread): with one map (a category-conditional mask
model) the slices and concatenations cost more than the 16 of 25 maps they save (1-9%
slower, MobileNetV3 at 224 px, S 50); with 3 maps it is a wash (MobileNetV3: from 2%
slower to 8% faster; the demo's tiny model at 96 px, S 32: fp32 6% slower, int8 2%
faster); with 17 (keypoints), 11-37% faster."""


def stream_maps(model):
    """Output maps of a hypercolumn model with score convs (M)."""
    cells, _ = _summed_scores(model)
    return score_convs(model)[0].filters // cells


def export_graph(model, head="auto"):
    """The graph to export for `model`, and its form ("grid_streams" or "dense").

    Args:
        model: a hypercolumn training or probability model (a grid-stream
            model is returned as is).
        head: "auto" (grid streams when the model has at least `AUTO_MIN_MAPS`
            maps and `grid_stream_model` can build them, else the dense
            probability graph), "streams" (grid streams or the `ValueError` that
            says why not) or "dense".

    Returns:
        `(keras.Model, form)`: the training model is returned as is for the dense
        form (`static_probability_model` adds eq. 3).
    """
    if head not in HEAD_FORMS:
        raise ValueError(f"unknown head form {head!r}; valid: {', '.join(HEAD_FORMS)}")
    if any(type(layer).__name__ == "GridStreamInterpolation" for layer in model.layers):
        if head == "dense":
            raise ValueError(f"model {model.name!r} already runs eq. 3 on grid streams")
        return model, "grid_streams"
    if head == "dense":
        return model, "dense"
    try:
        if head == "auto" and stream_maps(model) < AUTO_MIN_MAPS:
            return model, "dense"
        return grid_stream_model(model), "grid_streams"
    except ValueError:
        if head == "streams":
            raise
        return model, "dense"
