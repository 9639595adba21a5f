"""Training throughput: the input pipeline, the model alone, and both together.

All three are measured in one run on the same model and batch size, so that
"the pipeline keeps the model fed" is a ratio: end-to-end images/s over
model-only images/s (random data already in memory).
"""

import time

import keras
import numpy as np

from hckeras.backbones import build_backbone
from hckeras.data.image_cache import DEFAULT_IMAGE_CACHE_MB
from hckeras.losses import HypercolumnLoss
from hckeras.models import build_hypercolumn_model


class _StepTimer(keras.callbacks.Callback):
    def __init__(self, skip):
        super().__init__()
        self.skip, self.times, self._start = skip, [], None

    def on_train_batch_begin(self, batch, logs=None):
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if batch >= self.skip:
            self.times.append(time.perf_counter() - self._start)


def _compiled_model(backbone, num_maps, grid_size, output_size, jit_compile):
    model = build_hypercolumn_model(
        backbone,
        grid_size=grid_size,
        num_maps=num_maps,
        output_size=output_size,
    )
    model.compile(
        keras.optimizers.SGD(1e-3),
        loss=HypercolumnLoss(grid_size, output_size),
        jit_compile=jit_compile,
    )
    return model


def model_only_rate(model, batch_size, steps, warmup=2):
    """Images/s of `fit` on one random batch repeated (no input pipeline).

    The wall time covers whole steps including the device sync at their end.
    """
    height, width = model.input.shape[1:3]
    size, maps = model.output.shape[1], model.output.shape[3]
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (batch_size, height, width, 3)).astype("float32")
    y = (rng.uniform(size=(batch_size, size, size, maps)) > 0.5).astype("float32")
    for _ in range(warmup):
        model.train_on_batch(x, y)
    start = time.perf_counter()
    for _ in range(steps):
        loss = model.train_on_batch(x, y)
    float(np.asarray(loss))  # wait for the last step
    return batch_size * steps / (time.perf_counter() - start)


def end_to_end_rate(model, dataset, steps, warmup=2):
    """Images/s of `fit` on `dataset` (a PyDataset), steps after `warmup`."""
    timer = _StepTimer(warmup)
    model.fit(
        dataset,
        epochs=1,
        steps_per_epoch=warmup + steps,
        callbacks=[timer],
        verbose=0,
        shuffle=False,
    )
    return dataset.batch_size * len(timer.times) / sum(timer.times)


def bench_training(
    data,
    images=None,
    backbone="tiny",
    input_size=None,
    grid_size=5,
    output_size=50,
    batch_size=16,
    steps=10,
    workers=2,
    use_multiprocessing=False,
    mixed_precision=None,
    jit_compile="auto",
    image_cache_mb=DEFAULT_IMAGE_CACHE_MB,
):
    """Pipeline samples/s, model-only and end-to-end images/s, in one run."""
    from hckeras.data import training_dataset
    from hckeras.data.throughput import measure_pipeline

    if mixed_precision:
        keras.mixed_precision.set_global_policy(mixed_precision)
    network = build_backbone(backbone, input_size=input_size)
    side = network.input_size
    dataset = training_dataset(
        data,
        images,
        input_size=side,
        output_size=output_size,
        batch_size=batch_size,
        boxes_per_instance=max(1, (steps + 4) * batch_size),
        workers=workers,
        use_multiprocessing=use_multiprocessing,
        image_cache_mb=image_cache_mb,
    )
    pipeline = measure_pipeline(dataset, batches=steps)
    model = _compiled_model(network, dataset.layout.num_maps, grid_size, output_size, jit_compile)
    model_only = model_only_rate(model, batch_size, steps)
    end_to_end = end_to_end_rate(model, dataset, steps)
    return {
        "pipeline_samples_per_s": pipeline,
        "model_only_images_per_s": model_only,
        "end_to_end_images_per_s": end_to_end,
        "end_to_end_over_model_only": end_to_end / model_only,
        "setup": {
            "backbone": backbone,
            "input_size": list(side),
            "batch_size": batch_size,
            "grid_size": grid_size,
            "output_size": output_size,
            "workers": workers,
            "use_multiprocessing": use_multiprocessing,
            "image_cache_mb": image_cache_mb,
            "mixed_precision": mixed_precision,
            "jit_compile": jit_compile,
            "keras_backend": keras.backend.backend(),
            "devices": [str(d) for d in keras.distribution.list_devices()],
        },
    }


def format_training_report(results):
    s = results["setup"]
    return "\n".join(
        [
            f"training throughput: {s['backbone']} {s['input_size']}, batch {s['batch_size']}, "
            f"K={s['grid_size']}, S={s['output_size']}, workers {s['workers']}, "
            f"image cache {s['image_cache_mb']:g} MiB, "
            f"precision {s['mixed_precision'] or 'float32'}, backend {s['keras_backend']}",
            f"input pipeline   {results['pipeline_samples_per_s']:10.1f} samples/s",
            f"model only       {results['model_only_images_per_s']:10.1f} images/s",
            f"end to end       {results['end_to_end_images_per_s']:10.1f} images/s "
            f"({100 * results['end_to_end_over_model_only']:.0f}% of model only)",
        ]
    )
