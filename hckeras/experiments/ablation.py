"""`run_suite`: generate the synthetic set, train, predict, evaluate, report."""

import importlib
import time
from pathlib import Path

from hckeras.experiments.report import write_report
from hckeras.experiments.suites import (
    CPU_BASE,
    HEADLINES,
    METRIC_OF_TASK,
    SDS_SYSTEMS,
    SUITE_DATA,
    SUITES,
)
from hckeras.io import write_json_atomic

DEFAULT_SCORING = "mask"
"""Segmentation results of a suite are ranked by box score x mask quality
(`hckeras.inference.mask_quality`); the report gives the box-score figures too."""


def _log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def synthetic_splits(out_dir, train_images, val_images, seed):
    """Generate (or reuse) the train, validation and fresh test sets; returns their
    JSON paths. The test split (`seed + 2`, as many images as validation) is never
    seen while training or choosing: it checks that validation figures carry over.
    Images render on every CPU (`default_workers`); the bytes do not depend on it."""
    from hckeras.data.synthetic import default_workers, generate

    paths = {}
    splits = (
        ("train", train_images, seed),
        ("val", val_images, seed + 1),
        ("test", val_images, seed + 2),
    )
    for split, count, split_seed in splits:
        folder = Path(out_dir) / "data" / split
        json_path = folder / "annotations.json"
        if not json_path.exists():
            _log(f"generating {count} synthetic {split} images")
            generate(folder, count, seed=split_seed, workers=default_workers())
        paths[split] = json_path
    return paths


def _box_scored(results):
    """`Predictor(scoring="mask")` results ranked by their detections' scores again."""
    return [{**r, "score": r["box_score"]} for r in results]


def run_experiment(
    experiment, data, run_dir, epochs, base=None, cache_dir=None, scoring=DEFAULT_SCORING
):
    """Train one experiment (resuming if already started), predict the validation
    set from the simulated detections, and evaluate with the task's metric.

    `scoring` ranks segmentation results ("mask": box score x the mask's expected
    IoU, `hckeras.inference.mask_quality`; "box": the detections' scores); with
    "mask", the row's `box_scores` hold the same masks ranked by box score."""
    from hckeras.experiments.crop_quality import crop_quality
    from hckeras.inference.dataset import predict_dataset
    from hckeras.inference.predictor import load_predictor
    from hckeras.inference.results import write_results
    from hckeras.metrics.evaluate import evaluate_results
    from hckeras.training import TrainConfig, train

    options = {**CPU_BASE, **(base or {}), **experiment}
    name = options.pop("name")
    group = options.pop("group", name)
    epochs = options.pop("epochs", epochs)
    config = TrainConfig(
        data=str(data["train"]),
        val_data=str(data["val"]),
        epochs=epochs,
        cache_dir=None if cache_dir is None else str(cache_dir),
        **options,
    )
    run_dir = Path(run_dir) / name
    started = time.perf_counter()
    _log(f"training {name} ({config.task}, taps {config.taps}, grid {config.grid_size})")
    result = train(config, run_dir, verbose=2)
    train_seconds = time.perf_counter() - started
    scoring = scoring if config.task == "segmentation" else "box"
    predictor = load_predictor(result["model_path"], scoring=scoring)
    metric = METRIC_OF_TASK[config.task]
    scores, box_scores = {}, {}
    for split in ("val", "test"):
        detections = Path(data[split]).parent / "detections_simulated.json"
        results = predict_dataset(predictor, str(data[split]), Path(data[split]).parent, detections)
        write_results(run_dir / f"results_{split}.json", results)
        scores[split] = evaluate_results(str(data[split]), results, metric=metric)
        if scoring == "mask":
            box_scores[split] = evaluate_results(
                str(data[split]), _box_scored(results), metric=metric
            )
    write_json_atomic(run_dir / "metrics.json", scores["val"])
    write_json_atomic(run_dir / "metrics_test.json", scores["test"])
    quality = crop_quality(result["model_path"], str(data["val"]))
    _log(
        f"{name}: {metric} mean {scores['val']['mean']} (test split {scores['test']['mean']}), "
        f"{quality['name']} {quality['value']:.3f} ({train_seconds:.0f} s training)"
    )
    history = result["history"]
    return {
        "name": name,
        "group": group,
        "seed": config.seed,
        "task": config.task,
        "taps": config.taps,
        "grid_size": config.grid_size,
        "metric": metric,
        "scores": scores["val"],
        "test_scores": scores["test"],
        "scoring": scoring,
        "box_scores": box_scores or None,
        "crop_quality": quality,
        "mask_threshold": result["spec"].thresholds.get("mask") if result["threshold"] else None,
        "train_seconds": train_seconds,
        "final_loss": history["loss"][-1] if history.get("loss") else None,
        "final_val_loss": history["val_loss"][-1] if history.get("val_loss") else None,
        "run_dir": str(run_dir),
    }


