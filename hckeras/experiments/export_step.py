"""Export a suite's model to LiteRT and measure it, for the report."""

import dataclasses
from pathlib import Path

MAX_ACCURACY_DROP = 0.01
"""A variant may lose at most 1 point of each accuracy column against Keras."""


QAT_MIN_IOU = 0.95
"""Mask IoU of the QAT model's masks with the float model's, at least."""

QAT_STEPS = 150
"""Fine-tuning steps of QAT in the report (batches of 16)."""


def _qat_training_data(model_path, data, common):
    """The model's own training samples for QAT: its run's cached shards when it
    was trained from a cache (reused, not rebuilt), else on-the-fly crops."""
    from hckeras.data.dataset import training_dataset
    from hckeras.training import TrainConfig
    from hckeras.training.run import cached_training_data

    run_dir = Path(model_path).parent
    config = TrainConfig.load(run_dir) if (run_dir / "config.json").exists() else None
    if config is None or not config.cache_dir:
        return training_dataset(str(data["train"]), batch_size=16, **common)
    batches_of_16 = dataclasses.replace(config, batch_size=16, workers=1)
    return cached_training_data(batches_of_16, common["input_size"], common["layout"])


def export_section(model_path, data, variants, out_dir, eval_count=64, runs=20, scoring="box"):
    """Export `variants` of `model_path`, check parity and accuracy on the
    validation set (results ranked by `scoring`, as `Predictor`'s), and return
    `(markdown section, rows)`."""
    from hckeras.data.dataset import first_samples, representative_crops, validation_dataset
    from hckeras.export.benchmark import run_export_benchmark, task_accuracy
    from hckeras.export.qat import QATConfig
    from hckeras.model_spec import ModelSpec, spec_path

    spec = ModelSpec.load(spec_path(model_path))
    common = {
        "task": spec.task,
        "input_size": tuple(spec.input_size),
        "output_size": spec.output_size,
        "context_padding": spec.context_padding,
        "layout": spec.layout,
        "workers": 1,
    }
    val = validation_dataset(str(data["val"]), batch_size=16, **common)
    crops, targets = first_samples(val, eval_count)
    train = _qat_training_data(model_path, data, common)
    detections = Path(data["val"]).parent / "detections_simulated.json"
    rows = run_export_benchmark(
        model_path,
        variants,
        out_dir,
        eval_crops=crops,
        eval_targets=targets,
        calibration_crops=representative_crops(val, 128),
        train_data=train,
        qat_config=QATConfig(
            epochs=1, learning_rate=1e-5, steps_per_epoch=min(QAT_STEPS, len(train))
        ),
        runs=runs,
        # Every variant must meet its parity floors (QAT's mask IoU against the float
        # model included) and the accuracy floor.
        floors={"qat": {"min_iou": QAT_MIN_IOU}},
        max_accuracy_drop=MAX_ACCURACY_DROP,
        accuracy_fn=task_accuracy(
            str(data["val"]), Path(data["val"]).parent, detections, num_threads=1, scoring=scoring
        ),
    )
    return format_export_section(model_path, rows, len(crops)), rows


def format_export_section(model_path, rows, eval_count):
    """The report's markdown section for `run_export_benchmark` rows."""
    from hckeras.export.benchmark import format_table

    return "\n".join(
        [
            f"## LiteRT export of `{Path(model_path).parent.name}` (`hckeras export`)",
            "",
            f"Parity against the Keras model on the first {eval_count} validation crops, "
            "accuracy on the validation set with the simulated detections, CPU latency per crop "
            "(XNNPACK, median); the backbone row is the bare backbone, exported and timed the "
            "same way. Sizes are in MB and latencies in ms; IoU, argmax and accuracy columns "
            "are fractions in [0, 1] (0.238 is 23.8 in the metric tables above). A variant "
            "validates when it meets its parity floors and loses at most "
            f"{MAX_ACCURACY_DROP:g} of each accuracy column ({100 * MAX_ACCURACY_DROP:.0f} "
            f"point); QAT's masks must overlap the float model's by IoU >= {QAT_MIN_IOU:g}.",
            "",
            format_table(rows),
        ]
    )
