"""The region rescorer as a LiteRT (`.tflite`) file, and its per-candidate cost.

The exported graph has a static batch of 1 and the rescorer's float32 inputs
(`rescorer.input_names`: `box` and `region` `(1, H, W, 3)` crops in [0, 255] or the
mask pass's `features` `(1, F)`, `category` `(1, C)` one-hot and, where it has cues,
`cues` `(1, len(cues))`), and one output, the `(1, 1)` probability. One candidate is one
`invoke`.

    export_rescorer_tflite(model, "out/rescorer.tflite")
    time_rescorer_tflite("out/rescorer.tflite", num_threads=1)   # median ms per candidate
    export_mask_pass_tflite(MaskPassRunner(mask_model, mask_spec, taps), "out/mask_pass.tflite")
"""

import time
from pathlib import Path

import numpy as np

from hckeras.io import write_bytes_atomic

INPUT_NAMES = ("box", "region", "features", "category", "cues")


def export_rescorer_tflite(model, out_path):
    """Convert a rescorer (from `build_rescorer`; float32, no quantization) with batch-1
    inputs, through a temporary SavedModel, and write it atomically; returns the path."""
    import keras

    if keras.backend.backend() != "tensorflow":
        raise ValueError("LiteRT export needs the TensorFlow backend; set KERAS_BACKEND=tensorflow")
    names = [tensor.name for tensor in model.inputs]
    if names != [name for name in INPUT_NAMES if name in names] or "category" not in names:
        raise ValueError(f"a rescorer has inputs among {list(INPUT_NAMES)}, got {names}")
    return _export_batch_one(model, names, out_path)


def _export_batch_one(model, names, out_path):
    """`model` with batch-1 float32 inputs called `names`, converted through a SavedModel
    and written atomically to `out_path`."""
    import tempfile

    import keras
    import tensorflow as tf

    signature = [
        tf.TensorSpec((1, *tensor.shape[1:]), tf.float32, name=name)
        for name, tensor in zip(names, model.inputs, strict=True)
    ]

    def serve(*tensors):
        return model(list(tensors) if len(tensors) > 1 else tensors[0])

    # tf.lite's from_keras_model and from_concrete_functions give NaN for this multi-input
    # Keras 3 graph (its variables are not captured); a SavedModel keeps them.
    with tempfile.TemporaryDirectory() as folder:
        archive = keras.export.ExportArchive()
        archive.track(model)
        archive.add_endpoint("serve", serve, signature)
        archive.write_out(folder, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(folder)
        tflite = converter.convert()
    out_path = Path(out_path)
    write_bytes_atomic(out_path, tflite)
    return out_path


def export_mask_pass_tflite(runner, out_path):
    """The mask pass of a mask_pass rescorer, `MaskPassRunner.model`, as a float32
    `.tflite` (batch 1): input `crop` `(1, H, W, 3)` in [0, 255]; outputs, in the
    signature's `output_0`, `output_1`, ... order, the probabilities `(1, S, S, C)`, the
    box features `(1, D)` and each pooled tap's means `(1, C, D_tap)`. On the phone it
    replaces the mask model: one invoke per candidate gives its mask and the features
    that the exported rescorer classifies. Returns the path."""
    import keras

    if keras.backend.backend() != "tensorflow":
        raise ValueError("LiteRT export needs the TensorFlow backend; set KERAS_BACKEND=tensorflow")
    return _export_batch_one(runner.model, ["crop"], out_path)


def run_mask_pass_tflite(path, crop, num_threads=None):
    """The outputs of an `export_mask_pass_tflite` file for one `(1, H, W, 3)` crop, as a
    list in output order."""
    interpreter = _interpreter(path, num_threads)
    runner = interpreter.get_signature_runner()
    outputs = runner(crop=np.asarray(crop, np.float32))
    return [outputs[f"output_{i}"] for i in range(len(outputs))]


def _interpreter(path, num_threads):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path), num_threads=num_threads)
    interpreter.allocate_tensors()
    return interpreter


def _by_name(interpreter):
    """Input details keyed by the name in `INPUT_NAMES` that the tensor name contains."""
    details = {}
    for detail in interpreter.get_input_details():
        matches = [n for n in INPUT_NAMES if n in detail["name"]]
        if len(matches) != 1:
            raise ValueError(f"cannot tell which input {detail['name']!r} is")
        details[matches[0]] = detail
    return details


def run_rescorer_tflite(path, inputs, num_threads=None):
    """Probabilities `(N,)` of a `.tflite` rescorer, one invoke per candidate, for a dict
    of `(N, ...)` arrays named as in `INPUT_NAMES`."""
    interpreter = _interpreter(path, num_threads)
    details = _by_name(interpreter)
    output = interpreter.get_output_details()[0]["index"]
    scores = []
    for i in range(len(inputs["category"])):
        for name, detail in details.items():
            interpreter.set_tensor(detail["index"], inputs[name][i : i + 1].astype(np.float32))
        interpreter.invoke()
        scores.append(float(interpreter.get_tensor(output).reshape(-1)[0]))
    return np.asarray(scores)


def time_rescorer_tflite(path, num_threads=1, runs=20, warmup=3):
    """Median milliseconds of one candidate (one `invoke` on zero crops)."""
    interpreter = _interpreter(path, num_threads)
    for detail in interpreter.get_input_details():
        interpreter.set_tensor(detail["index"], np.zeros(detail["shape"], detail["dtype"]))
    for _ in range(warmup):
        interpreter.invoke()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        interpreter.invoke()
        times.append(time.perf_counter() - start)
    return 1000.0 * float(np.median(times))
