"""`hckeras.export.benchmark.backbone_model`: the export table's bare-backbone row."""

import numpy as np
import pytest


def test_backbone_row_is_the_models_own_backbone_with_its_options(make_spec):
    import keras

    from hckeras import build_hypercolumn_model
    from hckeras.backbones import build_backbone
    from hckeras.export.benchmark import backbone_model

    keras.utils.set_random_seed(0)
    # Not the default options: a rebuild of "tiny" by name would have fewer convolutions.
    backbone = build_backbone("tiny", input_size=64, convs_per_block=(1, 2, 2, 2))
    model = build_hypercolumn_model(backbone, taps={"fc7": 1, "conv4": 1, "pool2": 3},
                                    grid_size=4, num_maps=2, output_size=16)  # fmt: skip
    bare = backbone_model(model, make_spec())

    def convs(m):
        return sum(isinstance(layer, keras.layers.Conv2D) for layer in m.layers)

    default = build_backbone("tiny", input_size=64).model
    assert convs(bare) == convs(backbone.model) > convs(default)
    x = np.random.default_rng(0).uniform(0, 255, (2, 64, 64, 3)).astype("float32")
    pool2 = keras.Model(backbone.model.input, backbone.tap("pool2"))(x)
    np.testing.assert_allclose(bare.predict(x, verbose=0)[2], pool2, rtol=1e-5, atol=1e-5)
    explicit = build_hypercolumn_model("tiny", grid_size=2, num_maps=1, output_size=16,
                                       input_size=64, head="explicit")  # fmt: skip
    with pytest.raises(ValueError, match="has no layer fc7_score for tap 'fc7'"):
        backbone_model(explicit, make_spec())
