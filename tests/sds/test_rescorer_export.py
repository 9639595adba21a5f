"""Tests of `hckeras.sds.rescorer_export`: LiteRT parity and the timing helper."""

import numpy as np
import pytest

from hckeras.sds.rescorer import RescorerSpec, build_rescorer, one_hot

pytest.importorskip("ai_edge_litert")


def test_tflite_rescorer_matches_keras(make_mask_model, make_mask_spec, tmp_path):
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
    model = build_rescorer(make_mask_model(), spec)
    dense = model.get_layer("category_logits")
    kernel, bias = dense.get_weights()
    dense.set_weights([kernel, np.array([0.3, -0.4], "float32")])  # distinct categories
    path = export_rescorer_tflite(model, tmp_path / "rescorer.tflite")
    rng = np.random.default_rng(0)
    inputs = {
        "box": rng.uniform(0, 255, (3, 32, 32, 3)).astype("float32"),
        "region": rng.uniform(0, 255, (3, 32, 32, 3)).astype("float32"),
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
