"""`LiteRTRunner`: run an exported `.tflite` hypercolumn model on crops.

Follows the runner protocol of `hckeras.inference.runners`: float32
`(B, H, W, 3)` RGB crops in [0, 255] -> float32 `(B, S, S, C)` probabilities.
The graph has a static batch of 1, so a batch is run crop by crop
(`max_batch_size = 1` tells `Predictor` so). Uses `ai_edge_litert` (XNNPACK on
CPU by default); TensorFlow is not needed.

    runner = LiteRTRunner("out/model_int8.tflite", num_threads=2)
    probabilities = runner(crops)
    runner.spec                      # the ModelSpec stored in the file
"""

from pathlib import Path

import numpy as np

from hckeras.export.metadata import conditional_category, read_metadata, spec_from_metadata


class LiteRTRunner:
    """Crops -> probabilities with the LiteRT interpreter.

    Args:
        path: an exported `.tflite` file (with hckeras metadata).
        num_threads: CPU threads of the interpreter (None: LiteRT's default).

    Attributes:
        input_size: `(H, W)`.
        max_batch_size: 1.
        metadata: the embedded metadata document.
        spec: its `ModelSpec`.
        category_id: the one category of a category-conditional model (its
            output holds only that category's maps), None for one with all maps.
    """

    max_batch_size = 1

    def __init__(self, path, num_threads=None):
        from ai_edge_litert.interpreter import Interpreter

        self.path = Path(path)
        self.metadata = read_metadata(self.path)
        self.spec = spec_from_metadata(self.metadata, where=str(self.path))
        self.category_id = conditional_category(self.metadata, where=str(self.path))
        try:
            self.interpreter = Interpreter(model_path=str(self.path), num_threads=num_threads)
            self.interpreter.allocate_tensors()
        except (RuntimeError, ValueError) as error:
            raise ValueError(f"{self.path}: LiteRT cannot load the model ({error})") from error
        inputs = self.interpreter.get_input_details()
        outputs = self.interpreter.get_output_details()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ValueError(f"{self.path}: expected one input and one output tensor")
        self._input, self._output = inputs[0], outputs[0]
        shape = tuple(int(v) for v in self._input["shape"])
        if len(shape) != 4 or shape[0] != 1 or shape[3] != 3:
            raise ValueError(f"{self.path}: input shape {shape} is not (1, H, W, 3)")
        self.input_size = shape[1:3]
        self.output_shape = tuple(int(v) for v in self._output["shape"])
        self.input_dtype = np.dtype(self._input["dtype"])
        self.output_dtype = np.dtype(self._output["dtype"])

    def __call__(self, crops):
        crops = np.asarray(crops, dtype=np.float32)
        if crops.ndim != 4 or tuple(crops.shape[1:]) != (*self.input_size, 3):
            raise ValueError(
                f"crops must be (B, {self.input_size[0]}, {self.input_size[1]}, 3), got "
                f"shape {crops.shape}"
            )
        return (
            np.stack([self._run_one(crop) for crop in crops])
            if len(crops)
            else np.zeros((0, *self.output_shape[1:]), np.float32)
        )

    def _run_one(self, crop):
        self.interpreter.set_tensor(self._input["index"], self._quantize(crop[None]))
        self.interpreter.invoke()
        return self._dequantize(self.interpreter.get_tensor(self._output["index"]))[0]

    def _quantize(self, x):
        if self.input_dtype == np.float32:
            return x
        scale, zero = self._input["quantization"]
        info = np.iinfo(self.input_dtype)
        return np.clip(np.round(x / scale + zero), info.min, info.max).astype(self.input_dtype)

    def _dequantize(self, y):
        if self.output_dtype == np.float32:
            return np.asarray(y, dtype=np.float32)
        scale, zero = self._output["quantization"]
        return ((y.astype(np.float32) - zero) * scale).astype(np.float32)


class CategoryRunner:
    """Crops and their categories -> each crop's own category's maps, with one
    category-conditional `.tflite` model per category (`hckeras export
    --per-category`).

    Args:
        paths: the per-category `.tflite` files of one export variant.
        num_threads: CPU threads of each interpreter.

    Call: `runner(crops, category_ids)` -> list of `(S, S, maps of that category)`.
    """

    max_batch_size = 1
    category_conditional = True

    def __init__(self, paths, num_threads=None):
        runners = [LiteRTRunner(path, num_threads=num_threads) for path in paths]
        if not runners:
            raise ValueError("CategoryRunner needs at least one category-conditional model")
        self.runners = {}
        for runner in runners:
            if runner.category_id is None:
                raise ValueError(
                    f"{runner.path} has every category's maps; it is not a category-conditional "
                    "model (load it on its own with LiteRTRunner)"
                )
            self.runners[runner.category_id] = runner
        first = runners[0]
        self.spec, self.input_size, self.metadata = first.spec, first.input_size, first.metadata
        self.where = ", ".join(str(r.path) for r in runners)

    @property
    def category_ids(self):
        return sorted(self.runners)

    def runner_for(self, category_id):
        """The model of `category_id`; `ValueError` naming the models otherwise."""
        if category_id not in self.runners:
            raise ValueError(
                f"no category-conditional model for category {category_id}: {self.where} were "
                f"exported for categories {self.category_ids}"
            )
        return self.runners[category_id]

    def __call__(self, crops, category_ids):
        crops = np.asarray(crops, dtype=np.float32)
        if len(crops) != len(category_ids):
            raise ValueError(f"{len(crops)} crops but {len(category_ids)} category ids")
        return [
            self.runner_for(c)(crop[None])[0] for crop, c in zip(crops, category_ids, strict=True)
        ]


def load_litert_runner(path, num_threads=None):
    """`LiteRTRunner` for a model with every category's maps, or, for a
    category-conditional `.tflite`, a `CategoryRunner` over it and its siblings of
    the same variant (`<stem>_cat<id>.tflite` files in its folder)."""
    path = Path(path)
    runner = LiteRTRunner(path, num_threads=num_threads)
    if runner.category_id is None:
        return runner
    stem = path.stem.rsplit("_cat", 1)[0]
    return CategoryRunner(sorted(path.parent.glob(f"{stem}_cat*.tflite")), num_threads)
