"""Runners: whatever turns a batch of crops into heatmap probabilities.

A runner is any callable `runner(crops) -> probabilities` with

- `crops`: float32 `(B, H, W, 3)`, RGB in [0, 255] (the model spec's input format),
- `probabilities`: float32 numpy `(B, S, S, C)`,

and an attribute `input_size` (`(H, W)`, or `None` when the spec decides). It may
also set `max_batch_size` (an int) when it cannot take larger batches, e.g. a
graph exported with a static batch of 1. `KerasRunner` wraps a Keras model; a
plain function is fine too (`Predictor` reads its input size from the spec).

`KerasRunner` pads every batch to one of at most four sizes (`batch_buckets`) and
drops the padded rows, so that a compiled predict function sees at most four
input shapes whatever the number of detections per image (a new input shape can
retrace a tf.function, and recompiles an XLA-compiled one).
"""

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Runner(Protocol):
    """`(B, H, W, 3)` float32 crops -> `(B, S, S, C)` float32 probabilities."""

    input_size: tuple | None

    def __call__(self, crops: np.ndarray) -> np.ndarray: ...


BUCKETS = 4
"""Most batch shapes `KerasRunner` calls its model with: under tf.function's
"5 out of the last N calls triggered retracing" warning threshold."""


def batch_buckets(batch_size):
    """The batch sizes a `KerasRunner` pads to: `batch_size` and up to three
    halvings (rounded up), ascending.

    >>> batch_buckets(32), batch_buckets(3), batch_buckets(1)
    ((4, 8, 16, 32), (1, 2, 3), (1,))
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    return tuple(sorted({-(-batch_size // 2**k) for k in range(BUCKETS)}))


def checked_crops(crops):
    """`crops` as float32, `ValueError` unless `(B, H, W, 3)`."""
    crops = np.asarray(crops, dtype=np.float32)
    if crops.ndim != 4 or crops.shape[-1] != 3:
        raise ValueError(f"crops must be (B, H, W, 3), got shape {crops.shape}")
    return crops


def predict_in_buckets(model, inputs, batch_sizes):
    """`model.predict_on_batch` over float32 arrays `inputs` (one per model input, equal
    first dimensions), each call padded with zero rows to the next of `batch_sizes`
    (ascending; longer inputs are split at the largest) so the model only ever sees
    those batch shapes; the padded rows are dropped from the output. A model with several
    outputs gives a list of arrays, one per output."""
    count = len(inputs[0])
    largest = batch_sizes[-1]
    outputs = []
    for start in range(0, max(count, 1), largest):
        chunks = [array[start : start + largest] for array in inputs]
        size = next(s for s in batch_sizes if s >= len(chunks[0]))
        padded = []
        for chunk in chunks:
            rows = np.zeros((size, *chunk.shape[1:]), dtype=np.float32)
            rows[: len(chunk)] = chunk
            padded.append(rows)
        batch = padded[0] if len(padded) == 1 else padded
        output = model.predict_on_batch(batch)
        if isinstance(output, list | tuple):
            outputs.append([np.asarray(o, np.float32)[: len(chunks[0])] for o in output])
        else:
            outputs.append(np.asarray(output, np.float32)[: len(chunks[0])])
    if isinstance(outputs[0], list):
        return [np.concatenate(parts) for parts in zip(*outputs, strict=True)]
    return np.concatenate(outputs)


class KerasRunner:
    """Run a Keras model that maps crops to probabilities (or to grid logits).

    A model whose output is 5-D, `(B, S, S, num_maps, K*K)` logits (the training
    model), is wrapped with `hckeras.probability_model` first. Calls of up to
    `batch_size` crops are padded with zero crops to the next of
    `batch_buckets(batch_size)` (larger calls are split), and the padded rows
    are dropped: the model only ever sees those batch shapes.

    >>> runner = KerasRunner(model)                    # doctest: +SKIP
    >>> runner(np.zeros((2, 224, 224, 3), "float32")).shape   # doctest: +SKIP
    (2, 50, 50, 20)
    """

    def __init__(self, model, batch_size=32):
        from hckeras.models.hypercolumn_model import takes_candidates

        if takes_candidates(model):
            raise ValueError(
                f"model {model.name!r} is a System 1 refiner: it takes region candidates as "
                "well as crops; use hckeras.sds.refinement (hckeras refine), not a Predictor"
            )
        if len(model.inputs) != 1 or len(model.outputs) != 1:
            raise ValueError(
                f"KerasRunner needs a model with one input and one output, got "
                f"{len(model.inputs)} inputs and {len(model.outputs)} outputs"
            )
        if len(model.outputs[0].shape) == 5:
            from hckeras import probability_model

            model = probability_model(model)
        output_shape = tuple(model.outputs[0].shape)
        if len(output_shape) != 4:
            raise ValueError(
                f"KerasRunner expects probabilities (B, S, S, C) or logits (B, S, S, C, K*K); "
                f"the model outputs shape {output_shape}"
            )
        input_shape = tuple(model.inputs[0].shape)
        if len(input_shape) != 4 or input_shape[-1] != 3:
            raise ValueError(f"KerasRunner expects RGB input (B, H, W, 3), got {input_shape}")
        self.model = model
        height, width = input_shape[1:3]
        self.input_size = None if height is None or width is None else (height, width)
        self.batch_sizes = batch_buckets(batch_size)

    def __call__(self, crops):
        return predict_in_buckets(self.model, [checked_crops(crops)], self.batch_sizes)


class FunctionRunner:
    """Give a plain `crops -> probabilities` function the runner interface."""

    def __init__(self, function, input_size):
        self.function = function
        self.input_size = tuple(input_size)

    def __call__(self, crops):
        return np.asarray(self.function(np.asarray(crops, dtype=np.float32)), dtype=np.float32)


def as_runner(model_or_runner, input_size=None, batch_size=32):
    """A runner for a Keras model, a runner, or a plain function.

    `input_size` is used for plain functions (which do not say their own),
    `batch_size` for Keras models (`KerasRunner`).
    """
    if isinstance(model_or_runner, Runner):
        return model_or_runner
    import keras

    if isinstance(model_or_runner, keras.Model):
        return KerasRunner(model_or_runner, batch_size=batch_size)
    if callable(model_or_runner):
        if input_size is None:
            raise ValueError("a plain function runner needs an input_size")
        return FunctionRunner(model_or_runner, input_size)
    raise ValueError(
        f"expected a keras.Model, a runner or a function, got {type(model_or_runner).__name__}"
    )


def batch_limit(runner, batch_size):
    """The batch size to use: `batch_size`, capped by the runner's `max_batch_size`."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    limit = getattr(runner, "max_batch_size", None)
    return batch_size if limit is None else max(1, min(batch_size, int(limit)))


def run_in_batches(runner, crops, batch_size=32):
    """Run `runner` on `(N, H, W, 3)` crops, at most `batch_size` at a time.

    Returns the concatenated `(N, S, S, C)` probabilities; `N` must be >= 1.
    """
    crops = np.asarray(crops, dtype=np.float32)
    if crops.ndim != 4 or crops.shape[0] == 0:
        raise ValueError(f"expected (N >= 1, H, W, 3) crops, got shape {crops.shape}")
    step = batch_limit(runner, batch_size)
    return np.concatenate(
        [runner(crops[start : start + step]) for start in range(0, len(crops), step)]
    )


def warm_up(model, batch_sizes):
    """Run a Keras model once at each of `batch_sizes` on zeros (its `predict_on_batch`
    traces a graph per batch shape), so that timing it later leaves tracing out."""
    for size in batch_sizes:
        inputs = [np.zeros((size, *t.shape[1:]), np.float32) for t in model.inputs]
        predict_in_buckets(model, inputs, (size,))
