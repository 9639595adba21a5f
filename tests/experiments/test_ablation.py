import json

import pytest

from hckeras.experiments.ablation import run_suite
from hckeras.experiments.report import headline_differences
from hckeras.training.threshold import CANDIDATES

SMALL = {
    "input_size": 32,
    "output_size": 8,
    "grid_size": 2,
    "batch_size": 8,
    "backbone_options": {"convs_per_block": [1, 1, 1, 1]},
    "workers": 0,
}


@pytest.mark.slow
def test_demo_suite_report_has_the_ceiling_test_split_and_quality_rows(tmp_path):
    rows = run_suite("demo", tmp_path, train_images=3, val_images=2, epochs=1, base=SMALL)
    assert [r["name"] for r in rows] == ["hypercolumn", "fc7_only"]
    summary = json.loads((tmp_path / "summary.json").read_text())
    oracle = summary["oracle"]["segmentation"]["mean"]
    assert all(0.5 < v <= 1.0 for v in oracle)  # jittered detections, true masks
    for row in rows:
        assert row["test_scores"]["columns"] == ["AP@0.5", "AP@0.7"]
        assert 0.0 <= row["crop_quality"]["value"] <= 1.0
        assert row["crop_quality"]["count"] > 0
        assert row["final_val_loss"] is not None
        # The preset chooses the mask threshold on validation; masks are ranked by quality.
        assert row["mask_threshold"] in CANDIDATES and row["scoring"] == "mask"
        assert row["box_scores"]["test"]["columns"] == ["AP@0.5", "AP@0.7"]
        results = json.loads((tmp_path / row["name"] / "results_val.json").read_text())
        assert all(r["score"] == r["box_score"] * r["mask_quality"] for r in results)
    assert any((tmp_path / "cache").iterdir())  # both models trained from one cache
    assert len(list((tmp_path / "cache").iterdir())) == 1
    report = (tmp_path / "report.md").read_text()
    assert "oracle (ceiling)" in report
    assert f"**{100 * oracle[0]:.1f}**" in report
    assert "fresh test split" in report and "mask IoU (GT boxes)" in report
    assert "hypercolumn - fc7_only" in report
    assert "mean AP@0.7, fresh test split, box scores" in report


def test_headline_differences_pair_the_seeds():
    def row(name, group, seed, values):
        return {
            "name": name,
            "group": group,
            "seed": seed,
            "scores": {"columns": ["AP@0.5", "AP@0.7"], "mean": values},
        }

    rows = [
        row("a", "a", 0, [0.6, 0.4]),
        row("a_seed1", "a", 1, [0.5, 0.3]),
        row("b", "b", 0, [0.4, 0.1]),
        row("b_seed1", "b", 1, [0.4, 0.2]),
    ]
    found = headline_differences(rows, [("a", "b"), ("a", "missing")])
    assert [(a, b, c) for a, b, c, _, _ in found] == [("a", "b", "AP@0.5"), ("a", "b", "AP@0.7")]
    assert found[0][3] == pytest.approx([0.2, 0.1]) and found[0][4] == pytest.approx(0.15)
    assert found[1][3] == pytest.approx([0.3, 0.1]) and found[1][4] == pytest.approx(0.2)


def test_only_names_experiments_of_the_suite(tmp_path):
    with pytest.raises(
        ValueError, match=r"no experiments \['nope'\]; valid: hypercolumn, fc7_only"
    ):
        run_suite(
            "demo", tmp_path, train_images=1, val_images=1, epochs=1, base=SMALL, only=["nope"]
        )


@pytest.mark.slow
def test_system1_and_system2_sections_of_a_suite(tmp_path, monkeypatch):
    import functools

    from hckeras.sds import pipeline

    # A one-epoch model's masks never overlap an object by 0.7: label by lower overlaps
    # so that the rescorer has positives to train on.
    lenient = functools.partial(pipeline.train_rescorer, positive=0.1, negative=0.05)
    monkeypatch.setattr(pipeline, "train_rescorer", lenient)
    run_suite(
        "demo", tmp_path, train_images=4, val_images=2, epochs=1, base=SMALL,
        only=["hypercolumn"], system1=True, system2=True,
    )  # fmt: skip
    summary = json.loads((tmp_path / "summary.json").read_text())
    system1 = summary["system1"]
    assert [(r["split"], r["method"]) for r in system1] == [
        (split, method)
        for split in ("val", "test")
        for method in ("candidates", "mask model on candidate boxes", "refined (System 1)")
    ]
    assert all(0 <= r["apr_50"] <= 100 and 0 <= r["apr_70"] <= r["apr_50"] for r in system1)
    assert [r["method"] for r in summary["system2"]][:3] == [
        "Hyp (NMS'd detections)",
        "expansion + region NMS",
        "Hyp + Rescore (System 2)",
    ]
    assert (tmp_path / "system1" / "refiner.keras").is_file()
    assert (tmp_path / "system2" / "rescorer.keras").is_file()
    report = (tmp_path / "report.md").read_text()
    assert "## System 1: refining region candidates" in report
    assert "## System 2: rescoring an expanded pool" in report
    assert "figures/system1_1.png" in report and (tmp_path / "figures" / "system1_1.png").is_file()


def test_system1_on_data_without_candidates_names_the_missing_file(tmp_path):
    from hckeras.experiments.system1_step import system1_section

    gt = tmp_path / "data" / "train" / "annotations.json"
    gt.parent.mkdir(parents=True)
    gt.write_text("{}")
    with pytest.raises(FileNotFoundError, match="region_candidates.json does not exist"):
        system1_section(tmp_path / "model.keras", {"train": gt}, tmp_path)


def test_the_paper_suite_runs_both_sds_systems_unless_told_otherwise():
    from hckeras.experiments.ablation import sds_systems

    assert sds_systems("paper") == ["system1", "system2"]
    assert sds_systems("paper", system1=False) == ["system2"]
    assert sds_systems("demo") == []
    assert sds_systems("demo", system2=True) == ["system2"]


def test_a_selection_without_segmentation_drops_the_default_sds_steps(tmp_path):
    from hckeras.experiments.ablation import SUITES, run_suite, selected_systems

    keypoints = [e for e in SUITES["paper"] if e["name"] == "keypoints_hypercolumn"]
    assert selected_systems("paper", keypoints) == []
    assert selected_systems("paper", SUITES["paper"]) == ["system1", "system2"]
    # Asked for by flag, it is an error before any data is generated or model trained.
    with pytest.raises(ValueError, match=r"\['system2'\] need a segmentation experiment"):
        run_suite("paper", tmp_path, only=["keypoints_hypercolumn"], system1=False, system2=True)
    assert list(tmp_path.iterdir()) == []


def test_system2_times_are_the_best_of_rotated_rounds(monkeypatch):
    from hckeras.experiments import system2_step

    order, clock = [], iter(range(100))
    monkeypatch.setattr(system2_step.time, "perf_counter", lambda: next(clock) ** 2)
    methods = {name: (lambda name=name: order.append(name) or name.upper()) for name in "abc"}
    results, seconds = system2_step._best_times(methods, repeats=3)
    assert order == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]
    assert results == {"a": "A", "b": "B", "c": "C"}
    # Run k starts at k*k*4 and ends at (2k+1)^2: it takes 4k + 1 "seconds"; a's fastest is
    # its first run (k = 0), b's its first (k = 1), c's its first (k = 2).
    assert seconds == {"a": 1, "b": 5, "c": 9}
