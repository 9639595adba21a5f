"""System 2 (paper section 4.2) in a suite's report: Table 2's last column, Hyp vs
Hyp + Rescore.

After a suite's segmentation experiment, `system2_section` trains a region rescorer for
its model on the training split's expanded pool and compares, on the validation and test
splits, the box-to-mask pipeline on the NMS'd detections (Hyp), System 2 without
rescoring (pool expansion and region NMS) and System 2 with the rescorer, all ranked by
box (or rescored) scores as in the paper.
"""

import time
from functools import partial
from pathlib import Path

TIMING_REPEATS = 5
"""Each pipeline's time is its best of this many interleaved runs (the host is shared)."""


def _split(data, split):
    gt = Path(data[split])
    return str(gt), str(gt.parent)


def _timed(function, *args, **kwargs):
    started = time.perf_counter()
    value = function(*args, **kwargs)
    return value, time.perf_counter() - started


def _best_times(methods, repeats=TIMING_REPEATS):
    """`(results, seconds)` of `{name: function}`: each function's last result and its
    fastest wall time over `repeats` interleaved runs, the order rotated every round so
    that no function always runs after the same one."""
    names = list(methods)
    results, seconds = {}, {name: [] for name in names}
    for round_ in range(repeats):
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            results[name], took = _timed(methods[name])
            seconds[name].append(took)
    return {name: results[name] for name in names}, {n: min(t) for n, t in seconds.items()}


def _described(rescorer_spec):
    """What a rescorer's classifier sees, in words."""
    views = {
        "mask_pass": "the mask pass's fc7 vector and its "
        + (", ".join(rescorer_spec.pooled_taps) or "no")
        + " features averaged inside the mask",
        "region_network": "the box and region networks' fc7 vectors",
        "none": "",
    }[rescorer_spec.features]
    cues = {"box_score": "the box score", "mask_quality": "the mask's expected IoU"}
    return ", ".join([v for v in [views, *(cues[c] for c in rescorer_spec.cues)] if v])


def system2_section(model_path, data, out_dir, epochs=None):
    """Train a rescorer for `model_path` and return `(markdown section, rows)`; rows are
    dicts `split`, `method`, `apr_50`, `apr_70` (mean APr, percent) and `seconds` (wall
    time of the masks and scores, models traced first, best of `TIMING_REPEATS` runs); the
    rescorer goes to `out_dir/system2/`. `epochs`: None for `train_rescorer`'s default
    (`pipeline.CLASSIFIER_EPOCHS`)."""
    from hckeras.cli.refine import format_rows
    from hckeras.inference.dataset import predict_dataset
    from hckeras.inference.predictor import load_predictor
    from hckeras.inference.runners import batch_buckets, warm_up
    from hckeras.io import write_json_atomic
    from hckeras.model_spec import ModelSpec, spec_path
    from hckeras.sds.pipeline import run_sds, scoring_predictor, train_rescorer
    from hckeras.sds.refinement import mean_apr
    from hckeras.sds.rescorer import load_rescorer

    folder = Path(out_dir) / "system2"
    gt, images = _split(data, "train")
    trained, train_seconds = _timed(
        train_rescorer,
        model_path,
        gt,
        images,
        str(Path(images) / "detections_raw.json"),
        folder / "rescorer.keras",
        epochs=epochs,
    )
    report = trained["report"]
    rescorer = load_rescorer(trained["path"], ModelSpec.load(spec_path(model_path)), model_path)
    predictor = load_predictor(model_path)
    scorer = scoring_predictor(predictor, rescorer[1].features, rescorer[1].pooled_taps)
    # Every model traced at every batch shape first: the times compare pipelines, not tracing.
    for model in (predictor.runner.model, scorer.runner.model, rescorer[0]):
        warm_up(model, batch_buckets(predictor.batch_size))
    lines = [
        "## System 2: rescoring an expanded pool (paper Table 2, last column)",
        "",
        f"A region rescorer for `{Path(model_path).parent.name}` (a logistic classifier "
        f"on {_described(rescorer[1])}; {len(trained['history']['loss'])} epochs on "
        f"{report['positives']} positive and {report['negatives']} negative candidates of "
        f"the training split's expanded pool, {train_seconds:.0f} s). Rows rank by the "
        "detections' box scores, or by the rescorer's.",
    ]
    rows = []
    for split in ("val", "test"):
        gt, images = _split(data, split)
        raw = str(Path(images) / "detections_raw.json")
        detections = str(Path(images) / "detections_simulated.json")
        methods = {
            "Hyp (NMS'd detections)": partial(predict_dataset, predictor, gt, images, detections),
            "expansion + region NMS": partial(run_sds, predictor, gt, images, raw),
            "Hyp + Rescore (System 2)": partial(run_sds, scorer, gt, images, raw, rescorer),
        }
        results, seconds = _best_times(methods)
        split_rows = []
        for name, output in results.items():
            coco = output[0] if isinstance(output, tuple) else output  # run_sds: (results, report)
            split_rows.append({"method": name, "apr": mean_apr(gt, coco), "seconds": seconds[name]})
        for row in split_rows:
            row["apr_50"], row["apr_70"] = row.pop("apr")
        write_json_atomic(folder / f"table_{split}.json", {"rows": split_rows})
        rows += [{**row, "split": split} for row in split_rows]
        lines += ["", f"{split} split:", "", format_rows(split_rows)]
    return "\n".join(lines), rows
