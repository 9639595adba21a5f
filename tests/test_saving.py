"""`.keras` files of hckeras models reload in a fresh process after `import hckeras` alone."""

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from hckeras import build_hypercolumn_model, probability_model
from hckeras.losses import HypercolumnLoss

ROOT = Path(__file__).resolve().parents[1]

RELOAD = """
import json, sys
import numpy as np
import hckeras
import keras

report = {}
for name in sys.argv[2:]:
    model = keras.saving.load_model(f"{sys.argv[1]}/{name}.keras")
    x = np.load(f"{sys.argv[1]}/x.npy")
    expected = np.load(f"{sys.argv[1]}/{name}.npy")
    report[name] = {
        "max_error": float(np.abs(np.asarray(model(x)) - expected).max()),
        "loss": type(getattr(model, "loss", None)).__name__,
        "loss_config": getattr(getattr(model, "loss", None), "get_config", dict)(),
        "layers": sorted({type(layer).__name__ for layer in model.layers}),
    }
    if name == "qat_ready":
        from hckeras.export.qat import twin_from_keras3

        twin = twin_from_keras3(model)
        report[name]["twin_error"] = float(np.abs(twin(x).numpy() - expected).max())
print(json.dumps(report))
"""


def _tiny(**kwargs):
    return build_hypercolumn_model("tiny", grid_size=2, num_maps=2, output_size=8, **kwargs)


def _run(code, *args, env=None):
    env = dict(os.environ, **(env or {}))
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    result = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_keras_files_reload_after_import_hckeras_without_custom_objects(tmp_path):
    x = np.random.default_rng(0).uniform(0, 255, (2, 64, 64, 3)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    compiled = _tiny()
    compiled.compile(keras.optimizers.Adam(1e-3), loss=HypercolumnLoss(2, 8, mode="cell"))
    models = {
        "compiled": compiled,
        "probabilities": probability_model(_tiny()),
        # What hckeras.export.qat takes: the probability graph, every hckeras layer in it.
        "qat_ready": probability_model(_tiny(tap_scales={"pool2": 0.5})),
    }
    for name, model in models.items():
        model.save(tmp_path / f"{name}.keras")
        np.save(tmp_path / f"{name}.npy", np.asarray(model(x)))
    names = list(models)
    if not _has("tf_keras") or not _has("tensorflow_model_optimization"):
        names.remove("qat_ready")
    report = _run(RELOAD, tmp_path, *names)
    assert sorted(report) == sorted(names)
    for name in names:
        assert report[name]["max_error"] < 1e-5, name
    assert report["compiled"]["loss"] == "HypercolumnLoss"
    assert {k: report["compiled"]["loss_config"][k] for k in ("grid_size", "output_size")} == {
        "grid_size": 2,
        "output_size": 8,
    }
    assert report["compiled"]["loss_config"]["mode"] == "cell"
    assert "GridInterpolation" in report["probabilities"]["layers"]
    if "qat_ready" in names:
        assert {"GridInterpolation", "TapScale"} <= set(report["qat_ready"]["layers"])
        assert report["qat_ready"]["twin_error"] < 1e-5


@pytest.mark.parametrize("first", ["import keras", "import hckeras.losses"])
def test_registration_does_not_depend_on_import_order(first):
    code = (
        f"import json\n{first}\nimport hckeras\nimport keras\n"
        "names = ('HypercolumnLoss', 'GridInterpolation', 'NeighborhoodStack', 'TapScale')\n"
        "print(json.dumps([keras.saving.get_registered_object(f'hckeras>{n}') is not None"
        " for n in names]))\n"
    )
    assert _run(code) == [True, True, True, True]


def test_data_and_metrics_do_not_import_keras():
    code = (
        "import json, sys\nimport hckeras, hckeras.data, hckeras.metrics\n"
        "print(json.dumps(sorted(m for m in ('keras', 'tensorflow', 'jax') if m in sys.modules)))\n"
    )
    assert _run(code) == []


def test_the_command_and_hckeras_synth_do_not_import_keras(tmp_path):
    # Every subcommand's parser is built, and `synth` runs: none needs a backend.
    code = (
        "import json, sys\nfrom hckeras.cli.main import main\n"
        "status = main(['synth', '--out', sys.argv[1], '--images', '1', '--size', '64', '64'])\n"
        "modules = ('keras', 'tensorflow', 'jax', 'tf_keras')\n"
        "print(json.dumps([status, sorted(m for m in modules if m in sys.modules)]))\n"
    )
    assert _run(code, tmp_path / "synth") == [0, []]
    assert (tmp_path / "synth" / "annotations.json").is_file()


def _has(module):
    import importlib.util

    return importlib.util.find_spec(module) is not None
