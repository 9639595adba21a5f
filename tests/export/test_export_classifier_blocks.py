"""Classifier blocks: each grid classifier's score conv run on its band only."""

import keras
import numpy as np
import pytest

from hckeras import build_hypercolumn_model, probability_model
from hckeras.export.classifier_blocks import classifier_block_scores, has_classifier_blocks
from hckeras.export.grid_stream_model import CLASSIFIER_BLOCK_MIN_MAPS as MIN_MAPS
from hckeras.export.grid_stream_model import _classifier_major, grid_stream_model
from hckeras.layers import StitchGridStreams

GRID, OUT = 5, 32


def _stitched_and_blocks(conv, grid_size=GRID, output_size=OUT):
    """Models from `conv`'s input to its stitched classifier-major scores and to its
    classifier-block scores."""
    stitched = StitchGridStreams(grid_size, output_size)(
        _classifier_major(conv, grid_size * grid_size)(conv.input)
    )
    blocks = classifier_block_scores(conv, grid_size, output_size, "tap")
    return keras.Model(conv.input, stitched), keras.Model(conv.input, blocks)


@pytest.mark.parametrize(
    ("kernel", "size", "maps"), [(1, 16, 2), (3, 12, 1), (5, 20, 3), (2, 16, 2), (4, 13, 1)]
)
def test_blocks_equal_the_stitched_score_conv(kernel, size, maps, rng):
    # Even kernels pad one pixel more after than before, as "same" does.
    features = keras.Input((size, size + 3, 6))
    conv = keras.layers.Conv2D(maps * GRID * GRID, kernel, padding="same", name="tap_score")
    conv(features)
    conv.set_weights([rng.normal(size=w.shape).astype("float32") for w in conv.get_weights()])
    stitched, blocks = _stitched_and_blocks(conv)
    x = rng.normal(size=(2, size, size + 3, 6)).astype("float32")
    expected = np.asarray(stitched(x))
    assert expected.shape == (2, size, size + 3, 9 * maps)
    np.testing.assert_allclose(np.asarray(blocks(x)), expected, atol=1e-4)
    convs = [layer for layer in blocks.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(convs) == GRID * GRID and {c.filters for c in convs} == {maps}
    # Each classifier's conv covers its band plus the halo, not the whole map.
    covered = sum(int(np.prod(c.output.shape[1:3])) for c in convs)
    assert covered == 9 * size * (size + 3)


def test_blocks_without_bias(rng):
    features = keras.Input((12, 12, 4))
    conv = keras.layers.Conv2D(GRID * GRID, 3, padding="same", use_bias=False, name="plain")
    conv(features)
    kernel = rng.normal(size=(3, 3, 4, GRID * GRID)).astype("float32")
    conv.set_weights([kernel])
    biased = keras.layers.Conv2D(GRID * GRID, 3, padding="same", name="biased")
    biased(features)
    biased.set_weights([kernel, np.zeros(GRID * GRID, "float32")])
    stitched, _ = _stitched_and_blocks(biased)
    _, blocks = _stitched_and_blocks(conv)
    x = rng.normal(size=(1, 12, 12, 4)).astype("float32")
    np.testing.assert_allclose(np.asarray(blocks(x)), np.asarray(stitched(x)), atol=1e-4)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, True),
        ({"strides": 2}, False),
        ({"dilation_rate": 2}, False),
        ({"padding": "valid"}, False),
        ({"activation": "relu"}, False),
    ],
)
def test_which_convs_split_into_blocks(options, expected):
    conv = keras.layers.Conv2D(25, 3, **{"padding": "same", **options})
    conv.build((None, 12, 12, 4))
    assert has_classifier_blocks(conv) is expected


def test_the_stream_model_blocks_the_finer_taps_only(rng):
    # tiny at 96 px: pool2 24 x 24 (3 x 3 neighbourhood), conv4 12 x 12, fc7.
    model = build_hypercolumn_model(
        "tiny", grid_size=GRID, num_maps=MIN_MAPS, output_size=OUT, input_size=96
    )
    x = rng.uniform(0, 255, (2, 96, 96, 3)).astype("float32")
    blocked, stitched = grid_stream_model(model), grid_stream_model(model, False)
    names = [layer.name for layer in blocked.layers]
    assert sum(name.startswith("pool2_classifier_") for name in names) == GRID * GRID
    assert "conv4_stitch" in names and "pool2_stitch" not in names
    assert "pool2_stitch" in [layer.name for layer in stitched.layers]
    expected = np.asarray(probability_model(model)(x))
    np.testing.assert_allclose(np.asarray(blocked(x)), expected, atol=2e-6)
    np.testing.assert_allclose(np.asarray(stitched(x)), expected, atol=2e-6)
    fewer = build_hypercolumn_model(
        "tiny", grid_size=GRID, num_maps=MIN_MAPS - 1, output_size=OUT, input_size=96
    )
    assert "pool2_stitch" in [layer.name for layer in grid_stream_model(fewer).layers]


def test_qat_quantizes_a_concatenation_tree_once():
    pytest.importorskip("tensorflow_model_optimization")
    from hckeras.export.qat import annotation_plan
    from hckeras.export.twin import twin_from_keras3

    model = build_hypercolumn_model(
        "tiny", grid_size=GRID, num_maps=MIN_MAPS, output_size=OUT, input_size=96
    )
    plan = annotation_plan(twin_from_keras3(grid_stream_model(model)))
    blocks = {name: kind for name, kind in plan.items() if name.startswith("pool2_classifier_")}
    assert len(blocks) == GRID * GRID and set(blocks.values()) == {"weights"}
    concatenations = sorted(
        (name for name in plan if name.startswith("pool2_blocks_concat_")),
        key=lambda name: int(name.rsplit("_", 1)[1]),
    )
    root = concatenations[-1]  # stitch_blocks joins the three stream rows last
    assert plan[root] == "tfmot"
    assert {plan[name] for name in concatenations[:-1]} == {"none"}
    assert plan["pool2_blocks_pad"] == "tfmot" and plan["pool2_crop_0_0"] == "tfmot"
    # The backbone's convs keep tfmot's own scheme (its BN folding).
    assert plan["conv1_conv"] == "tfmot"


@pytest.mark.slow
def test_qat_export_of_classifier_blocks_has_no_inner_requantize(tmp_path, rng, make_spec):
    pytest.importorskip("tensorflow_model_optimization")
    from hckeras.export.litert_runner import LiteRTRunner
    from hckeras.export.parity import mask_iou
    from hckeras.export.profile import profile_tflite
    from hckeras.export.qat import QATConfig, export_qat

    model = build_hypercolumn_model(
        "tiny", grid_size=GRID, num_maps=MIN_MAPS, output_size=OUT, input_size=96
    )
    crops = rng.uniform(0, 255, (4, 96, 96, 3)).astype("float32")
    spec = make_spec(num_maps=MIN_MAPS, input_size=96, output_size=OUT, grid_size=GRID)
    path = tmp_path / "qat.tflite"
    document = export_qat(
        model, path, [(crops, None)], spec=spec, config=QATConfig(epochs=0), head="streams"
    )
    assert document["head"] == "grid_streams"
    profile = profile_tflite(path)
    assert profile.ops.count("CONV_2D") >= GRID * GRID  # pool2's classifier blocks
    assert profile.partitions == 1 and profile.outside == ()
    assert profile.inner_quantize == () and profile.float_ops == ()
    reference = np.asarray(probability_model(model)(crops))
    assert mask_iou(LiteRTRunner(path)(crops), reference).mean() >= 0.9
