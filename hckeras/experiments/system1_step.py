"""System 1 (paper section 4.1) in a suite's report: Table 1's rows and overlays.

After a suite's segmentation experiment, `system1_section` fine-tunes a refiner from its
model on the training split's region candidates (threshold chosen on validation),
refines the validation and test candidates and compares raw candidates, the mask model
on the candidates' boxes, and the refined candidates (`refinement.compare_refinement`).
"""

import json
import time
from pathlib import Path

REFINER_EPOCHS = 4


def _split(data, split):
    gt = Path(data[split])
    candidates = gt.parent / "region_candidates.json"
    if not candidates.is_file():
        raise FileNotFoundError(
            f"{candidates} does not exist: the {split} split was generated before hckeras "
            "wrote region candidates; delete its data folder to regenerate it"
        )
    return str(gt), str(gt.parent), str(candidates)


def _overlays(out_dir, refined, data, count=2, min_score=0.3):
    """Raw vs refined candidates on the first validation images."""
    import numpy as np
    from pycocotools import mask as mask_utils

    from hckeras.data.images import load_image
    from hckeras.inference.overlay import draw_overlay, save_png, side_by_side
    from hckeras.sds.region_candidates import candidate_box

    gt_path, images_dir, candidates_path = _split(data, "val")
    gt = json.loads(Path(gt_path).read_text())
    candidates = json.loads(Path(candidates_path).read_text())

    def drawable(entries):
        out = []
        for entry in entries:
            mask = mask_utils.decode(entry["segmentation"]).astype(bool)
            if entry["score"] >= min_score and mask.any():
                box = candidate_box(mask)
                out.append({**entry, "mask": mask, "box": np.asarray(box)})
        return out

    figures = []
    for image in gt["images"][:count]:
        pixels = load_image(Path(images_dir) / image["file_name"])
        panels = [
            draw_overlay(
                pixels, drawable([e for e in entries if e["image_id"] == image["id"]]),
                gt["categories"],
            )
            for entries in (candidates, refined)
        ]  # fmt: skip
        path = Path(out_dir) / "figures" / f"system1_{image['id']}.png"
        titles = ["image", "region candidates", "refined (System 1)"]
        save_png(path, side_by_side([pixels, *panels], titles))
        figures.append(path.relative_to(out_dir))
    return figures


def system1_section(model_path, data, out_dir, epochs=REFINER_EPOCHS):
    """Train a refiner from `model_path` and return `(markdown section, rows)`; rows are
    `compare_refinement`'s with a `split` key, the refiner is written to
    `out_dir/system1/refiner.keras`."""
    from hckeras.cli.refine import format_rows
    from hckeras.io import write_json_atomic
    from hckeras.sds.refinement import compare_refinement, train_refiner

    folder = Path(out_dir) / "system1"
    started = time.perf_counter()
    trained = train_refiner(
        model_path,
        *_split(data, "train"),
        folder / "refiner.keras",
        val=_split(data, "val"),
        epochs=epochs,
        verbose=2,
    )
    train_seconds = time.perf_counter() - started
    rows, figures = [], []
    lines = [
        "## System 1: refining region candidates (paper Table 1)",
        "",
        f"A refiner fine-tuned from `{Path(model_path).parent.name}` ({epochs} epochs on "
        f"{trained['report']['used']} training candidates x 2 flips, "
        f"{train_seconds:.0f} s; mask threshold {trained['threshold']} chosen on validation): "
        "its hypercolumns also hold each candidate's inside map and 10 x 10 coarse mask, "
        "with a 10 x 10 grid of classifiers. Every row ranks by the candidates' scores.",
    ]
    for split in ("val", "test"):
        split_rows, refined, report = compare_refinement(
            trained["path"], *_split(data, split), mask_path=model_path
        )
        write_json_atomic(folder / f"table_{split}.json", {"rows": split_rows, "counts": report})
        rows += [{**row, "split": split} for row in split_rows]
        lines += ["", f"{split} split ({report['candidates']} candidates):", ""]
        lines.append(format_rows(split_rows))
        if split == "val":
            figures = _overlays(out_dir, refined, data)
    lines += [""] + [f"![system 1]({f})" for f in figures]
    return "\n".join(lines), rows
