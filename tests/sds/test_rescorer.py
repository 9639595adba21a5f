"""Tests of `hckeras.sds.rescorer`: the region rescorer's graph, training, saving, checks."""

import numpy as np
import pytest

from hckeras.model_spec import spec_path
from hckeras.sds.rescorer import (
    RescorerSpec,
    build_rescorer,
    compile_rescorer,
    load_rescorer,
    one_hot,
    save_rescorer,
)


@pytest.fixture(scope="module")
def built(make_mask_model, make_mask_spec):
    import keras

    keras.utils.set_random_seed(0)
    mask_model = make_mask_model()
    return mask_model, build_rescorer(mask_model, make_mask_spec())


def _inputs(spec, count=4, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "box": rng.uniform(0, 255, (count, 32, 32, 3)).astype("float32"),
        "region": rng.uniform(0, 255, (count, 32, 32, 3)).astype("float32"),
        "category": one_hot([1, 2, 2, 1][:count], RescorerSpec.for_mask_spec(spec)),
    }


def test_score_is_the_candidate_category_logistic_of_both_fc7_vectors(built, make_mask_spec):
    import keras

    mask_model, model = built
    inputs = _inputs(make_mask_spec())
    box_fc7 = keras.Model(mask_model.input, mask_model.get_layer("fc7").output)(inputs["box"])
    region_fc7 = model.get_layer("region_network")(inputs["region"])
    # The region network starts as a copy of the box network.
    np.testing.assert_allclose(
        region_fc7, model.get_layer("box_network")(inputs["region"]), rtol=1e-5, atol=1e-5
    )
    kernel, bias = model.get_layer("category_logits").get_weights()
    features = np.concatenate([np.asarray(box_fc7), np.asarray(region_fc7)], axis=1)
    category = inputs["category"].argmax(axis=1)
    logits = (features @ kernel + bias)[np.arange(4), category]
    expected = 1 / (1 + np.exp(-logits))
    np.testing.assert_allclose(model.predict(inputs, verbose=0)[:, 0], expected, rtol=1e-4)


def test_graph_has_only_builtin_layers(built):
    _, model = built
    layers = [model, *model.layers]
    for nested in ("box_network", "region_network"):
        layers += model.get_layer(nested).layers
    assert all(type(layer).__module__.startswith("keras.") for layer in layers)
    assert not [layer for layer in layers if type(layer).__name__ == "Lambda"]


def test_fit_trains_the_region_network_and_classifier_only(make_mask_model, make_mask_spec):
    import keras

    keras.utils.set_random_seed(1)
    model = build_rescorer(make_mask_model(), make_mask_spec())
    model = compile_rescorer(model, learning_rate=1e-2)
    box_before = [w.copy() for w in model.get_layer("box_network").get_weights()]
    region_before = [w.copy() for w in model.get_layer("region_network").get_weights()]
    inputs = _inputs(make_mask_spec())
    labels = np.array([[1.0], [0.0], [1.0], [0.0]], "float32")
    history = model.fit(inputs, labels, epochs=15, batch_size=4, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    box_after = model.get_layer("box_network").get_weights()
    for before, after in zip(box_before, box_after, strict=True):
        np.testing.assert_array_equal(before, after)
    region_after = model.get_layer("region_network").get_weights()
    changed = [not np.array_equal(b, a) for b, a in zip(region_before, region_after, strict=True)]
    assert any(changed)


def test_save_and_reload_in_safe_mode(built, make_mask_spec, tmp_path):
    _, model = built
    mask_spec = make_mask_spec()
    spec = RescorerSpec.for_mask_spec(mask_spec, "runs/m/model.keras")
    path = save_rescorer(model, spec, tmp_path / "rescorer.keras")
    assert spec_path(path).is_file()
    reloaded, reloaded_spec = load_rescorer(path, mask_spec, "model.keras")
    assert reloaded_spec == spec and reloaded_spec.mask_model == "model.keras"
    inputs = _inputs(mask_spec)
    np.testing.assert_allclose(
        reloaded.predict(inputs, verbose=0), model.predict(inputs, verbose=0), rtol=1e-5
    )


def test_mismatched_mask_models_are_clear_errors(built, make_mask_spec, categories, tmp_path):
    _, model = built
    mask_spec = make_mask_spec
    path = save_rescorer(model, RescorerSpec.for_mask_spec(mask_spec()), tmp_path / "r.keras")
    other_categories = mask_spec(categories=categories[:1] + [{"id": 5, "name": "cone"}])
    with pytest.raises(ValueError, match=r"r\.keras was trained for another mask model than "
                       r"m2\.keras: categories \[1, 2\] vs \[1, 5\]"):  # fmt: skip
        load_rescorer(path, other_categories, "m2.keras")
    with pytest.raises(ValueError, match="backbone 'tiny' vs 'vgg16'"):
        load_rescorer(path, mask_spec(backbone="vgg16"), "m3.keras")
    spec_path(path).unlink()
    with pytest.raises(FileNotFoundError, match="has no spec sidecar"):
        load_rescorer(path)
    with pytest.raises(ValueError, match="expected a .keras file"):
        load_rescorer(tmp_path / "r.h5")


def test_one_hot_rejects_unknown_categories(make_mask_spec):
    spec = RescorerSpec.for_mask_spec(make_mask_spec())
    assert one_hot([2, 1], spec).tolist() == [[0, 1], [1, 0]]
    with pytest.raises(ValueError, match=r"category ids \[7\]"):
        one_hot([7], spec)
