"""`category_model`: a hypercolumn model cut down to one category's maps.

A detection's category is known at inference, so an on-device model needs only
that category's `len(maps) * K*K` score channels. Slicing each tap's score conv
to them before upsampling shrinks the head's convs, resizes, adds and the grid
interpolation by the number of categories (paper section 3.3: the
category-specific classifiers are only evaluated for the box's category).
`hckeras export --per-category` writes one such model per category, with a
`category_conditional` entry in its metadata.

    sliced = category_model(model, spec.layout, category_id=3)
"""

import numpy as np

SCORE_SUFFIX = "_score"


def category_channels(layout, category_id, cells):
    """Indices of the score channels of `category_id`'s maps (channel `m * cells + k`
    is grid cell k of map m)."""
    maps = layout.maps_of(category_id)
    return np.arange(maps.start * cells, maps.stop * cells)


def score_convs(model):
    """The tap score convs (`<tap>_score` Conv2D layers) of a hypercolumn model with
    the efficient head; `ValueError` if it has none."""
    import keras

    convs = [
        layer
        for layer in model.layers
        if layer.name.endswith(SCORE_SUFFIX) and isinstance(layer, keras.layers.Conv2D)
    ]
    if not convs:
        raise ValueError(f"model {model.name!r} has no tap score convs (<tap>{SCORE_SUFFIX})")
    return convs


def category_model(model, layout, category_id):
    """A copy of hypercolumn `model` (training or probability model) whose output
    holds only `category_id`'s maps, in layout order.

    Backbone and other weighted layers are shared with `model`; each tap's score
    conv (`<tap>_score`) is replaced by one with that category's output channels.

    Raises:
        ValueError: `category_id` is not in `layout`, or `model` has no score convs.
    """
    import keras

    from hckeras.models.hypercolumn_model import LOGITS_LAYER

    channels = None
    scores = score_convs(model)
    total = scores[0].filters
    cells = total // layout.num_maps
    channels = category_channels(layout, category_id, cells)
    count = len(channels) // cells

    def clone(layer):
        if layer in scores:
            config = {**layer.get_config(), "filters": len(channels)}
            return keras.layers.Conv2D.from_config(config)
        if layer.name == LOGITS_LAYER:
            shape = (*layer.target_shape[:2], count, cells)
            return keras.layers.Reshape.from_config({**layer.get_config(), "target_shape": shape})
        if not isinstance(layer, keras.layers.Layer) or layer.weights:
            return layer  # op nodes (MobileNetV3's `x + 3.0`) and weighted layers are shared
        return layer.__class__.from_config(layer.get_config())

    sliced = keras.models.clone_model(model, clone_function=clone)
    for layer in scores:
        kernel, bias = layer.get_weights()
        sliced.get_layer(layer.name).set_weights([kernel[..., channels], bias[channels]])
    return sliced


class CategoryBatches:
    """Training batches `(x, y[, w])` with the targets cut to one category's maps
    (`y[..., maps]`), for fine-tuning a `category_model` (QAT); same length and
    epoch hook as the wrapped `dataset`."""

    def __init__(self, dataset, layout, category_id):
        self.dataset = dataset
        self.maps = layout.maps_of(category_id)

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, index):
        x, y, *rest = self.dataset[index]
        return (x, np.asarray(y)[..., self.maps], *rest)

    def on_epoch_end(self):
        if hasattr(self.dataset, "on_epoch_end"):
            self.dataset.on_epoch_end()
