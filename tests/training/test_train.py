import csv
import json
import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from hckeras.data.synthetic import generate
from hckeras.training import TrainConfig, train
from hckeras.training import checkpoint as checkpoint_module
from hckeras.training.checkpoint import latest_checkpoint, trim_csv_log


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    return str(generate(tmp_path_factory.mktemp("synth"), 6, seed=3))


def _config(data, **kwargs):
    options = dict(
        data=data,
        backbone="tiny",
        input_size=32,
        output_size=8,
        grid_size=2,
        epochs=2,
        batch_size=8,
        workers=0,
    )
    return TrainConfig(**{**options, **kwargs})


def test_config_round_trip_and_other_options_refused(tmp_path, synthetic):
    config = _config(synthetic)
    config.save(tmp_path)
    assert TrainConfig.load(tmp_path) == config
    _config(synthetic, epochs=5).check_same_run(tmp_path)  # training longer is fine
    _config(synthetic, image_cache_mb=0).check_same_run(tmp_path)  # same batches
    assert TrainConfig.load(tmp_path).image_cache_mb == 0
    with pytest.raises(ValueError, match="grid_size"):
        _config(synthetic, grid_size=3).check_same_run(tmp_path)


def test_train_writes_run_directory(tmp_path, synthetic):
    result = train(_config(synthetic, val_data=synthetic), tmp_path / "run", verbose=0)
    run = tmp_path / "run"
    for name in (
        "config.json",
        "log.csv",
        "curves.png",
        "model.keras",
        "model.json",
        "checkpoints/epoch_0002.keras",
    ):
        assert (run / name).exists(), name
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["epoch_0002.keras"]
    assert len(result["history"]["loss"]) == 2 and "val_loss" in result["history"]
    assert json.loads((run / "model.json").read_text())["layout"]["task"] == "segmentation"
    assert any((run / "tensorboard").rglob("events.out.tfevents*"))


def _state(model):
    """Weights and optimizer variables (Adam's step count and moments) as NumPy."""
    weights = [np.asarray(w) for w in model.get_weights()]
    return weights, [np.asarray(v) for v in model.optimizer.variables]


