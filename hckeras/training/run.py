"""`train`: one resumable training run in a run directory.

A run directory holds `config.json` (the exact options), `log.csv`,
`tensorboard/` (where TensorFlow is installed), `curves.png`,
`checkpoints/epoch_NNNN.keras` (after every epoch), and at the end
`model.keras` with its spec `model.json`. Starting the same command again
continues from the last finished epoch, its log trimmed to that epoch.
"""

import contextlib
import dataclasses
import importlib.util
from pathlib import Path

import keras

from hckeras.backbones import build_backbone
from hckeras.data.coco import CocoDataset
from hckeras.data.dataset import training_dataset, validation_dataset
from hckeras.data.shards import ShardDataset, build_shards
from hckeras.io import save_model_atomic, write_json_atomic
from hckeras.losses import HypercolumnLoss
from hckeras.model_spec import ModelSpec, spec_path
from hckeras.models import build_hypercolumn_model
from hckeras.training.checkpoint import EpochCheckpoint, resume_state, trim_csv_log
from hckeras.training.config import CONFIG_FILE
from hckeras.training.curves import plot_training_curves
from hckeras.training.distribute import data_parallel
from hckeras.training.memory import is_out_of_memory, largest_fitting_batch, out_of_memory_error

MIXED_PRECISION_POLICIES = ("mixed_float16", "mixed_bfloat16")


class _CurvesCallback(keras.callbacks.Callback):
    def __init__(self, csv_path, png_path):
        super().__init__()
        self.csv_path, self.png_path = csv_path, png_path

    def on_epoch_end(self, epoch, logs=None):
        plot_training_curves(self.csv_path, self.png_path)


def cached_training_data(config, input_size, layout=None, coco=None):
    """`ShardDataset` of the config's cached shards (built in `config.cache_dir`
    if missing, reused otherwise), with its batch size, augmentation and seed."""
    shards = build_shards(
        coco if coco is not None else CocoDataset.load(config.data, config.images),
        config.cache_dir,
        task=config.task,
        input_size=input_size,
        output_size=config.output_size,
        boxes_per_instance=config.boxes_per_instance,
        min_iou=config.min_iou,
        context_padding=config.context_padding,
        category_ids=config.category_ids,
        seed=config.seed,
        layout=layout,
        workers=config.workers,
    )
    return ShardDataset(
        shards,
        batch_size=config.batch_size,
        augment=config.augment,
        seed=config.seed,
        small_box_weight=config.small_box_weight,
        workers=config.workers,
    )


def _datasets(config, input_size, layout=None):
    coco = CocoDataset.load(config.data, config.images)
    common = dict(
        task=config.task,
        input_size=input_size,
        output_size=config.output_size,
        batch_size=config.batch_size,
        context_padding=config.context_padding,
        category_ids=config.category_ids,
        workers=config.workers,
        image_cache_mb=config.image_cache_mb,
    )
    if config.cache_dir:
        train = cached_training_data(config, input_size, layout, coco)
    else:
        train = training_dataset(
            coco,
            min_iou=config.min_iou,
            boxes_per_instance=config.boxes_per_instance,
            augment=config.augment,
            seed=config.seed,
            small_box_weight=config.small_box_weight,
            layout=layout,
            **common,
        )
    val = None
    if config.val_data:
        val = validation_dataset(config.val_data, config.val_images, layout=train.layout, **common)
    return train, val


def _optimizer(config, steps_per_epoch):
    """Adam or AdamW with the config's learning-rate schedule (see `TrainConfig`)."""
    total = max(1, config.epochs * steps_per_epoch)
    warmup = min(int(round(config.warmup_epochs * steps_per_epoch)), total - 1)
    if config.lr_schedule == "cosine":
        rate = keras.optimizers.schedules.CosineDecay(
            0.0 if warmup else config.learning_rate,
            decay_steps=total - warmup,
            warmup_target=config.learning_rate if warmup else None,
            warmup_steps=warmup,
        )
    elif config.lr_schedule == "constant":
        rate = config.learning_rate
        if warmup:
            rate = keras.optimizers.schedules.CosineDecay(
                0.0, decay_steps=1, alpha=1.0, warmup_target=rate, warmup_steps=warmup
            )
    else:
        raise ValueError(f"unknown lr_schedule {config.lr_schedule!r}; valid: constant, cosine")
    if config.weight_decay:
        return keras.optimizers.AdamW(rate, weight_decay=config.weight_decay)
    return keras.optimizers.Adam(rate)


def _set_batch_norm_momentum(model, momentum):
    if momentum is None:
        return
    if not 0.0 <= momentum < 1.0:
        raise ValueError(f"batch_norm_momentum must be in [0, 1), got {momentum}")
    for layer in model._flatten_layers():
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = float(momentum)


def _set_precision(policy):
    if policy is None:
        return
    if policy not in MIXED_PRECISION_POLICIES:
        valid = ", ".join(MIXED_PRECISION_POLICIES)
        raise ValueError(f"unknown mixed-precision policy {policy!r}; valid: {valid}")
    keras.mixed_precision.set_global_policy(policy)


def _taps_of(model):
    """Tap name -> neighbourhood of a (efficient-head) model, read from its
    `{tap}_score` convolutions, so a resumed run need not rebuild its backbone."""
    return {
        layer.name.removesuffix("_score"): int(layer.kernel_size[0])
        for layer in model.layers
        if layer.name.endswith("_score")
    }


