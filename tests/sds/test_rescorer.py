"""Tests of `hckeras.sds.rescorer`: the region rescorer's graph, training, saving, checks."""

import json
from dataclasses import replace as dataclasses_replace

import numpy as np
import pytest

from hckeras.model_spec import spec_path
from hckeras.sds.rescorer import (
    CUES,
    RescorerSpec,
    adapt_normalization,
    build_rescorer,
    candidate_cues,
    checked_cues,
    compile_rescorer,
    load_rescorer,
    one_hot,
    rescorer_inputs,
    save_rescorer,
    train_classifier,
)


@pytest.fixture(scope="module")
def built(make_mask_model, make_mask_spec):
    import keras

    keras.utils.set_random_seed(0)
    mask_model = make_mask_model()
    return mask_model, build_rescorer(mask_model, make_mask_spec(), features="region_network")


def _inputs(spec, count=4, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "box": rng.uniform(0, 255, (count, 32, 32, 3)).astype("float32"),
        "region": rng.uniform(0, 255, (count, 32, 32, 3)).astype("float32"),
        "category": one_hot([1, 2, 2, 1][:count], RescorerSpec.for_mask_spec(spec)),
        "cues": rng.uniform(0, 1, (count, len(CUES))).astype("float32"),
    }


def test_score_is_the_candidate_category_logistic_of_the_standardised_features(
    built, make_mask_spec
):
    import keras

    mask_model, model = built
    inputs = _inputs(make_mask_spec())
    ordered = [inputs[t.name] for t in model.inputs]
    adapted = adapt_normalization(model, ordered)
    box_fc7 = keras.Model(mask_model.input, mask_model.get_layer("fc7").output)(inputs["box"])
    region_fc7 = model.get_layer("region_network")(inputs["region"])
    # The region network starts as a copy of the box network.
    np.testing.assert_allclose(
        region_fc7, model.get_layer("box_network")(inputs["region"]), rtol=1e-5, atol=1e-5
    )
    features = np.concatenate([np.asarray(box_fc7), np.asarray(region_fc7), inputs["cues"]], 1)
    np.testing.assert_allclose(adapted, features, rtol=1e-5, atol=1e-5)
    mean, variance = features.mean(axis=0), features.var(axis=0)
    np.testing.assert_allclose(
        model.get_layer("feature_normalization").get_weights()[0], mean, rtol=1e-4, atol=1e-5
    )
    standardised = (features - mean) / np.maximum(np.sqrt(variance), keras.config.epsilon())
    kernel, bias = model.get_layer("category_logits").get_weights()
    category = inputs["category"].argmax(axis=1)
    logits = (standardised @ kernel + bias)[np.arange(4), category]
    expected = 1 / (1 + np.exp(-logits))
    np.testing.assert_allclose(model.predict(inputs, verbose=0)[:, 0], expected, rtol=1e-3)


def test_graph_has_only_builtin_layers(built):
    _, model = built
    layers = [model, *model.layers]
    for nested in ("box_network", "region_network"):
        layers += model.get_layer(nested).layers
    assert all(type(layer).__module__.startswith("keras.") for layer in layers)
    assert not [layer for layer in layers if type(layer).__name__ == "Lambda"]


def _weights(model, name):
    return [w.copy() for w in model.get_layer(name).get_weights()]


def test_the_classifier_trains_on_fixed_features(make_mask_model, make_mask_spec):
    import keras

    keras.utils.set_random_seed(1)
    model = build_rescorer(make_mask_model(), make_mask_spec(), features="region_network")
    before = {name: _weights(model, name) for name in ("box_network", "region_network")}
    inputs = _inputs(make_mask_spec())
    ordered = [inputs[t.name] for t in model.inputs]
    predicted = model.predict(inputs, verbose=0)[:, 0]
    history = train_classifier(model, ordered, [1, 0, 1, 0], epochs=200, learning_rate=1e-2)
    assert history.history["loss"][-1] < history.history["loss"][0]
    for name, weights in before.items():
        for old, new in zip(weights, model.get_layer(name).get_weights(), strict=True):
            np.testing.assert_array_equal(old, new)
    # The rescorer itself holds the fitted classifier.
    after = model.predict(inputs, verbose=0)[:, 0]
    assert not np.allclose(after, predicted)
    assert (after[[0, 2]] > 0.5).all() and (after[[1, 3]] < 0.5).all()
    with pytest.raises(ValueError, match="needs a frozen region network"):
        train_classifier(
            build_rescorer(make_mask_model(), make_mask_spec(), CUES, True, "region_network"),
            ordered,
            [1, 0, 1, 0],
        )


