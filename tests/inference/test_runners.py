import numpy as np
import pytest

import hckeras
from hckeras.inference.runners import (
    FunctionRunner,
    KerasRunner,
    Runner,
    as_runner,
    batch_buckets,
    batch_limit,
    run_in_batches,
)


class CountingRunner:
    input_size = (4, 4)

    def __init__(self, max_batch_size=None):
        if max_batch_size is not None:
            self.max_batch_size = max_batch_size
        self.batches = []

    def __call__(self, crops):
        self.batches.append(len(crops))
        return crops[:, :2, :2, :1] + 1


def test_keras_runner_returns_numpy_probabilities(segmentation_model, halves_output):
    runner = KerasRunner(segmentation_model)
    assert isinstance(runner, Runner) and runner.input_size == (32, 32)
    out = runner(np.zeros((3, 32, 32, 3), np.uint8))
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    np.testing.assert_allclose(out, halves_output(3, 2), atol=1e-4)
    with pytest.raises(ValueError, match=r"\(B, H, W, 3\)"):
        runner(np.zeros((32, 32, 3)))


def test_keras_runner_wraps_five_dimensional_logits(monkeypatch, segmentation_model):
    import keras

    inputs = keras.Input((32, 32, 3))
    logits = keras.layers.Reshape((8, 8, 2, 1))(keras.layers.Conv2D(2, 4, strides=4)(inputs))
    training_model = keras.Model(inputs, logits)
    calls = []

    def fake_probability_model(model):
        calls.append(model)
        return segmentation_model

    monkeypatch.setattr(hckeras, "probability_model", fake_probability_model, raising=False)
    runner = KerasRunner(training_model)
    assert calls == [training_model] and runner.model is segmentation_model


def test_keras_runner_rejects_other_outputs():
    import keras

    inputs = keras.Input((32, 32, 3))
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(inputs))
    with pytest.raises(ValueError, match=r"outputs shape \(None, 3\)"):
        KerasRunner(model)


def test_run_in_batches_splits_and_respects_max_batch_size():
    crops = np.arange(5 * 4 * 4 * 3, dtype=np.float32).reshape(5, 4, 4, 3)
    runner = CountingRunner()
    out = run_in_batches(runner, crops, batch_size=2)
    assert runner.batches == [2, 2, 1]
    np.testing.assert_array_equal(out, crops[:, :2, :2, :1] + 1)
    single = CountingRunner(max_batch_size=1)
    run_in_batches(single, crops, batch_size=32)
    assert single.batches == [1] * 5
    with pytest.raises(ValueError, match="N >= 1"):
        run_in_batches(runner, np.zeros((0, 4, 4, 3)))
    with pytest.raises(ValueError, match="batch_size"):
        batch_limit(runner, 0)


def test_as_runner_accepts_runners_models_and_functions(segmentation_model):
    runner = CountingRunner()
    assert as_runner(runner) is runner
    assert isinstance(as_runner(segmentation_model), KerasRunner)
    wrapped = as_runner(lambda crops: crops[..., :1], input_size=(4, 4))
    assert isinstance(wrapped, FunctionRunner) and wrapped.input_size == (4, 4)
    with pytest.raises(ValueError, match="input_size"):
        as_runner(lambda crops: crops)
    with pytest.raises(ValueError, match="got int"):
        as_runner(3)


def test_batch_buckets_are_the_batch_size_and_up_to_three_halvings():
    assert batch_buckets(32) == (4, 8, 16, 32)
    assert batch_buckets(10) == (2, 3, 5, 10)
    assert batch_buckets(2) == (1, 2) and batch_buckets(1) == (1,)
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        batch_buckets(0)


def test_keras_runner_calls_the_model_with_bucket_shapes_only(monkeypatch, spec_for):
    import keras

    from hckeras.inference.predictor import Predictor

    keras.utils.set_random_seed(0)
    inputs = keras.Input((32, 32, 3))
    pooled = keras.layers.AveragePooling2D(4)(inputs)
    outputs = keras.layers.Conv2D(2, 3, padding="same", activation="sigmoid")(pooled)
    model = keras.Model(inputs, outputs)
    shapes = []
    predict_on_batch = model.predict_on_batch

    def recording(x):
        shapes.append(x.shape)
        return predict_on_batch(x)

    monkeypatch.setattr(model, "predict_on_batch", recording)
    runner = KerasRunner(model, batch_size=8)
    crops = np.random.default_rng(0).uniform(0, 255, (19, 32, 32, 3)).astype(np.float32)
    expected = keras.ops.convert_to_numpy(model(crops))
    for count in range(1, 20):
        out = runner(crops[:count])
        assert out.shape == (count, 8, 8, 2)
        np.testing.assert_allclose(out, expected[:count], rtol=1e-5, atol=1e-6)
    assert {s[0] for s in shapes} == {1, 2, 4, 8} and {s[1:] for s in shapes} == {(32, 32, 3)}

    shapes.clear()
    predictor = Predictor(model, spec_for("segmentation"), batch_size=8)
    image = np.full((60, 80, 3), 128, np.uint8)
    for count in (1, 3, 5, 6, 7, 11):
        detections = [{"bbox": [10 + i, 20, 30, 20], "category_id": 1} for i in range(count)]
        assert len(predictor.predict(image, detections)) == count
    assert {s[0] for s in shapes} <= {1, 2, 4, 8}