def _assert_same_state(actual, expected):
    (weights, optimizer), (expected_weights, expected_optimizer) = actual, expected
    assert len(weights) == len(expected_weights) and len(optimizer) == len(expected_optimizer)
    for a, b in zip(weights, expected_weights, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    for a, b in zip(optimizer, expected_optimizer, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def _log(run):
    with open(run / "log.csv") as handle:
        return [(int(row["epoch"]), float(row["loss"])) for row in csv.DictReader(handle)]


@pytest.fixture(scope="module")
def uninterrupted(synthetic, tmp_path_factory):
    run = tmp_path_factory.mktemp("uninterrupted") / "run"
    return _state(train(_config(synthetic, epochs=3), run, verbose=0)["model"]), _log(run)


class _Killed(BaseException):
    """Stands for a kill: nothing in the run catches it."""


@pytest.mark.parametrize("moment", ["before_checkpoint", "after_checkpoint"])
def test_crash_around_a_checkpoint_then_resume_equals_uninterrupted_run(
    tmp_path, synthetic, uninterrupted, monkeypatch, moment
):
    real_save, calls = checkpoint_module.save_model_atomic, []

    def save_then_die(model, path):
        calls.append(path)
        if len(calls) == 2 and moment == "before_checkpoint":
            raise _Killed
        saved = real_save(model, path)
        if len(calls) == 2:
            raise _Killed
        return saved

    monkeypatch.setattr(checkpoint_module, "save_model_atomic", save_then_die)
    run = tmp_path / "run"
    with pytest.raises(_Killed):
        train(_config(synthetic, epochs=3), run, verbose=0)
    monkeypatch.setattr(checkpoint_module, "save_model_atomic", real_save)
    done = 1 if moment == "before_checkpoint" else 2
    assert latest_checkpoint(run)[1] == done
    assert [epoch for epoch, _ in _log(run)] == [0, 1]  # the row comes before the checkpoint
    resumed = train(_config(synthetic, epochs=3), run, verbose=0)["model"]
    expected_state, expected_log = uninterrupted
    _assert_same_state(_state(resumed), expected_state)
    log = _log(run)
    assert [epoch for epoch, _ in log] == [0, 1, 2]
    np.testing.assert_allclose([v for _, v in log], [v for _, v in expected_log], rtol=1e-4)
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["epoch_0003.keras"]


def test_latest_checkpoint_ignores_leftovers(tmp_path):
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    assert latest_checkpoint(tmp_path) == (None, 0)
    for name in ("epoch_0002.keras", "epoch_0010.keras", ".epoch_0011.tmp.keras", "x.keras"):
        (folder / name).write_bytes(b"")
    assert latest_checkpoint(tmp_path) == (folder / "epoch_0010.keras", 10)


def test_trim_csv_log_drops_rows_after_the_checkpoint(tmp_path):
    log = tmp_path / "log.csv"
    log.write_bytes(b"epoch,loss\r\n0,0.5\r\n1,0.4\r\n2,0.3\r\n3,0.")  # killed mid-row
    trim_csv_log(log, 2)
    assert log.read_bytes() == b"epoch,loss\r\n0,0.5\r\n1,0.4\r\n"
    trim_csv_log(log, 5)  # nothing to drop: unchanged
    assert log.read_bytes() == b"epoch,loss\r\n0,0.5\r\n1,0.4\r\n"
    trim_csv_log(log, 0)
    assert log.read_bytes() == b"epoch,loss\r\n"
    trim_csv_log(tmp_path / "absent.csv", 0)
    assert not (tmp_path / "absent.csv").exists()


@pytest.mark.slow
def test_kill_dash_nine_mid_epoch_then_same_command_resumes(tmp_path, synthetic):
    run = tmp_path / "run"
    command = [
        sys.executable,
        "-m",
        "hckeras.cli.main",
        "train",
        "--data",
        synthetic,
        "--backbone",
        "tiny",
        "--input-size",
        "32",
        "--output-size",
        "8",
        "--grid",
        "2",
        "--epochs",
        "3",
        "--batch-size",
        "4",
        "--boxes-per-instance",
        "30",
        "--workers",
        "0",
        "--out",
        str(run),
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 240
    while latest_checkpoint(run)[0] is None and time.time() < deadline and process.poll() is None:
        time.sleep(0.2)
    assert latest_checkpoint(run)[0] is not None, "the first epoch never finished"
    time.sleep(1.0)  # well inside the second epoch
    assert process.poll() is None, "the run finished before it could be killed"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    done = latest_checkpoint(run)[1]
    assert done in (1, 2)
    resumed = subprocess.run(
        [*command, "--image-cache-mb", "0"], env=env, capture_output=True, text=True, timeout=600
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert TrainConfig.load(run).image_cache_mb == 0
    assert f"resuming {run} after epoch {done} of 3" in resumed.stdout
    assert [epoch for epoch, _ in _log(run)] == [0, 1, 2]
    assert latest_checkpoint(run)[1] == 3
    # The same command, never interrupted: the same weights, log and optimizer state.
    whole = tmp_path / "whole"
    command[command.index("--out") + 1] = str(whole)
    subprocess.run(command, env=env, capture_output=True, check=True, timeout=600)
    _assert_same_state(
        _state(keras.saving.load_model(run / "model.keras")),
        _state(keras.saving.load_model(whole / "model.keras")),
    )
    np.testing.assert_allclose([v for _, v in _log(run)], [v for _, v in _log(whole)], rtol=1e-4)


def test_same_seed_gives_the_same_initial_model(tmp_path, synthetic):
    import numpy as np

    first = train(_config(synthetic, epochs=1), tmp_path / "a", verbose=0)["model"]
    second = train(_config(synthetic, epochs=1), tmp_path / "b", verbose=0)["model"]
    for a, b in zip(first.get_weights(), second.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
