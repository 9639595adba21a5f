import pytest

from hckeras.bench.head import bench_head
from hckeras.bench.predict import bench_boxes, bench_predict
from hckeras.bench.training import bench_training
from hckeras.data.synthetic import generate


def test_training_bench_reports_consistent_rates(tmp_path):
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
    for key in ("pipeline_samples_per_s", "model_only_images_per_s", "end_to_end_images_per_s"):
        assert results[key] > 0
    ratio = results["end_to_end_images_per_s"] / results["model_only_images_per_s"]
    assert results["end_to_end_over_model_only"] == pytest.approx(ratio)
    assert results["setup"]["input_size"] == [32, 32]


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
