import keras
import numpy as np
import pytest

import hckeras
from hckeras.layers import (
    GridInterpolation,
    GridStreamInterpolation,
    StitchGridStreams,
    cell_weights,
)
from hckeras.layers.grid_streams import (
    _source_rows,
    stream_bands,
    stream_cell_weights,
    stream_count,
    stream_weights,
)

pytestmark = pytest.mark.multibackend

FEASIBLE = [(5, 50, 7), (5, 50, 14), (5, 50, 28), (5, 50, 56), (5, 32, 12), (5, 32, 24),
            (7, 50, 7), (6, 50, 14), (5, 16, 8)]  # fmt: skip


def test_bands_by_hand():
    # K 5, S 50, a 7-pixel map: classifier 0 covers rows 0-14 (eq. 3 position < 1), which
    # read source rows up to floor(14.5 * 7/50 - 0.5) + 1 = 2; classifier 3 covers rows
    # 25-49, which read from floor(25.5 * 7/50 - 0.5) = 3. Classifier 2 is alone.
    assert stream_bands(5, 50, 7) == [[(0, 0, 3), (3, 3, 7)], [(1, 0, 4), (4, 4, 7)], [(2, 0, 7)]]


@pytest.mark.parametrize(("grid_size", "output_size", "source_size"), FEASIBLE)
def test_every_covered_pixel_reads_only_its_classifiers_band(grid_size, output_size, source_size):
    weights = hckeras.grid_weights(grid_size, output_size)[:, 0, ::grid_size]  # (S, K) axis
    rows = _source_rows(output_size, source_size)
    streams = stream_bands(grid_size, output_size, source_size)
    assert len(streams) == stream_count(grid_size)
    for bands in streams:
        assert bands[0][1] == 0 and bands[-1][2] == source_size
        assert all(a[2] == b[1] for a, b in zip(bands, bands[1:], strict=False))
        for k, start, stop in bands:
            assert k % 3 == bands[0][0]
            read = rows[weights[:, k] > 0]
            assert read.min() >= start and read.max() < stop


@pytest.mark.parametrize(("output_size", "source_size"), [(50, 4), (32, 6), (16, 4)])
def test_too_coarse_maps_are_refused(output_size, source_size):
    with pytest.raises(ValueError, match=f"a {source_size}-pixel map upsampled to {output_size}"):
        stream_bands(5, output_size, source_size)


@pytest.mark.parametrize(("grid_size", "output_size"), [(5, 50), (4, 16), (7, 21), (2, 8)])
def test_stream_weights_group_the_grid_weights(grid_size, output_size):
    dense = hckeras.grid_weights(grid_size, output_size).reshape(
        output_size, output_size, grid_size, grid_size
    )
    streams = stream_weights(grid_size, output_size)
    count = stream_count(grid_size)
    assert streams.shape == (output_size, output_size, count * count)
    for u in range(count):
        for v in range(count):
            members = dense[:, :, u::3, v::3].reshape(output_size, output_size, -1)
            assert ((members > 0).sum(-1) <= 1).all()  # one covering classifier per stream
            np.testing.assert_allclose(streams[..., u * count + v], members.sum(-1), atol=1e-7)
    np.testing.assert_allclose(streams.sum(-1), 1.0, atol=1e-6)
    cells = cell_weights(grid_size, output_size).reshape(
        output_size, output_size, grid_size, grid_size
    )
    one_hot = stream_cell_weights(grid_size, output_size)
    for u in range(count):
        for v in range(count):
            grouped = cells[:, :, u::3, v::3].sum((-1, -2))
            np.testing.assert_array_equal(one_hot[..., u * count + v], grouped)


def _classifier_major(scores, cells):
    batch, height, width, channels = scores.shape
    maps = channels // cells
    return scores.reshape(batch, height, width, maps, cells).swapaxes(3, 4).reshape(scores.shape)


@pytest.mark.parametrize(("source_size", "output_size"), [(7, 50), (12, 32), (32, 32)])
def test_stitched_upsampling_equals_dense_upsampling_where_a_stream_covers(
    rng, source_size, output_size
):
    grid, maps = 5, 2
    cells = grid * grid
    dense = rng.normal(0, 2, (2, source_size, source_size, maps * cells)).astype("float32")
    resize = keras.layers.Resizing(output_size, output_size, interpolation="bilinear")
    stitched = StitchGridStreams(grid, output_size)(_classifier_major(dense, cells))
    assert tuple(stitched.shape) == (2, source_size, source_size, 9 * maps)
    up_dense = keras.ops.convert_to_numpy(resize(dense)).reshape(
        2, output_size, output_size, maps, cells
    )
    up_streams = keras.ops.convert_to_numpy(resize(stitched)).reshape(
        2, output_size, output_size, 9, maps
    )
    alpha = hckeras.grid_weights(grid, output_size).reshape(output_size, output_size, grid, grid)
    for u in range(3):
        for v in range(3):
            members = alpha[:, :, u::3, v::3]
            covered = (members > 0).any((-1, -2))
            flat = members.reshape(output_size, output_size, -1).argmax(-1)
            width = len(range(v, grid, 3))
            k_rows = np.arange(u, grid, 3)[flat // width]
            k_cols = np.arange(v, grid, 3)[flat % width]
            owner = k_rows * grid + k_cols  # (S, S) the covering classifier
            expected = np.take_along_axis(up_dense, owner[None, :, :, None, None], axis=-1)[..., 0]
            got = up_streams[:, :, :, u * 3 + v, :]
            np.testing.assert_allclose(got[:, covered], expected[:, covered], rtol=0, atol=1e-6)


def test_stream_interpolation_equals_dense_interpolation(rng):
    grid, maps, size = 5, 3, 20
    dense = rng.normal(0, 3, (2, size, size, maps * 25)).astype("float32")
    stitched = StitchGridStreams(grid, size)(_classifier_major(dense, 25))
    out = keras.ops.convert_to_numpy(GridStreamInterpolation(grid)(stitched))
    reference = keras.ops.convert_to_numpy(GridInterpolation(grid)(dense))
    assert out.shape == (2, size, size, maps)
    np.testing.assert_allclose(out, reference, atol=1e-6)


def test_bad_channels_are_named():
    with pytest.raises(ValueError, match="divisible by K\\*K=25"):
        StitchGridStreams(5, 50)(np.zeros((1, 7, 7, 30), "float32"))
    with pytest.raises(ValueError, match="divisible by its 9 streams"):
        GridStreamInterpolation(5)(np.zeros((1, 8, 8, 10), "float32"))


def test_config_round_trip_and_keras_file(tmp_path, rng):
    inputs = keras.Input((7, 7, 50))
    x = StitchGridStreams(5, 50, name="stitch")(inputs)
    x = keras.layers.Resizing(50, 50, name="up")(x)
    model = keras.Model(inputs, GridStreamInterpolation(5, name="blend")(x))
    path = tmp_path / "streams.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    x = rng.normal(0, 2, (1, 7, 7, 50)).astype("float32")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded(x)), keras.ops.convert_to_numpy(model(x)), atol=1e-7
    )
    assert loaded.get_layer("stitch").get_config()["output_size"] == 50
