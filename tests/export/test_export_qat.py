"""The tf_keras twin used for QAT."""

import numpy as np
import pytest

from hckeras import build_hypercolumn_model, probability_model
from hckeras.export.qat import QATConfig
from hckeras.export.twin import twin_from_keras3

pytest.importorskip("tf_keras")
pytest.importorskip("tensorflow_model_optimization")


@pytest.mark.parametrize("head", ["efficient", "explicit"])
def test_twin_equals_the_keras3_model(head):
    model = build_hypercolumn_model(
        "tiny", grid_size=4, num_maps=2, output_size=16, head=head, tap_scales={"pool2": 0.5}
    )
    float_model = probability_model(model)
    twin = twin_from_keras3(float_model)
    x = np.random.default_rng(0).uniform(0, 255, (2, 64, 64, 3)).astype(np.float32)
    folded = {"fc6_bn", "fc7_bn"}  # batch norms after Dense are folded into it
    expected = [layer.name for layer in float_model.layers if layer.name not in folded]
    # Rescaling(1/127.5, offset=-1) becomes a constant multiply and a constant add.
    expected.append("rescale_scale")
    assert sorted(layer.name for layer in twin.layers) == sorted(expected)
    kinds = {layer.name: type(layer).__name__ for layer in twin.layers}
    assert (kinds["rescale_scale"], kinds["rescale"]) == ("MultiplyConstant", "AddConstant")
    np.testing.assert_allclose(twin(x).numpy(), float_model(x).numpy(), atol=1e-6)


def test_qat_config_validates():
    with pytest.raises(ValueError, match="epochs"):
        QATConfig(epochs=-1)
    with pytest.raises(ValueError, match="learning_rate"):
        QATConfig(learning_rate=0)


def test_twin_folds_batch_norm_after_dense_exactly():
    import keras
    import numpy as np

    from hckeras.backbones import build_backbone
    from hckeras.export.twin import twin_from_keras3
    from hckeras.models import build_hypercolumn_model, probability_model

    keras.utils.set_random_seed(1)
    backbone = build_backbone("tiny", input_size=32, fc_batch_norm=True)
    model = build_hypercolumn_model(
        backbone, taps={"fc7": 1, "pool2": 3}, grid_size=2, num_maps=2, output_size=8
    )
    assert "fc6_bn" in [layer.name for layer in model.layers]
    rng = np.random.default_rng(0)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            shape = layer.moving_mean.shape
            layer.moving_mean.assign(rng.normal(size=shape).astype("float32"))
            layer.moving_variance.assign(rng.uniform(0.5, 2.0, shape).astype("float32"))
            layer.gamma.assign(rng.uniform(0.5, 2.0, shape).astype("float32"))
            layer.beta.assign(rng.normal(size=shape).astype("float32"))
    probabilities = probability_model(model)
    twin = twin_from_keras3(probabilities)
    names = [layer.name for layer in twin.layers]
    assert "fc6_bn" not in names and "fc7_bn" not in names  # folded into fc6/fc7_dense
    assert "conv1_bn" in names  # convolutions keep theirs for tfmot's own fold
    crops = rng.uniform(0, 255, (4, 32, 32, 3)).astype("float32")
    expected = probabilities.predict(crops, verbose=0)
    np.testing.assert_allclose(twin.predict(crops, verbose=0), expected, atol=1e-5)


def test_the_input_quantizer_gets_the_crops_range_in_every_model_of_a_process():
    from hckeras.export.qat import train_qat

    crops = np.random.default_rng(0).uniform(0, 255, (4, 32, 32, 3)).astype(np.float32)
    model = build_hypercolumn_model("tiny", grid_size=2, num_maps=1, output_size=8, input_size=32)
    # tfmot names the second model's input quantizer "quantize_layer_1", the third "..._2".
    for _ in range(3):
        qat_model, _ = train_qat(model, [(crops, None)], QATConfig(epochs=0))
        (quantizer,) = [
            layer for layer in qat_model.layers if type(layer).__name__ == "QuantizeLayer"
        ]
        ranges = {
            v.name.split("/")[-1].split(":")[0].rpartition("_")[2]: float(np.asarray(v))
            for v in quantizer.non_trainable_weights
            if v.name.split(":")[0].endswith(("_min", "_max"))
        }
        assert ranges == {"min": 0.0, "max": pytest.approx(float(crops.max()))}, quantizer.name
