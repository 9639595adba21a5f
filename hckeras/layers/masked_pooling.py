"""`MaskedAveragePooling`: a feature map's mean inside soft masks (region features)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="hckeras")
class MaskedAveragePooling(keras.layers.Layer):
    """Per mask, the mask-weighted mean of a feature map's vectors.

    The region view of System 2's rescorer taken from the mask model's own pass
    (`hckeras.sds.mask_pass`): the feature map is upsampled bilinearly to the masks'
    S x S, as the hypercolumn head upsamples its score maps, and each mask's
    probabilities weight the vectors under them (feature masking in the style of
    Dai et al., CVPR 2015, on a tap of the segmentation network).

    Args:
        epsilon: added to each mask's area, so an empty mask gives zeros.

    Inputs: `[features (B, h, w, D), masks (B, S, S, C)]`, masks in [0, 1].
    Output: `(B, C, D)`, `sum_p m_c(p) f(p) / (sum_p m_c(p) + epsilon)` over the S x S
    pixels `p`.

    Example:
        >>> features = np.arange(4, dtype="float32").reshape(1, 2, 2, 1)
        >>> masks = np.array([[[[1.0], [0.0]], [[0.0], [0.0]]]], "float32")
        >>> np.asarray(MaskedAveragePooling(epsilon=0.0)([features, masks]))
        array([[[0.]]], dtype=float32)
    """

    def __init__(self, epsilon=1e-3, **kwargs):
        super().__init__(**kwargs)
        if not epsilon >= 0:
            raise ValueError(f"MaskedAveragePooling epsilon must be >= 0, got {epsilon!r}")
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        features, masks = input_shape
        if len(features) != 4 or len(masks) != 4:
            raise ValueError(
                f"MaskedAveragePooling {self.name!r} takes (B, h, w, D) features and "
                f"(B, S, S, C) masks, got shapes {features} and {masks}"
            )

    def call(self, inputs):
        features, masks = inputs
        masks = ops.cast(masks, features.dtype)
        size = tuple(masks.shape[1:3])
        if tuple(features.shape[1:3]) != size:
            features = ops.image.resize(features, size, interpolation="bilinear")
        total = ops.einsum("bhwd,bhwc->bcd", features, masks)
        area = ops.sum(masks, axis=(1, 2))
        return total / (ops.expand_dims(area, -1) + self.epsilon)

    def compute_output_shape(self, input_shape):
        features, masks = input_shape
        return (features[0], masks[3], features[3])

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}