def test_fine_tuning_trains_the_region_network_and_classifier_only(make_mask_model, make_mask_spec):
    import keras

    keras.utils.set_random_seed(1)
    model = build_rescorer(make_mask_model(), make_mask_spec(), CUES, True, "region_network")
    model = compile_rescorer(model, learning_rate=1e-2)
    box_before = _weights(model, "box_network")
    region_before = _weights(model, "region_network")
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
    spec = RescorerSpec.for_mask_spec(mask_spec, "runs/m/model.keras", features="region_network")
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
    spec = RescorerSpec.for_mask_spec(mask_spec(), features="region_network")
    path = save_rescorer(model, spec, tmp_path / "r.keras")
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


def test_without_cues_the_classifier_sees_the_fc7_vectors_alone(make_mask_model, make_mask_spec):
    model = build_rescorer(make_mask_model(), make_mask_spec(), (), features="region_network")
    assert [t.name for t in model.inputs] == ["box", "region", "category"]
    width = model.get_layer("box_network").output.shape[-1]
    assert model.get_layer("category_logits").get_weights()[0].shape == (2 * width, 2)
    assert model.get_layer("region_network").trainable is False
    with pytest.raises(ValueError, match=r"rescorer cues \['size'\]: each at most once"):
        build_rescorer(make_mask_model(), make_mask_spec(), cues=("size",))


def test_a_sidecar_that_disagrees_with_the_model_on_cues_is_an_error(
    make_mask_model, make_mask_spec, tmp_path
):
    mask_spec = make_mask_spec()
    model = build_rescorer(make_mask_model(), mask_spec, (), features="region_network")
    spec = RescorerSpec.for_mask_spec(mask_spec, features="region_network")
    path = save_rescorer(model, spec, tmp_path / "r.keras")
    expected = (
        r"r\.keras has inputs \['box', 'region', 'category'\] \(0 cues\) but its sidecar "
        r"lists region_network features and cues \['box_score', 'mask_quality'\]"
    )
    with pytest.raises(ValueError, match=expected):
        load_rescorer(path)
    two = build_rescorer(make_mask_model(), mask_spec, features="region_network")
    one = RescorerSpec.for_mask_spec(mask_spec, cues=("mask_quality",), features="region_network")
    with pytest.raises(ValueError, match=r"\(2 cues\) but .* cues \['mask_quality'\]"):
        load_rescorer(save_rescorer(two, one, tmp_path / "two.keras"))
    # A mask-pass sidecar beside a region-network model is refused too.
    with pytest.raises(ValueError, match="lists mask_pass features"):
        load_rescorer(
            save_rescorer(two, RescorerSpec.for_mask_spec(mask_spec), tmp_path / "m.keras")
        )
    # A sidecar written before cues and mask-pass features existed has neither, and loads
    # with its cue-less region-network model.
    config = json.loads(spec_path(path).read_text())
    for key in ("cues", "features", "pooled_taps"):
        del config[key]
    spec_path(path).write_text(json.dumps(config))
    assert load_rescorer(path)[1].cues == ()
    assert load_rescorer(path)[1].features == "region_network"


