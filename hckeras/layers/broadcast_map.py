"""`BroadcastMap`: a 1 x 1 score map repeated over the S x S output (an fc tap's term)."""

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="hckeras")
class BroadcastMap(keras.layers.Layer):
    """Repeat a `(B, 1, 1, C)` map over `(B, S, S, C)`.

    An fc tap is a 1 x 1 map, so its score is a per-box constant (paper section
    3.2): bilinear upsampling would only copy it. The efficient head adds such
    terms to the other taps' sum by broadcasting; this layer is for a head whose
    taps are all 1 x 1 (fc7 only). It multiplies by a constant ones map (one MUL
    in LiteRT; `ops.broadcast_to` would give BROADCAST_TO, which the GPU delegate
    lacks).

    Args:
        size: S, the output side.

    Input shape: `(B, 1, 1, C)`. Output shape: `(B, S, S, C)`.

    Example:
        >>> BroadcastMap(3)(np.ones((2, 1, 1, 4), "float32")).shape
        TensorShape([2, 3, 3, 4])
    """

    def __init__(self, size, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(size, int | np.integer) or size < 1:
            raise ValueError(f"BroadcastMap size must be a positive integer, got {size!r}")
        self.size = int(size)

    def build(self, input_shape):
        if tuple(input_shape[1:3]) != (1, 1):
            raise ValueError(
                f"BroadcastMap {self.name!r} takes (B, 1, 1, C) maps, got shape {input_shape}"
            )

    def call(self, inputs):
        ones = np.ones((1, self.size, self.size, 1), np.float32)
        return inputs * ops.cast(ones, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.size, self.size, input_shape[3])

    def get_config(self):
        return {**super().get_config(), "size": self.size}