def _callbacks(run_dir):
    # The log row before the checkpoint: a kill between them leaves a row that
    # `trim_csv_log` drops on resume, never a finished epoch without its row.
    callbacks = [
        keras.callbacks.CSVLogger(str(run_dir / "log.csv"), append=True),
        _CurvesCallback(run_dir / "log.csv", run_dir / "curves.png"),
        EpochCheckpoint(run_dir),
    ]
    if all(importlib.util.find_spec(m) for m in ("tensorflow", "tensorboard")):
        callbacks.append(keras.callbacks.TensorBoard(str(run_dir / "tensorboard")))
    return callbacks


def compiled_model(config, backbone, num_maps, steps_per_epoch):
    """The config's hypercolumn model on `backbone`, compiled with its loss and
    optimizer (`steps_per_epoch` sets the learning-rate schedule's length)."""
    model = build_hypercolumn_model(
        backbone,
        taps=config.taps,
        grid_size=config.grid_size,
        num_maps=num_maps,
        output_size=config.output_size,
    )
    _set_batch_norm_momentum(model, config.batch_norm_momentum)
    model.compile(
        _optimizer(config, steps_per_epoch),
        loss=HypercolumnLoss(config.grid_size, config.output_size, mode=config.loss_mode),
        jit_compile=config.jit_compile,
    )
    return model


def _calibrated(model, spec, config, run_dir):
    """`spec` with the mask threshold chosen on the validation set
    (`hckeras.training.threshold`), and the choice, also written to
    `run_dir/threshold.json`."""
    from hckeras.inference.predictor import Predictor
    from hckeras.training.threshold import TASKS, choose_mask_threshold

    if spec.task not in TASKS:
        return spec, None
    if not config.val_data:
        print("calibrate_threshold: no validation data, the mask threshold stays 0.5")
        return spec, None
    chosen = choose_mask_threshold(Predictor(model, spec), config.val_data, config.val_images)
    write_json_atomic(run_dir / "threshold.json", chosen)
    print(
        f"mask threshold {chosen['threshold']:.2f}: {chosen['measure']} "
        f"{chosen['quality'][chosen['threshold']]:.3f} (0.5: {chosen['quality'].get(0.5, 0):.3f})"
    )
    thresholds = {**spec.thresholds, "mask": chosen["threshold"]}
    return dataclasses.replace(spec, thresholds=thresholds), chosen


def train(config, run_dir, verbose="auto"):
    """Train (or resume) the run described by `config` in `run_dir`.

    Returns:
        dict with the `model` (logits), its `spec`, the `history` of this
        call, `skipped` (annotation counts by reason), `threshold` (the
        validation-chosen mask threshold, `choose_mask_threshold`'s dict, or
        None) and the file paths.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if (run_dir / CONFIG_FILE).exists():
        config.check_same_run(run_dir)
    else:
        config.save(run_dir)
    _set_precision(config.mixed_precision)
    scope = contextlib.nullcontext()
    if config.distribute:
        scope, replicas = data_parallel(config.batch_size)
        print(f"data-parallel training over {replicas} devices")
    with scope:
        model, epochs_done = resume_state(run_dir)
        if model is None:
            keras.utils.set_random_seed(config.seed)  # the initial weights follow the seed
            options = config.backbone_options or {}
            backbone = build_backbone(config.backbone, config.weights, config.input_size, **options)
            train_data, val_data = _datasets(config, backbone.input_size)
            model = compiled_model(config, backbone, train_data.layout.num_maps, len(train_data))
            taps = dict(backbone.default_taps if config.taps is None else config.taps)
        else:
            train_data, val_data = _datasets(config, tuple(model.input.shape[1:3]))
            taps = _taps_of(model)
            print(f"resuming {run_dir} after epoch {epochs_done} of {config.epochs}")
    train_data.epoch = epochs_done
    trim_csv_log(run_dir / "log.csv", epochs_done)
    if train_data.report.total:
        print(train_data.report.format())
    try:
        history = model.fit(
            train_data,
            validation_data=val_data,
            epochs=config.epochs,
            initial_epoch=epochs_done,
            callbacks=_callbacks(run_dir),
            shuffle=False,  # the dataset shuffles, seeded; Keras would reorder batches unseeded
            verbose=verbose,
        )
    except Exception as error:
        if not is_out_of_memory(error):
            raise
        fitting = largest_fitting_batch(model, config.batch_size)
        raise out_of_memory_error(config.batch_size, fitting, run_dir) from error
    spec = ModelSpec(
        task=config.task,
        layout=train_data.layout,
        backbone=config.backbone,
        taps=taps,
        grid_size=config.grid_size,
        output_size=config.output_size,
        input_size=tuple(model.input.shape[1:3]),
        context_padding=config.context_padding,
    )
    calibration = None
    if config.calibrate_threshold:
        spec, calibration = _calibrated(model, spec, config, run_dir)
    model_path = save_model_atomic(model, run_dir / "model.keras")
    spec.save(spec_path(model_path))
    return {
        "threshold": calibration,
        "model": model,
        "spec": spec,
        "history": history.history,
        "skipped": train_data.report.counts,
        "model_path": model_path,
        "run_dir": run_dir,
    }
