import json

import pytest

from hckeras.bench.head import bench_head
from hckeras.bench.predict import bench_boxes, bench_predict
from hckeras.bench.training import bench_training, format_training_report
from hckeras.data.synthetic import generate


class _Clock:
    """A `time` stand-in whose `perf_counter` advances `tick` seconds per call."""

    def __init__(self, tick):
        self.tick, self.calls = tick, 0

    def perf_counter(self):
        self.calls += 1
        return self.calls * self.tick


def test_training_bench_rates_count_samples_over_timed_steps(tmp_path, monkeypatch):
    import hckeras.bench.training
    import hckeras.data.throughput

    monkeypatch.setattr(hckeras.bench.training, "time", _Clock(0.5))
    monkeypatch.setattr(hckeras.data.throughput, "time", _Clock(0.5))
    data = generate(tmp_path / "synth", 3, seed=5)
    results = bench_training(
        str(data),
        backbone="tiny",
        input_size=32,
        grid_size=2,
        output_size=8,
        batch_size=4,
        steps=3,
        workers=0,
    )
    # Pipeline and model only: 3 batches of 4 between two clock reads (0.5 s).
    assert results["pipeline_samples_per_s"] == pytest.approx(12 / 0.5)
    assert results["model_only_images_per_s"] == pytest.approx(12 / 0.5)
    # End to end: each of the 3 timed steps (warm-up excluded) is one tick.
    assert results["end_to_end_images_per_s"] == pytest.approx(12 / (3 * 0.5))
    assert results["end_to_end_over_model_only"] == pytest.approx(1 / 3)
    assert results["setup"]["input_size"] == [32, 32]
    assert format_training_report(results).splitlines()[-1].split() == [
        "end", "to", "end", "8.0", "images/s", "(33%", "of", "model", "only)"
    ]  # fmt: skip


@pytest.mark.slow
def test_head_bench_runs_both_heads_with_the_same_parameters():
    results = bench_head(backbone="tiny", batch_size=2, grid_size=2, output_size=8, steps=1)
    efficient, explicit = results["efficient"], results["explicit"]
    # Same classifier up to the per-tap biases: one bias per tap vs one in total.
    taps = len(results["setup"]["taps"])
    assert efficient["parameters"] - explicit["parameters"] == (taps - 1) * 4
    assert results["speedup"] == pytest.approx(explicit["step_seconds"] / efficient["step_seconds"])


def test_predict_bench_boxes_are_seeded_and_inside_the_image():
    boxes = bench_boxes(5, 300, 100)
    assert boxes == bench_boxes(5, 300, 100) and len(boxes) == 5
    for box in boxes:
        x, y, w, h = box["bbox"]
        assert 0 <= x <= 200 and 0 <= y <= 200 and w == h == 100


@pytest.mark.slow
def test_predict_bench_reports_each_count_with_box_sized_results():
    results = bench_predict(counts=(1, 3), image_size=600, box_size=100, batch_size=4)
    one, three = results["runs"]
    assert (one["count"], three["count"]) == (1, 3)
    # 120 x 120 expanded boxes: float32 probability + bool mask per detection.
    assert one["result_arrays_mib"] == pytest.approx(120 * 120 * 5 / 2**20, rel=0.01)
    assert three["result_arrays_mib"] == pytest.approx(3 * one["result_arrays_mib"], rel=0.01)
    assert one["peak_rss_mib"] >= one["peak_over_baseline_mib"] >= 0
    assert results["seconds_per_detection"][3] == pytest.approx(three["total_seconds"] / 3)


def test_shards_bench_times_both_pipelines_on_the_same_samples(tmp_path):
    from hckeras.bench.shards import bench_shards, format_shards_report

    data = generate(tmp_path / "synth", 2, seed=8)
    results = bench_shards(str(data), input_size=32, output_size=8, batch_size=4)
    instances = len(json.loads(data.read_text())["annotations"])
    assert results["setup"]["samples"] == 2 * instances
    assert results["cached_samples_per_cpu_s"] > 0 and results["on_the_fly_samples_per_cpu_s"] > 0
    line = format_shards_report(results)
    assert f"{2 * instances} samples" in line
    assert f"cached {results['cached_samples_per_cpu_s']:.0f} ({results['speedup']:.1f}x)" in line


