"""Atomic writes are durable: the file's data and the folder entry are fsynced."""

import os
import sys

import keras
import pytest

from hckeras import io

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/fd")


@pytest.fixture
def synced(monkeypatch):
    """The paths `os.fsync` was called on, in order."""
    paths, real = [], os.fsync

    def fsync(fd):
        paths.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(io.os, "fsync", fsync)
    return paths


def test_save_model_atomic_fsyncs_file_then_folder(tmp_path, synced):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    path = io.save_model_atomic(model, tmp_path / "m.keras")
    assert synced == [str(tmp_path / ".m.tmp.keras"), str(tmp_path)]
    assert keras.saving.load_model(path).get_weights()[0].shape == (2, 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.keras"]


def test_write_bytes_atomic_fsyncs_file_then_folder(tmp_path, synced):
    io.write_bytes_atomic(tmp_path / "a.bin", b"xyz")
    assert len(synced) == 2 and synced[1] == str(tmp_path)
    assert synced[0].startswith(str(tmp_path / ".a.bin."))
    assert (tmp_path / "a.bin").read_bytes() == b"xyz"
