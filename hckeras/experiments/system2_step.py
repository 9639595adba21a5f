"""System 2 (paper section 4.2) in a suite's report: Table 2's last column, Hyp vs
Hyp + Rescore.

After a suite's segmentation experiment, `system2_section` trains a region rescorer for
its model on the training split's expanded pool and compares, on the validation and test
splits, the box-to-mask pipeline on the NMS'd detections (Hyp), System 2 without
rescoring (pool expansion and region NMS) and System 2 with the rescorer, all ranked by
box (or rescored) scores as in the paper.
"""

import time
from pathlib import Path


def _split(data, split):
    gt = Path(data[split])
    return str(gt), str(gt.parent)


def _timed(function, *args, **kwargs):
    started = time.perf_counter()
    value = function(*args, **kwargs)
    return value, time.perf_counter() - started


def system2_section(model_path, data, out_dir, epochs=None):
    """Train a rescorer for `model_path` and return `(markdown section, rows)`; rows are
    dicts `split`, `method`, `apr_50`, `apr_70` (mean APr, percent) and `seconds` (wall
    time of the masks and scores); the rescorer goes to `out_dir/system2/`. `epochs`:
    None for `train_rescorer`'s default (`pipeline.CLASSIFIER_EPOCHS`)."""
    from hckeras.cli.refine import format_rows
    from hckeras.inference.dataset import predict_dataset
    from hckeras.inference.predictor import load_predictor
    from hckeras.io import write_json_atomic
    from hckeras.model_spec import ModelSpec, spec_path
    from hckeras.sds.pipeline import run_sds, train_rescorer
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
    lines = [
        "## System 2: rescoring an expanded pool (paper Table 2, last column)",
        "",
        f"A region rescorer for `{Path(model_path).parent.name}` (a logistic classifier "
        "on the box and region networks' fc7 vectors, the box score and the mask's "
        f"expected IoU; {len(trained['history']['loss'])} epochs on "
        f"{report['positives']} positive and {report['negatives']} negative candidates of "
        f"the training split's expanded pool, {train_seconds:.0f} s). Rows rank by the "
        "detections' box scores, or by the rescorer's.",
    ]
    rows = []
    for split in ("val", "test"):
        gt, images = _split(data, split)
        raw = str(Path(images) / "detections_raw.json")
        detections = str(Path(images) / "detections_simulated.json")
        hyp, hyp_seconds = _timed(predict_dataset, predictor, gt, images, detections)
        plain, plain_seconds = _timed(run_sds, predictor, gt, images, raw)
        rescored, rescored_seconds = _timed(run_sds, predictor, gt, images, raw, rescorer)
        split_rows = [
            {"method": "Hyp (NMS'd detections)", "apr": mean_apr(gt, hyp),
             "seconds": hyp_seconds},
            {"method": "expansion + region NMS", "apr": mean_apr(gt, plain[0]),
             "seconds": plain_seconds},
            {"method": "Hyp + Rescore (System 2)", "apr": mean_apr(gt, rescored[0]),
             "seconds": rescored_seconds},
        ]  # fmt: skip
        for row in split_rows:
            row["apr_50"], row["apr_70"] = row.pop("apr")
        write_json_atomic(folder / f"table_{split}.json", {"rows": split_rows})
        rows += [{**row, "split": split} for row in split_rows]
        lines += ["", f"{split} split:", "", format_rows(split_rows)]
    return "\n".join(lines), rows
