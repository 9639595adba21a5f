"""Cached shards vs on-the-fly crops: training samples per CPU-second.

`bench_shards` times one pass over the same samples both ways in this thread
(`workers=0`, so `time.process_time` is the CPU cost of one core), with flips
and colour jitter on in both: the on-the-fly pipeline decodes images and
resamples crops and targets; the cached one reads memory maps and augments.
The cache build is timed too (wall clock, its own threads).
"""

import tempfile
import time

from hckeras.data.dataset import training_dataset
from hckeras.data.shards import ShardDataset, build_shards


def _cpu_rate(dataset):
    started, count = time.process_time(), 0
    for index in range(len(dataset)):
        count += len(dataset[index][0])
    return count / max(time.process_time() - started, 1e-9)


def bench_shards(
    data,
    task="segmentation",
    input_size=96,
    output_size=32,
    boxes_per_instance=2,
    batch_size=16,
    cache_dir=None,
):
    """Samples/s per core of both pipelines on `data`; returns a dict of figures."""
    options = dict(
        task=task,
        input_size=input_size,
        output_size=output_size,
        boxes_per_instance=boxes_per_instance,
    )
    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        shards = build_shards(data, cache_dir or scratch, verbose=False, **options)
        build_seconds = time.perf_counter() - started
        cached = _cpu_rate(ShardDataset(shards, batch_size=batch_size))
    on_the_fly = _cpu_rate(training_dataset(data, batch_size=batch_size, workers=0, **options))
    return {
        "setup": {**options, "batch_size": batch_size, "samples": len(shards)},
        "build_seconds": build_seconds,
        "on_the_fly_samples_per_cpu_s": on_the_fly,
        "cached_samples_per_cpu_s": cached,
        "speedup": cached / on_the_fly,
    }


def format_shards_report(results):
    setup = results["setup"]
    return (
        f"{setup['task']} {setup['input_size']} px / S {setup['output_size']}, "
        f"{setup['samples']} samples: on the fly "
        f"{results['on_the_fly_samples_per_cpu_s']:.0f} samples per CPU-second, cached "
        f"{results['cached_samples_per_cpu_s']:.0f} ({results['speedup']:.1f}x); "
        f"cache built in {results['build_seconds']:.1f} s"
    )
