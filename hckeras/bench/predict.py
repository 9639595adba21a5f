"""Prediction on a very large image: peak memory and time against the number of detections.

One `image_size` x `image_size` image, `count` equal boxes at seeded random
places, a tiny untrained segmentation model. Each count runs in a fresh child
process (peak resident memory is per process) and times the steps
`hckeras predict` takes per image: `Predictor.predict`, COCO RLE encoding
(`results_to_coco`) and the overlay (`draw_overlay`; PNG writing is left out).
Reported per count: seconds per step, peak RSS of the process, its rise over
the memory held before predicting (model and image loaded, one warm-up call),
the bytes of the arrays the results keep, and a digest of the COCO
results (equal digests: equal masks).
"""

import hashlib
import json
import multiprocessing
import time

import numpy as np

from hckeras.bench.memory import current_rss_mib, peak_rss_mib, reset_peak

CATEGORY = {"id": 1, "name": "object"}


def bench_boxes(count, image_size, box_size, seed=0):
    """`count` COCO detections of `box_size` x `box_size` boxes inside the image."""
    rng = np.random.default_rng(seed)
    corners = rng.uniform(0, image_size - box_size, size=(count, 2))
    return [
        {"bbox": [float(x), float(y), box_size, box_size], "category_id": 1, "score": 0.9}
        for x, y in corners
    ]


def _array_bytes(results):
    return sum(v.nbytes for r in results for v in r.values() if isinstance(v, np.ndarray))


def _run_count(count, image_size, box_size, input_size, output_size, batch_size):
    """One count in this process: seconds per step and memory figures."""
    import keras

    from hckeras.inference import Predictor, draw_overlay, results_to_coco
    from hckeras.model_spec import ModelSpec
    from hckeras.models import build_hypercolumn_model
    from hckeras.tasks import MapLayout

    keras.utils.set_random_seed(0)
    taps = {"fc7": 1, "conv4": 1, "pool2": 3}
    model = build_hypercolumn_model(
        "tiny", taps=taps, grid_size=2, output_size=output_size, input_size=input_size
    )
    spec = ModelSpec(
        task="segmentation",
        layout=MapLayout.from_categories([CATEGORY], "segmentation"),
        backbone="tiny",
        taps=taps,
        grid_size=2,
        output_size=output_size,
        input_size=(input_size, input_size),
    )
    predictor = Predictor(model, spec, batch_size=batch_size)
    image = np.random.default_rng(1).integers(0, 256, (image_size, image_size, 3), np.uint8)
    detections = bench_boxes(count, image_size, box_size)
    # Trace the model for this batch shape, on a corner of the image.
    predictor.predict(image[:box_size, :box_size], detections)
    baseline = current_rss_mib()
    reset_peak()
    start = time.perf_counter()
    results = predictor.predict(image, detections)
    predicted = time.perf_counter()
    coco = results_to_coco(results, image_id=1)
    encoded = time.perf_counter()
    draw_overlay(image, results, [CATEGORY])
    drawn = time.perf_counter()
    peak = peak_rss_mib()
    return {
        "count": count,
        "predict_seconds": predicted - start,
        "encode_seconds": encoded - predicted,
        "overlay_seconds": drawn - encoded,
        "total_seconds": drawn - start,
        "peak_rss_mib": peak,
        "peak_over_baseline_mib": max(peak - baseline, 0.0),
        "result_arrays_mib": _array_bytes(results) / 2**20,
        "results_sha256": hashlib.sha256(json.dumps(coco).encode()).hexdigest(),
    }


def bench_predict(
    counts=(6, 12, 24), image_size=8000, box_size=1000, input_size=64, output_size=50, batch_size=32
):
    """Time and peak memory of predicting `count` detections in one large image, per count.

    Returns:
        dict: `runs` (one dict per count, see the module docstring),
        `seconds_per_detection` (total seconds / count, per count) and `setup`.
    """
    runs = []
    context = multiprocessing.get_context("spawn")
    for count in counts:
        with context.Pool(1) as pool:
            runs.append(
                pool.apply(
                    _run_count, (count, image_size, box_size, input_size, output_size, batch_size)
                )
            )
    return {
        "runs": runs,
        "seconds_per_detection": {r["count"]: r["total_seconds"] / r["count"] for r in runs},
        "setup": {
            "image_size": image_size,
            "box_size": box_size,
            "input_size": input_size,
            "output_size": output_size,
            "batch_size": batch_size,
        },
    }


def format_predict_report(results):
    s = results["setup"]
    lines = [
        f"predict benchmark: {s['image_size']}x{s['image_size']} image, {s['box_size']} px boxes, "
        f"tiny untrained model ({s['input_size']} px crops, S={s['output_size']}), "
        f"batch {s['batch_size']}",
        f"{'dets':>5} {'predict s':>10} {'encode s':>9} {'overlay s':>10} {'total s':>8} "
        f"{'s/det':>6} {'peak RSS MiB':>13} {'rise MiB':>9} {'results MiB':>12} {'sha256':>8}",
    ]
    for r in results["runs"]:
        lines.append(
            f"{r['count']:>5} {r['predict_seconds']:>10.2f} {r['encode_seconds']:>9.2f} "
            f"{r['overlay_seconds']:>10.2f} {r['total_seconds']:>8.2f} "
            f"{r['total_seconds'] / r['count']:>6.3f} {r['peak_rss_mib']:>13.0f} "
            f"{r['peak_over_baseline_mib']:>9.0f} {r['result_arrays_mib']:>12.1f} "
            f"{r['results_sha256'][:8]:>8}"
        )
    return "\n".join(lines)
