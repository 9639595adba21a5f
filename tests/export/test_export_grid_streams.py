"""Grid streams in the export graph: the same probabilities from a lighter head."""

import numpy as np
import pytest

from hckeras import build_hypercolumn_model, probability_model
from hckeras.export.category_model import category_model
from hckeras.export.convert import export_tflite
from hckeras.export.grid_stream_model import export_graph, grid_stream_model
from hckeras.export.litert_runner import LiteRTRunner
from hckeras.export.parity import mask_iou
from hckeras.export.profile import profile_tflite

# The demo's shape: tiny at 96 px (pool2 24 x 24, conv4 12 x 12, fc7), S 32, K 5.
SIZE, OUT, GRID, MAPS = 96, 32, 5, 3


@pytest.fixture
def model():
    return build_hypercolumn_model(
        "tiny", grid_size=GRID, num_maps=MAPS, output_size=OUT, input_size=SIZE
    )


@pytest.fixture
def crops(rng):
    return rng.uniform(0, 255, (3, SIZE, SIZE, 3)).astype("float32")


def _spec(make_spec):
    return make_spec(num_maps=MAPS, input_size=SIZE, output_size=OUT, grid_size=GRID)


def test_stream_model_equals_the_probability_model(model, crops, make_spec):
    dense = np.asarray(probability_model(model)(crops))
    streams = grid_stream_model(model)
    np.testing.assert_allclose(np.asarray(streams(crops)), dense, atol=2e-6)
    assert streams.get_layer("conv4_stitch").output.shape[-1] == 9 * MAPS  # not 25 * MAPS
    sliced = category_model(model, _spec(make_spec).layout, 2)
    np.testing.assert_allclose(
        np.asarray(grid_stream_model(sliced)(crops)), dense[..., 1:2], atol=2e-6
    )


@pytest.mark.parametrize("backbone", ["mobilenet_v3_small", "vgg16"])
def test_stream_model_on_other_backbones(backbone, rng):
    size = 224 if backbone == "mobilenet_v3_small" else None
    model = build_hypercolumn_model(
        backbone, grid_size=5, num_maps=2, output_size=50, input_size=size
    )
    x = rng.uniform(0, 255, (1, *model.input.shape[1:])).astype("float32")
    np.testing.assert_allclose(
        np.asarray(grid_stream_model(model)(x)), np.asarray(probability_model(model)(x)), atol=2e-6
    )


def test_forms_and_refusals(model, make_spec):
    assert export_graph(model, "dense") == (model, "dense")
    assert export_graph(model, "auto") == (model, "dense")  # 3 maps < AUTO_MIN_MAPS
    keypoints = build_hypercolumn_model(
        "tiny", grid_size=GRID, num_maps=17, output_size=OUT, input_size=SIZE
    )
    assert export_graph(keypoints, "auto")[1] == "grid_streams"
    streams, form = export_graph(model, "streams")
    assert form == "grid_streams" and export_graph(streams, "auto") == (streams, "grid_streams")
    with pytest.raises(ValueError, match="already runs eq. 3 on grid streams"):
        export_graph(streams, "dense")
    with pytest.raises(ValueError, match="unknown head form 'sparse'"):
        export_graph(model, "sparse")
    one_map = category_model(model, _spec(make_spec).layout, 1)
    assert export_graph(one_map, "streams")[1] == "grid_streams"
    coarse = build_hypercolumn_model("tiny", grid_size=5, num_maps=4, output_size=32, input_size=32)
    assert export_graph(coarse, "auto") == (coarse, "dense")  # conv4 is 4 x 4
    with pytest.raises(ValueError, match="tap 'conv4' .* a 4-pixel map upsampled to 32"):
        export_graph(coarse, "streams")
    small_grid = build_hypercolumn_model("tiny", grid_size=3, num_maps=1, output_size=32)
    with pytest.raises(ValueError, match="3 x 3 grid: every classifier is its own stream"):
        grid_stream_model(small_grid)
    fc_only = build_hypercolumn_model("tiny", taps={"fc7": 1}, grid_size=5, output_size=32)
    with pytest.raises(ValueError, match="only 1 x 1 \\(fc\\) taps"):
        grid_stream_model(fc_only)
    import keras

    scores = model.get_layer("hypercolumn_sum").output
    scaled = keras.layers.Rescaling(2.0, name="score_gain")(scores)
    logits = keras.layers.Reshape((OUT, OUT, MAPS, 25), name="hypercolumn_logits")(scaled)
    edited = keras.Model(model.input, logits)
    with pytest.raises(ValueError, match="layer 'score_gain' \\(Rescaling\\) between its score"):
        grid_stream_model(edited)
    with pytest.raises(ValueError, match="layer 'score_gain'"):
        export_graph(edited, "streams")
    explicit = build_hypercolumn_model("tiny", grid_size=5, output_size=32, head="explicit")
    with pytest.raises(ValueError, match="no tap score convs"):
        grid_stream_model(explicit)


