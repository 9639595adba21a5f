import argparse

import keras
import numpy as np
import pytest

from hckeras.cli.train import config_from_args, register
from hckeras.training import TrainConfig
from hckeras.training.presets import PRESETS
from hckeras.training.run import _optimizer


def _parse(argv):
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    return parser.parse_args(["train", *argv])


def test_preset_values_hold_unless_a_flag_is_given():
    preset = PRESETS["synthetic-cpu"]
    config = config_from_args(
        _parse(["--data", "d.json", "--out", "o", "--preset", "synthetic-cpu", "--lr", "0.01"])
    )
    assert config.learning_rate == 0.01
    assert config.lr_schedule == preset["lr_schedule"] == "cosine"
    assert config.backbone_options == preset["backbone_options"]
    plain = config_from_args(_parse(["--data", "d.json", "--out", "o"]))
    assert plain == TrainConfig(data="d.json")


def test_unknown_preset_is_refused():
    with pytest.raises(ValueError, match="unknown training preset 'nope'"):
        TrainConfig.from_preset("nope", data="d.json")


def _rates(optimizer, steps):
    schedule = optimizer._learning_rate
    return [float(keras.ops.convert_to_numpy(schedule(s))) for s in steps]


def test_cosine_schedule_warms_up_linearly_then_decays_to_zero():
    config = TrainConfig(
        data="d", epochs=4, learning_rate=0.2, lr_schedule="cosine", warmup_epochs=1
    )
    optimizer = _optimizer(config, steps_per_epoch=10)  # 40 steps, 10 of warm-up
    rates = _rates(optimizer, [0, 5, 10, 25, 40])
    np.testing.assert_allclose(rates, [0.0, 0.1, 0.2, 0.1, 0.0], atol=1e-6)


def test_constant_schedule_with_warm_up_and_weight_decay():
    config = TrainConfig(
        data="d", epochs=2, learning_rate=0.1, warmup_epochs=0.5, weight_decay=1e-4
    )
    optimizer = _optimizer(config, steps_per_epoch=10)
    assert isinstance(optimizer, keras.optimizers.AdamW) and optimizer.weight_decay == 1e-4
    np.testing.assert_allclose(_rates(optimizer, [0, 5, 10, 20]), [0.0, 0.1, 0.1, 0.1], atol=1e-6)
    with pytest.raises(ValueError, match="unknown lr_schedule 'step'"):
        _optimizer(TrainConfig(data="d", lr_schedule="step"), 10)
