"""Named training recipes: plain dicts of `TrainConfig` options.

`synthetic-cpu` is the recipe chosen by experiment for the synthetic set on a
2-core CPU (docs/training.md, "Choosing the recipe", has the table of what was
tried); `make demo` and `hckeras ablate` use it.

    config = TrainConfig.from_preset("synthetic-cpu", data="synth/train/annotations.json")
"""

PRESETS = {
    "synthetic-cpu": {
        "backbone": "tiny",
        "backbone_options": {"convs_per_block": [1, 2, 2, 2]},
        "taps": {"fc7": 1, "conv4": 1, "pool2": 3},
        "input_size": 96,
        "output_size": 32,
        "grid_size": 5,
        "batch_size": 16,
        "learning_rate": 3e-3,
        "lr_schedule": "cosine",
        "warmup_epochs": 0.5,
        "weight_decay": 1e-4,
        "boxes_per_instance": 2,
        "batch_norm_momentum": 0.9,
        "workers": 2,
        "calibrate_threshold": True,
    },
}


def preset_options(name):
    """A copy of `PRESETS[name]`."""
    if name not in PRESETS:
        raise ValueError(f"unknown training preset {name!r}; valid: {', '.join(PRESETS)}")
    return dict(PRESETS[name])
