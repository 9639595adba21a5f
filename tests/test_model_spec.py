import json
import math

import pytest

from hckeras.model_spec import SUPPORTED_FORMAT_VERSIONS, ModelSpec, spec_path
from hckeras.tasks import MapLayout

CATEGORIES = [
    {
        "id": 1,
        "name": "person",
        "keypoints": ["nose", "l_eye", "r_eye"],
        "flip_pairs": {"keypoints": [[1, 2]]},
    },
    {"id": 4, "name": "bird", "keypoints": ["beak"]},
]


def make_spec(**overrides):
    values = dict(
        task="keypoints",
        layout=MapLayout.from_categories(CATEGORIES, "keypoints"),
        backbone="vgg16",
        taps={"pool3": 3, "pool4": 1, "fc7": 1},
        grid_size=5,
        output_size=50,
        input_size=(224, 224),
        thresholds={"mask": 0.4},
    )
    values.update(overrides)
    return ModelSpec(**values)


def test_json_round_trip_is_exact():
    spec = make_spec()
    again = ModelSpec.from_json(spec.to_json())
    assert again == spec
    assert again.layout.maps_of(4) == slice(3, 4)
    assert again.input_format["range"] == [0.0, 255.0]
    assert again.input_format["normalization"] == "in_graph"
    assert json.loads(spec.to_json())["format_version"] == 1


def test_save_load_round_trip_and_sidecar_path(tmp_path):
    model_path = tmp_path / "runs" / "x" / "model.keras"
    assert spec_path(model_path) == tmp_path / "runs" / "x" / "model.json"
    assert spec_path("runs/x/model.tflite").as_posix() == "runs/x/model.json"
    spec = make_spec()
    spec.save(spec_path(model_path))
    assert ModelSpec.load(spec_path(model_path)) == spec
    # Atomic write: only the final file is left behind.
    assert [p.name for p in spec_path(model_path).parent.iterdir()] == ["model.json"]


def test_unknown_format_version_names_the_understood_ones():
    config = make_spec().to_config()
    config["format_version"] = 7
    with pytest.raises(ValueError, match=r"format_version 7 .*versions \[1\]"):
        ModelSpec.from_config(config)
    assert SUPPORTED_FORMAT_VERSIONS == (1,)
    with pytest.raises(ValueError, match="format_version 2"):
        make_spec(format_version=2)


def test_missing_and_unknown_keys_are_named(tmp_path):
    config = make_spec().to_config()
    del config["grid_size"], config["taps"]
    with pytest.raises(ValueError, match=r"missing keys \['taps', 'grid_size'\]"):
        ModelSpec.from_config(config)
    config = make_spec().to_config()
    config["colour"] = "blue"
    with pytest.raises(ValueError, match=r"unknown keys \['colour'\]"):
        ModelSpec.from_config(config)
    path = tmp_path / "bad.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="bad.json: not valid JSON"):
        ModelSpec.load(path)
    with pytest.raises(FileNotFoundError, match="nothere.json"):
        ModelSpec.load(tmp_path / "nothere.json")


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(task="parts"), "does not match the layout"),
        (dict(task="depth"), "unknown task"),
        (dict(grid_size=0), "grid_size"),
        (dict(output_size=2.5), "output_size"),
        (dict(input_size=(224,)), "input_size"),
        (dict(taps={"pool3": 0}), "tap neighbourhoods"),
        (dict(context_padding=math.nan), "context_padding"),
        (dict(thresholds={"mask": 1.5}), "thresholds"),
    ],
)
def test_bad_values_are_rejected(overrides, message):
    with pytest.raises(ValueError, match=message):
        make_spec(**overrides)


def test_bad_layout_in_file_names_the_file(tmp_path):
    config = make_spec().to_config()
    config["layout"]["task"] = "depth"
    path = tmp_path / "model.json"
    path.write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"model.json: unknown task 'depth'"):
        ModelSpec.load(path)


def test_checked_sidecar_names_what_is_missing(tmp_path):
    from hckeras.model_spec import checked_sidecar

    with pytest.raises(ValueError, match=r"unsupported refiner file .*x.h5: expected a .keras"):
        checked_sidecar(tmp_path / "x.h5", "refiner")
    with pytest.raises(FileNotFoundError, match=r"refiner file .*x.keras does not exist"):
        checked_sidecar(tmp_path / "x.keras", "refiner")
    (tmp_path / "x.keras").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match=r"refiner .*x.keras has no spec sidecar .*x.json"):
        checked_sidecar(tmp_path / "x.keras", "refiner")
    (tmp_path / "x.json").write_text("{}")
    assert checked_sidecar(tmp_path / "x.keras") == tmp_path / "x.json"