def test_edge_latency_models_take_the_taps_given():
    pytest.importorskip("ai_edge_litert")
    import keras

    if keras.backend.backend() != "tensorflow":
        pytest.skip("LiteRT export needs the TensorFlow backend")
    from hckeras.bench.edge_latency import build_models
    from hckeras.cli.train import parse_taps
    from hckeras.export.profile import profile_tflite

    taps = parse_taps("fc7:1,conv4:1")
    assert taps == {"fc7": 1, "conv4": 1}
    default = build_models("tiny", 32, 16, 2, ["fp32"], keypoints=3)
    given = build_models("tiny", 32, 16, 2, ["fp32"], keypoints=3, taps=taps)
    assert (
        set(given)
        == set(default)
        == {
            (f"tiny {label}", "fp32")
            for label in ("mask, all maps", "mask, one category", "keypoints (3 maps)", "backbone")
        }
    )
    for label in ("mask, all maps", "keypoints (3 maps)"):
        key = (f"tiny {label}", "fp32")
        # The default taps upsample pool2's and conv4's scores; these only conv4's.
        resizes = [profile_tflite(models[key]).ops.count("RESIZE_BILINEAR") for models in
                   (default, given)]  # fmt: skip
        assert resizes == [2, 1]


def test_edge_latency_streams_stitched_head_has_no_classifier_blocks(capsys):
    pytest.importorskip("ai_edge_litert")
    import keras

    if keras.backend.backend() != "tensorflow":
        pytest.skip("LiteRT export needs the TensorFlow backend")
    from hckeras.bench.edge_latency import build_models, main
    from hckeras.export.profile import profile_tflite

    # tiny at 96 px, S 32: pool2 (24 x 24) is the finer spatial tap.
    heads = ("streams", "streams_stitched")
    models = build_models("tiny", 96, 32, 1, ["fp32"], keypoints=8, heads=heads)
    convs = {
        head: profile_tflite(models[(f"tiny keypoints (8 maps){suffix}", "fp32")]).ops.count(
            "CONV_2D"
        )
        for head, suffix in (("streams", ""), ("streams_stitched", ", streams_stitched head"))
    }
    # pool2's one score conv becomes one conv per grid classifier (25).
    assert convs["streams"] - convs["streams_stitched"] == 25 - 1
    with pytest.raises(SystemExit):
        main(["tiny", "--heads", "streams,sparse"])
    assert "unknown head form(s) sparse" in capsys.readouterr().err


@pytest.mark.slow
def test_edge_latency_hard_swish_bound_replaces_each_three_op_hard_swish_by_a_fused_relu():
    pytest.importorskip("ai_edge_litert")
    import keras

    if keras.backend.backend() != "tensorflow":
        pytest.skip("LiteRT export needs the TensorFlow backend")
    from hckeras.backbones import build_backbone
    from hckeras.bench.edge_latency import build_models
    from hckeras.export.int8_graph import is_hard_swish
    from hckeras.export.profile import profile_tflite

    models = build_models("mobilenet_v3_small", 32, 8, 1, ["int8"], hard_swish_bound=True)
    bare = profile_tflite(models[("mobilenet_v3_small backbone", "int8")]).ops
    bound = profile_tflite(
        models[("mobilenet_v3_small backbone, hard-swish as ReLU (bound)", "int8")]
    ).ops
    network = build_backbone("mobilenet_v3_small", input_size=32).model
    hard_swishes = sum(is_hard_swish(layer) for layer in network._flatten_layers())
    assert hard_swishes == 19
    # int8 hard-swish is ADD (+RELU6) and two MULs; a ReLU fuses into its conv.
    assert len(bare) - len(bound) == 3 * hard_swishes
    assert bare.count("MUL") - bound.count("MUL") == 2 * hard_swishes
    assert "HARD_SWISH" not in bare + bound
    tiny = build_models("tiny", 32, 8, 1, ["int8"], hard_swish_bound=True)
    assert ("tiny backbone", "int8") in tiny and len(tiny) == 3  # no hard-swish, no bound
