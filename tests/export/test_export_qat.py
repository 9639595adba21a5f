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
    assert [layer.name for layer in twin.layers] == [layer.name for layer in float_model.layers]
    np.testing.assert_allclose(twin(x).numpy(), float_model(x).numpy(), atol=1e-6)


def test_qat_config_validates():
    with pytest.raises(ValueError, match="epochs"):
        QATConfig(epochs=-1)
    with pytest.raises(ValueError, match="learning_rate"):
        QATConfig(learning_rate=0)
