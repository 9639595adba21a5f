"""hckeras: hypercolumns (Hariharan et al., CVPR 2015) for Keras 3.

The public model API is imported lazily, so that the data tools
(`hckeras.data`, `hckeras.metrics`) work without importing a Keras backend.
The serializable layers and loss are registered with Keras as soon as Keras is
imported (now, if it already is), so `keras.saving.load_model` reads an hckeras
`.keras` file in any process that has imported hckeras, without `custom_objects`.

    import hckeras
    model = hckeras.build_hypercolumn_model("vgg16", grid_size=5)
    probabilities = hckeras.probability_model(model)
"""

import importlib
import importlib.abc
import importlib.util
import sys

__version__ = "0.1.0"

_LAZY = {
    "grid_weights": "hckeras.layers.grid_weights",
    "build_hypercolumn_model": "hckeras.models.hypercolumn_model",
    "probability_model": "hckeras.models.probability_model",
    "copy_head_weights": "hckeras.models.head_weights",
}

_SUBPACKAGES = ("backbones", "layers", "losses", "models", "data", "inference", "metrics")

# Modules whose classes are `register_keras_serializable`.
_SERIALIZABLE = ("hckeras.layers", "hckeras.losses")

__all__ = sorted(_LAZY) + list(_SUBPACKAGES)


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _SUBPACKAGES:
        return importlib.import_module(f"hckeras.{name}")
    raise AttributeError(f"module 'hckeras' has no attribute {name!r}")


def _register_serializables():
    for module in _SERIALIZABLE:
        importlib.import_module(module)


class _RegisterWhenKerasLoads(importlib.abc.MetaPathFinder):
    """Runs `_register_serializables` right after the first `import keras`."""

    def find_spec(self, fullname, path, target=None):
        if fullname != "keras":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec("keras")
        if spec is None or spec.loader is None:
            return spec
        exec_keras = spec.loader.exec_module

        def exec_module(module):
            exec_keras(module)
            _register_serializables()

        spec.loader.exec_module = exec_module
        return spec


if "keras" in sys.modules:
    _register_serializables()
elif not any(isinstance(finder, _RegisterWhenKerasLoads) for finder in sys.meta_path):
    sys.meta_path.insert(0, _RegisterWhenKerasLoads())