def test_candidate_cues_are_the_box_score_and_the_expected_iou():
    probability = np.array([[0.9, 0.8], [0.3, 0.0]], "float32")
    mask = probability >= 0.5
    plain = {"score": 0.6, "probability": probability, "mask": mask}
    rescored = {"score": 0.2, "box_score": 0.7, "mask_quality": 0.5}
    # expected IoU: (0.9 + 0.8) / (2 + 0.3 + 0.0)
    np.testing.assert_allclose(
        candidate_cues([plain, rescored], CUES), [[0.6, 1.7 / 2.3], [0.7, 0.5]], rtol=1e-6
    )
    assert candidate_cues([], CUES).shape == (0, 2)
    spec = RescorerSpec(
        backbone="tiny",
        input_size=(8, 8),
        category_ids=(1,),
        cues=("mask_quality",),
        features="region_network",
    )
    cues = candidate_cues([plain, rescored], CUES)
    inputs = rescorer_inputs(spec, [1, 1], cues, box="b", region="r")
    assert inputs[:2] == ["b", "r"] and inputs[2].tolist() == [[1.0], [1.0]]
    np.testing.assert_allclose(inputs[3], [[1.7 / 2.3], [0.5]], rtol=1e-6)
    assert len(rescorer_inputs(dataclasses_replace(spec, cues=()), [1], box="b", region="r")) == 3
    mask_pass = dataclasses_replace(spec, features="mask_pass")
    assert rescorer_inputs(mask_pass, [1, 1], cues, features="f")[0] == "f"
    with pytest.raises(ValueError, match="a mask_pass rescorer needs its 'features' input"):
        rescorer_inputs(mask_pass, [1, 1], cues, box="b", region="r")
    with pytest.raises(ValueError, match="each at most once"):
        checked_cues(["box_score", "box_score"])


def test_a_mask_pass_rescorer_classifies_the_features_and_cues(
    make_mask_model, make_mask_spec, tmp_path
):
    import keras

    from hckeras.sds.mask_pass import MaskPassRunner

    keras.utils.set_random_seed(2)
    mask_model, mask_spec = make_mask_model(), make_mask_spec()
    model = build_rescorer(mask_model, mask_spec, pooled_taps=("conv4",))
    assert [t.name for t in model.inputs] == ["features", "category", "cues"]
    width = MaskPassRunner(mask_model, mask_spec, ("conv4",)).feature_width
    assert model.inputs[0].shape[-1] == width == 4 * 8 + 4 * 4  # fc7 (8 x width) + conv4
    rng = np.random.default_rng(0)
    features = rng.normal(size=(4, width)).astype("float32")
    spec = RescorerSpec.for_mask_spec(mask_spec, pooled_taps=("conv4",))
    cues = rng.uniform(size=(4, 2)).astype("float32")
    inputs = rescorer_inputs(spec, [1, 2, 2, 1], cues, features=features)
    history = train_classifier(model, inputs, [1, 0, 1, 0], epochs=200, learning_rate=1e-2)
    assert history.history["loss"][-1] < history.history["loss"][0]
    # The classifier's input is the features and the cues, standardised.
    joined = np.concatenate([features, cues], 1)
    kernel, bias = model.get_layer("category_logits").get_weights()
    standardised = (joined - joined.mean(0)) / np.maximum(joined.std(0), keras.config.epsilon())
    logits = (standardised @ kernel + bias)[np.arange(4), [0, 1, 1, 0]]
    scores = model.predict(inputs, verbose=0)[:, 0]
    np.testing.assert_allclose(scores, 1 / (1 + np.exp(-logits)), rtol=1e-3)
    assert (scores[[0, 2]] > 0.5).all() and (scores[[1, 3]] < 0.5).all()
    path = save_rescorer(model, spec, tmp_path / "mask_pass.keras")
    reloaded, reloaded_spec = load_rescorer(path, mask_spec)
    assert reloaded_spec.features == "mask_pass" and reloaded_spec.pooled_taps == ("conv4",)
    np.testing.assert_allclose(reloaded.predict(inputs, verbose=0)[:, 0], scores, rtol=1e-5)
    with pytest.raises(ValueError, match="fine_tune_region trains the region network"):
        build_rescorer(mask_model, mask_spec, fine_tune_region=True)


def test_a_rescorer_on_the_cues_alone(make_mask_model, make_mask_spec):
    model = build_rescorer(make_mask_model(), make_mask_spec(), features="none")
    assert [t.name for t in model.inputs] == ["category", "cues"]
    assert model.get_layer("category_logits").get_weights()[0].shape == (2, 2)
    with pytest.raises(ValueError, match="without network features needs at least one cue"):
        build_rescorer(make_mask_model(), make_mask_spec(), cues=(), features="none")
    with pytest.raises(ValueError, match=r"features 'fc8': expected one of \['mask_pass'"):
        RescorerSpec.for_mask_spec(make_mask_spec(), features="fc8")
    with pytest.raises(ValueError, match="pooled taps are for mask_pass features"):
        RescorerSpec.for_mask_spec(make_mask_spec(), features="none", pooled_taps=("conv4",))