def oracle_scores(data, tasks, context_padding):
    """Task -> scores of ground-truth heatmaps for the validation detections
    (the ceiling of `hckeras.metrics.oracle`)."""
    from hckeras.metrics.evaluate import evaluate_results
    from hckeras.metrics.oracle import oracle_results

    detections = Path(data["val"]).parent / "detections_simulated.json"
    scores = {}
    for task in tasks:
        results = oracle_results(str(data["val"]), detections, task, context_padding)
        scores[task] = evaluate_results(str(data["val"]), results, metric=METRIC_OF_TASK[task])
    return scores


def selected_systems(suite, experiments, system1=None, system2=None):
    """`sds_systems` for a selection of a suite's experiments: the suite's default
    steps are dropped when no selected experiment segments (`--only keypoints_...`);
    a step asked for by flag is then an error, raised before any training."""
    systems = sds_systems(suite, system1, system2)
    if any(e.get("task", "segmentation") == "segmentation" for e in experiments):
        return systems
    asked = [name for name in systems if {"system1": system1, "system2": system2}[name]]
    if asked:
        raise ValueError(
            f"{asked} need a segmentation experiment; the selected experiments of suite "
            f"{suite!r} have none"
        )
    return []


def sds_systems(suite, system1=None, system2=None):
    """The SDS steps a suite runs: each flag True or False, or None for the suite's
    default (`SDS_SYSTEMS`).

    >>> sds_systems("paper"), sds_systems("demo", system1=True), sds_systems("paper", None, False)
    (['system1', 'system2'], ['system1'], ['system1'])
    """
    defaults = SDS_SYSTEMS.get(suite, ())
    wanted = {"system1": system1, "system2": system2}
    return [name for name, flag in wanted.items() if (name in defaults if flag is None else flag)]


def run_suite(
    suite,
    out_dir,
    train_images=None,
    val_images=None,
    epochs=None,
    seed=0,
    base=None,
    export_variants=(),
    only=None,
    scoring=DEFAULT_SCORING,
    system1=None,
    system2=None,
):
    """Run every experiment of `SUITES[suite]` and write `out_dir/report.md`.

    With `export_variants` (e.g. `("fp32", "qat")`), the first experiment's model
    is also exported to LiteRT, checked for parity and accuracy, and timed; the
    table goes into the report, and a variant that fails raises after the
    report is written. `only` restricts the suite to the experiments of these names.
    `scoring` ranks the segmentation experiments' results (`run_experiment`).
    With `system1`, a System 1 refiner is fine-tuned from the first segmentation
    experiment's model and the report gets Table 1's rows (`system1_step`); with
    `system2`, a region rescorer is trained for it and the report gets Table 2's
    Hyp vs Hyp + Rescore rows (`system2_step`). None: the suite's default
    (`SDS_SYSTEMS`; the paper suite runs both).
    """
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r}; valid: {', '.join(SUITES)}")
    experiments = SUITES[suite]
    if only is not None:
        unknown = sorted(set(only) - {e["name"] for e in experiments})
        if unknown:
            valid = ", ".join(e["name"] for e in experiments)
            raise ValueError(f"suite {suite!r} has no experiments {unknown}; valid: {valid}")
        experiments = [e for e in experiments if e["name"] in only]
    systems = selected_systems(suite, experiments, system1, system2)
    sizes = SUITE_DATA[suite]
    train_images = sizes["train_images"] if train_images is None else train_images
    val_images = sizes["val_images"] if val_images is None else val_images
    epochs = sizes["epochs"] if epochs is None else epochs
    out_dir = Path(out_dir)
    data = synthetic_splits(out_dir, train_images, val_images, seed)
    cache = out_dir / "cache"
    rows = [run_experiment(e, data, out_dir, epochs, base, cache, scoring) for e in experiments]
    padding = {**CPU_BASE, **(base or {})}.get("context_padding", 0.1)
    oracle = oracle_scores(data, sorted({r["task"] for r in rows}), padding)
    write_json_atomic(out_dir / "summary.json", {"experiments": rows, "oracle": oracle})
    sections, failed = [], []
    if export_variants:
        from hckeras.experiments.export_step import export_section

        model_path = Path(rows[0]["run_dir"]) / "model.keras"
        _log(f"exporting {', '.join(export_variants)} of {model_path}")
        section, export_rows = export_section(
            model_path, data, export_variants, out_dir / "export", scoring=rows[0]["scoring"]
        )
        sections.append(section)
        failed = [
            r.variant
            for r in export_rows
            if r.variant in export_variants and not (r.exported and r.validated)
        ]
    if systems:
        segmentation = [r for r in rows if r["task"] == "segmentation"]
        model_path = Path(segmentation[0]["run_dir"]) / "model.keras"
        summary = {"experiments": rows, "oracle": oracle}
        for name in systems:
            _log(f"{name}: training on {model_path}")
            step = importlib.import_module(f"hckeras.experiments.{name}_step")
            section, summary[name] = getattr(step, f"{name}_section")(model_path, data, out_dir)
            sections.append(section)
        write_json_atomic(out_dir / "summary.json", summary)
    report = write_report(
        out_dir,
        suite,
        rows,
        data,
        oracle=oracle,
        extra_sections=sections,
        headlines=HEADLINES.get(suite, ()),
    )
    _log(f"wrote {report}")
    if failed:
        raise ValueError(f"exported variants failed or missed a parity floor: {failed}")
    return rows
