"""Rescoring features from the mask model's own pass (System 2 at almost no extra cost).

The paper's rescorer (section 4.2) runs two more networks per candidate: a box network
on the box crop and a region network on the crop with the predicted region's background
masked out. The mask model's pass over the same box crop already holds both views:

- the box view is the mask model's own fc7 vector on that crop, the very numbers a
  frozen copy of its backbone (the `region_network` rescorer's box network) computes;
- the region view is, per spatial tap (pool2 and conv4 on T-Net), the mean of the tap's
  feature vectors inside the predicted mask: the tap is upsampled to S x S as the head
  upsamples its scores and weighted by the candidate's category probabilities
  (`MaskedAveragePooling`, feature masking in the style of Dai et al., CVPR 2015).

`MaskPassRunner` runs that pass for a `Predictor`, which then gives every result its
`features`; a rescorer built with `features="mask_pass"` classifies them.

    runner = MaskPassRunner(mask_model, mask_spec)      # pooled taps: the spec's spatial taps
    probabilities, features = runner(crops)             # (B, S, S, C), (B, C, F)
    Predictor(runner, mask_spec).predict(image, detections)[0]["features"]   # (F,)
"""

import numpy as np

from hckeras.sds.tap_layers import tap_layers

BOX_TAP = "fc7"
"""The tap whose vector is the box view (the paper's fc7 features)."""


def spatial_taps(mask_model, mask_spec):
    """The taps of `mask_spec.taps` whose feature maps are larger than 1 x 1, in spec
    order: the default pooled taps of the region view."""
    layers = tap_layers(mask_model, mask_spec, mask_spec.taps)
    return tuple(
        tap
        for tap, layer in layers.items()
        if len(layer.output.shape) == 4 and tuple(layer.output.shape[1:3]) != (1, 1)
    )


def feature_width(mask_model, mask_spec, pooled_taps):
    """F, the length of a candidate's mask-pass features: the fc7 vector's and each
    pooled tap's channels (from the layers' shapes; nothing is built or run)."""
    layers = tap_layers(mask_model, mask_spec, [BOX_TAP, *pooled_taps])
    box = int(np.prod(layers.pop(BOX_TAP).output.shape[1:]))
    return box + sum(int(layer.output.shape[-1]) for layer in layers.values())


def mask_pass_model(mask_model, mask_spec, pooled_taps):
    """A model sharing `mask_model`'s layers: `(B, H, W, 3)` crops -> `[probabilities
    (B, S, S, C), box fc7 (B, D), then per pooled tap its mask means (B, C, D_tap)]`."""
    import keras

    from hckeras.layers import MaskedAveragePooling

    if len(mask_model.outputs) != 1:
        raise ValueError(f"mask model {mask_model.name!r} must have one output")
    graph = mask_model
    if len(mask_model.outputs[0].shape) == 5:
        from hckeras import probability_model

        graph = probability_model(mask_model)
    probabilities = graph.output
    layers = tap_layers(mask_model, mask_spec, [BOX_TAP, *pooled_taps])
    box = keras.layers.Flatten(name="box_features")(layers.pop(BOX_TAP).output)
    outputs = [probabilities, box]
    for tap, layer in layers.items():
        features = layer.output
        if len(features.shape) != 4:
            raise ValueError(f"tap {tap!r} of mask model {mask_model.name!r} is not a feature map")
        pooled = MaskedAveragePooling(name=f"{tap}_region_mean")([features, probabilities])
        outputs.append(pooled)
    return keras.Model(graph.input, outputs, name="mask_pass")


class MaskPassRunner:
    """Run a mask model's pass for probabilities and each category's rescoring features.

    Args:
        mask_model: the segmentation `keras.Model` (probabilities, or the training
            model's 5-D logits).
        mask_spec: its `ModelSpec`.
        pooled_taps: taps averaged inside the mask (default: `spatial_taps`).
        batch_size: largest padded batch (`predict_in_buckets`).

    `runner(crops)` with float32 `(B, H, W, 3)` crops returns `(probabilities (B, S, S,
    C), features (B, C, F))`: for every crop and category, the crop's fc7 vector and the
    pooled taps' means inside that category's mask, concatenated (`F = feature_width`).
    A `Predictor` over this runner gives each result its category's row as `features`.
    """

    returns_features = True

    def __init__(self, mask_model, mask_spec, pooled_taps=None, batch_size=32):
        from hckeras.inference.runners import batch_buckets

        if mask_spec.task != "segmentation":
            raise ValueError(
                f"mask-pass features need a segmentation model, not a {mask_spec.task!r} one"
            )
        if pooled_taps is None:
            pooled_taps = spatial_taps(mask_model, mask_spec)
        self.pooled_taps = tuple(pooled_taps)
        self.model = mask_pass_model(mask_model, mask_spec, self.pooled_taps)
        self.input_size = tuple(self.model.inputs[0].shape[1:3])
        self.num_categories = self.model.outputs[0].shape[-1]
        self.feature_width = sum(output.shape[-1] for output in self.model.outputs[1:])
        self.batch_sizes = batch_buckets(batch_size)
        self.max_batch_size = self.batch_sizes[-1]

    def __call__(self, crops):
        from hckeras.inference.runners import checked_crops, predict_in_buckets

        crops = checked_crops(crops)
        probabilities, box, *pooled = predict_in_buckets(self.model, [crops], self.batch_sizes)
        box = np.repeat(box[:, None, :], self.num_categories, axis=1)
        return probabilities, np.concatenate([box, *pooled], axis=-1)
