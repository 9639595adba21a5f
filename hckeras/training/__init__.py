"""`hckeras train`: configuration, resumable checkpoints, logs and curves.

`TrainConfig` and `train` import Keras; they are loaded on first use so that the
light modules here (`hckeras.training.presets`) and the `hckeras` command's
parser do not pay for a deep-learning backend.
"""

import importlib

_LAZY = {"TrainConfig": "hckeras.training.config", "train": "hckeras.training.run"}

__all__ = ["TrainConfig", "train"]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hckeras.training' has no attribute {name!r}")
