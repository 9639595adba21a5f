"""Backend-agnostic hypercolumn layers (keras.ops only, serializable, no Lambda)."""

from hckeras.layers.broadcast_map import BroadcastMap
from hckeras.layers.grid_interpolation import GridInterpolation
from hckeras.layers.grid_streams import GridStreamInterpolation, StitchGridStreams, stream_bands
from hckeras.layers.grid_weights import cell_weights, grid_weights
from hckeras.layers.masked_pooling import MaskedAveragePooling
from hckeras.layers.neighborhood import NeighborhoodStack
from hckeras.layers.tap_scale import TapScale

__all__ = [
    "BroadcastMap",
    "GridInterpolation",
    "GridStreamInterpolation",
    "MaskedAveragePooling",
    "NeighborhoodStack",
    "StitchGridStreams",
    "TapScale",
    "cell_weights",
    "grid_weights",
    "stream_bands",
]
