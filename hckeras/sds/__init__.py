"""System 2 of the paper (section 4.2): SDS from bounding box detections.

Pure numpy pieces (no Keras import): `box_nms` (per-category greedy NMS of boxes),
`pool_expansion` (add the well-separated boxes NMS suppressed), `region_nms` (NMS on
mask overlap). The region rescorer (`rescorer`, `rescoring_data`) and the pipeline
(`pipeline`) use Keras and are imported from their modules.
"""

from hckeras.sds.box_nms import box_nms, nms_detections
from hckeras.sds.pool_expansion import expand_detections, expand_pool
from hckeras.sds.region_nms import region_ious, region_nms

__all__ = [
    "box_nms",
    "expand_detections",
    "expand_pool",
    "nms_detections",
    "region_ious",
    "region_nms",
]
