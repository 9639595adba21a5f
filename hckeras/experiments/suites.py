"""Named experiment suites: each experiment is a set of `TrainConfig` overrides.

An ablation is a different argument, not different code: "fc7 only" is
`taps={"fc7": 1}`, a 1x1 grid is `grid_size=1`. `SUITE_DATA` gives each suite's
data set sizes and epochs; `HEADLINES` the comparisons reported per seed.
`RECIPE_GRID` is the experiment that chose the `synthetic-cpu` preset
(docs/training.md, "Choosing the recipe").
"""

from hckeras.metrics.evaluate import TASK_METRICS
from hckeras.training.presets import preset_options

# The CPU recipe shared by every experiment of a suite.
CPU_BASE = preset_options("synthetic-cpu")

HYPERCOLUMN_TAPS = dict(CPU_BASE["taps"])
FC7_ONLY = {"fc7": 1}


def with_seeds(experiment, seeds):
    """Copies of `experiment` trained from other seeds (initial weights, boxes,
    order, augmentation), named `NAME_seedN` after the first, in group NAME."""
    return [
        {
            **experiment,
            "name": experiment["name"] if i == 0 else f"{experiment['name']}_seed{seed}",
            "group": experiment["name"],
            "seed": seed,
        }
        for i, seed in enumerate(seeds)
    ]


SUITES = {
    # Table 2's comparison: hypercolumn vs fc7 only, segmentation.
    "demo": [
        {"name": "hypercolumn", "task": "segmentation", "taps": HYPERCOLUMN_TAPS},
        {"name": "fc7_only", "task": "segmentation", "taps": FC7_ONLY},
    ],
    # Tables 1-4 shaped: taps, grid sizes, keypoints and parts against fc7 only; the
    # headline segmentation comparisons over two seeds.
    "paper": [
        *with_seeds(
            {"name": "hypercolumn", "task": "segmentation", "taps": HYPERCOLUMN_TAPS}, (0, 1)
        ),
        *with_seeds({"name": "fc7_only", "task": "segmentation", "taps": FC7_ONLY}, (0, 1)),
        *with_seeds(
            {"name": "grid_1x1", "task": "segmentation", "taps": HYPERCOLUMN_TAPS, "grid_size": 1},
            (0, 1),
        ),
        {"name": "grid_2x2", "task": "segmentation", "taps": HYPERCOLUMN_TAPS, "grid_size": 2},
        {"name": "keypoints_hypercolumn", "task": "keypoints", "taps": HYPERCOLUMN_TAPS},
        {"name": "keypoints_fc7_only", "task": "keypoints", "taps": FC7_ONLY},
        {"name": "parts_hypercolumn", "task": "parts", "taps": HYPERCOLUMN_TAPS},
        {"name": "parts_fc7_only", "task": "parts", "taps": FC7_ONLY},
    ],
}

# The experiment that chose the synthetic-cpu preset (docs/training.md, "Choosing the
# recipe"): each row changes one thing against the preset.
SHALLOW = {"backbone_options": {"convs_per_block": [1, 1, 1, 1]}}
RECIPE_GRID = [
    {"name": "shallow_tiny_lr_3e-3", **SHALLOW, "learning_rate": 3e-3},
    {"name": "conv2_tap_lr_3e-3", "learning_rate": 3e-3, "taps": {**HYPERCOLUMN_TAPS, "conv2": 1}},
    {"name": "preset"},
    {"name": "lr_6e-3", "learning_rate": 6e-3},
    {
        "name": "fc_batch_norm_lr_6e-3",
        "learning_rate": 6e-3,
        "backbone_options": {"convs_per_block": [1, 2, 2, 2], "fc_batch_norm": True},
    },
    {"name": "12_epochs_lr_3e-3", "learning_rate": 3e-3, "epochs": 12},
    {"name": "batch_8_lr_3e-3", "batch_size": 8, "learning_rate": 3e-3},
]
SUITES["recipe"] = [
    {"task": "segmentation", "taps": HYPERCOLUMN_TAPS, **experiment} for experiment in RECIPE_GRID
]

SUITE_DATA = {
    "demo": {"train_images": 600, "val_images": 100, "epochs": 12},
    "paper": {"train_images": 600, "val_images": 100, "epochs": 10},
    "recipe": {"train_images": 600, "val_images": 100, "epochs": 6},
}

HEADLINES = {
    "demo": [("hypercolumn", "fc7_only")],
    "paper": [
        ("hypercolumn", "fc7_only"),
        ("hypercolumn", "grid_1x1"),
        ("keypoints_hypercolumn", "keypoints_fc7_only"),
        ("parts_hypercolumn", "parts_fc7_only"),
    ],
}

SDS_SYSTEMS = {"paper": ("system1", "system2")}
"""The SDS pipelines a suite adds after its experiments by default (`run_suite`): System 1
refinement (Table 1) and System 2 rescoring (Table 2's last column)."""

METRIC_OF_TASK = {task: metrics[0] for task, metrics in TASK_METRICS.items()}
