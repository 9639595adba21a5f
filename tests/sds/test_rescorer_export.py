"""Tests of `hckeras.sds.rescorer_export`: LiteRT parity and the timing helper."""

import numpy as np
import pytest

from hckeras.sds.rescorer import RescorerSpec, build_rescorer, one_hot

pytest.importorskip("ai_edge_litert")


@pytest.mark.parametrize("features", ["mask_pass", "region_network"])
def test_tflite_rescorer_matches_keras(make_mask_model, make_mask_spec, tmp_path, features):
    import keras

    from hckeras.sds.rescorer_export import (
        export_rescorer_tflite,
        run_rescorer_tflite,
        time_rescorer_tflite,
    )

    if keras.backend.backend() != "tensorflow":
        pytest.skip("LiteRT export needs the TensorFlow backend")
    keras.utils.set_random_seed(0)
    spec = make_mask_spec()
    model = build_rescorer(make_mask_model(), spec, features=features)
    dense = model.get_layer("category_logits")
    kernel, bias = dense.get_weights()
    dense.set_weights([kernel, np.array([0.3, -0.4], "float32")])  # distinct categories
    path = export_rescorer_tflite(model, tmp_path / "rescorer.tflite")
    rng = np.random.default_rng(0)
    if features == "region_network":
        views = {
            "box": rng.uniform(0, 255, (3, 32, 32, 3)).astype("float32"),
            "region": rng.uniform(0, 255, (3, 32, 32, 3)).astype("float32"),
        }
    else:
        views = {"features": rng.uniform(0, 3, (3, model.inputs[0].shape[-1])).astype("float32")}
    inputs = {
        **views,
        "category": one_hot([1, 2, 1], RescorerSpec.for_mask_spec(spec)),
        "cues": rng.uniform(0, 1, (3, 2)).astype("float32"),
    }
    expected = model.predict(inputs, verbose=0)[:, 0]
    np.testing.assert_allclose(run_rescorer_tflite(path, inputs), expected, atol=1e-5)
    # Swapping the category changes the score by the bias difference alone.
    swapped = dict(inputs, category=one_hot([2, 1, 2], RescorerSpec.for_mask_spec(spec)))
    assert not np.allclose(run_rescorer_tflite(path, swapped), expected)
    # The cues reach the classifier.
    cued = dict(inputs, cues=inputs["cues"][::-1].copy())
    np.testing.assert_allclose(
        run_rescorer_tflite(path, cued), model.predict(cued, verbose=0)[:, 0], atol=1e-5
    )
    assert not np.allclose(run_rescorer_tflite(path, cued), expected)
    assert time_rescorer_tflite(path, runs=3, warmup=1) > 0


def test_tflite_mask_pass_matches_keras(make_mask_model, make_mask_spec, tmp_path):
    import keras

    from hckeras.export.benchmark import time_tflite
    from hckeras.sds.mask_pass import MaskPassRunner
    from hckeras.sds.rescorer_export import export_mask_pass_tflite, run_mask_pass_tflite

    if keras.backend.backend() != "tensorflow":
        pytest.skip("LiteRT export needs the TensorFlow backend")
    keras.utils.set_random_seed(0)
    runner = MaskPassRunner(make_mask_model(), make_mask_spec(), ("conv4", "pool2"))
    path = export_mask_pass_tflite(runner, tmp_path / "mask_pass.tflite")
    crop = np.random.default_rng(0).uniform(0, 255, (1, 32, 32, 3)).astype("float32")
    outputs = run_mask_pass_tflite(path, crop)
    expected = runner.model.predict(crop, verbose=0)
    assert [o.shape for o in outputs] == [(1, 8, 8, 2), (1, 32), (1, 2, 16), (1, 2, 8)]
    for got, want in zip(outputs, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    assert time_tflite(path, 1, runs=3, warmup=1) > 0