def _resize_channels(path):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    ops = interpreter._get_ops_details()
    details = {t["index"]: t for t in interpreter.get_tensor_details()}
    return [
        int(details[op["outputs"][0]]["shape"][-1])
        for op in ops
        if op["op_name"] == "RESIZE_BILINEAR"
    ]


def test_exported_variants(model, crops, make_spec, tmp_path):
    spec = _spec(make_spec)
    reference = np.asarray(probability_model(model)(crops))
    outputs = {}
    heads = (("fp32", "streams"), ("fp32", "dense"), ("fp16", "streams"), ("int8", "streams"))
    for variant, head in heads:
        path = tmp_path / f"{variant}_{head}.tflite"
        document = export_tflite(
            model, variant, path, spec=spec, representative_data=crops, head=head
        )
        assert document["head"] == ("dense" if head == "dense" else "grid_streams")
        profile = profile_tflite(path)
        assert profile.partitions == 1 and profile.outside == ()
        assert profile.inner_quantize == () and profile.float_ops == ()
        # Every resize upsamples the 9 streams of each map (the dense head: 25).
        per_map = 25 if head == "dense" else 9
        assert set(_resize_channels(path)) == {per_map * MAPS}
        outputs[(variant, head)] = LiteRTRunner(path)(crops)
    assert document["gpu_compatible"] is not None
    np.testing.assert_allclose(outputs[("fp32", "streams")], reference, atol=1e-5)
    np.testing.assert_allclose(outputs[("fp32", "streams")], outputs[("fp32", "dense")], atol=1e-5)
    np.testing.assert_allclose(outputs[("fp16", "streams")], reference, atol=5e-3)
    assert mask_iou(outputs[("int8", "streams")], reference).mean() >= 0.9


def test_qat_loss_on_streams_equals_the_dense_loss(model, crops, rng):
    import keras

    from hckeras.export.qat import qat_loss

    streams = grid_stream_model(model)
    stream_scores = keras.Model(
        streams.input, streams.get_layer("grid_stream_interpolation").input
    )(crops)
    dense_scores = np.asarray(model(crops)).reshape(len(crops), OUT, OUT, MAPS * GRID * GRID)
    y_true = rng.choice([1.0, 0.0, -1.0], size=(len(crops), OUT, OUT, MAPS)).astype("float32")
    for mode in ("interpolated", "cell"):
        dense = qat_loss(GRID, OUT, MAPS, mode)(y_true, dense_scores)
        stream = qat_loss(GRID, OUT, MAPS, mode, streams=True)(y_true, stream_scores)
        np.testing.assert_allclose(np.asarray(stream), np.asarray(dense), rtol=1e-5)


@pytest.mark.slow
def test_qat_fine_tunes_and_exports_the_stream_graph(model, crops, make_spec, tmp_path):
    from hckeras.export.qat import QATConfig, export_qat

    spec = _spec(make_spec)
    targets = (np.asarray(probability_model(model)(crops)) > 0.5).astype("float32")
    batches = [(crops, targets)] * 2
    path = tmp_path / "qat.tflite"
    document = export_qat(
        model, path, batches, spec=spec, config=QATConfig(epochs=1), head="streams"
    )
    assert document["head"] == "grid_streams"
    assert len(document["qat"]["loss_per_epoch"]) == 1
    profile = profile_tflite(path)
    assert profile.partitions == 1 and profile.outside == ()
    assert profile.inner_quantize == () and profile.float_ops == ()
    assert set(_resize_channels(path)) == {9 * MAPS}
    dense = tmp_path / "qat_dense.tflite"
    assert (
        export_qat(model, dense, batches, spec=spec, config=QATConfig(epochs=0), head="dense")[
            "head"
        ]
        == "dense"
    )
    assert set(_resize_channels(dense)) == {25 * MAPS}
