"""Export every variant of a saved model and measure it: the `hckeras export` table.

Per variant (after Ultralytics' export benchmark): whether it exported, whether
the GPU preflight passed, whether it validated against the Keras model (parity
floors), its size, its median CPU latency per crop at each thread count, the
ratio of that latency to fp32's, its graph profile on the LiteRT CPU runtime
(XNNPACK partitions, ops left outside them, QUANTIZE/DEQUANTIZE inside the
graph, float ops in an int8 graph: `hckeras.export.profile`), and
(segmentation) the mask IoU with the ground truth. The bare backbone is
exported and timed the same way, so the head's overhead is `hypercolumn fp32
latency / backbone fp32 latency`.
"""

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

DEFAULT_FLOORS = {
    "fp32": {"max_abs_diff": 1e-4},
    "fp16": {"max_abs_diff": 5e-3},
    "dynamic": {"min_iou": 0.95, "min_argmax": 0.95},
    "int8": {"min_iou": 0.95, "min_argmax": 0.95},
    "qat": {"min_iou": 0.95, "min_argmax": 0.95},
}


@dataclass
class Row:
    """One line of the table."""

    variant: str
    exported: bool = False
    gpu_compatible: bool | None = None
    validated: bool | None = None
    size_mb: float | None = None
    latency_ms: dict = field(default_factory=dict)
    ratio_to_fp32: float | None = None
    parity: dict = field(default_factory=dict)
    gt_mask_iou: float | None = None
    accuracy: dict = field(default_factory=dict)
    error: str | None = None
    path: str | None = None
    profile: dict = field(default_factory=dict)
    graph_problems: list = field(default_factory=list)


def time_tflite(path_or_bytes, num_threads, runs=20, warmup=3):
    """Median milliseconds of one `invoke` on a zero input (static batch 1)."""
    from ai_edge_litert.interpreter import Interpreter

    if isinstance(path_or_bytes, bytes):
        interpreter = Interpreter(model_content=path_or_bytes, num_threads=num_threads)
    else:
        interpreter = Interpreter(model_path=str(path_or_bytes), num_threads=num_threads)
    interpreter.allocate_tensors()
    detail = interpreter.get_input_details()[0]
    interpreter.set_tensor(detail["index"], np.zeros(detail["shape"], detail["dtype"]))
    for _ in range(warmup):
        interpreter.invoke()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        interpreter.invoke()
        times.append(time.perf_counter() - start)
    return 1000.0 * float(np.median(times))


def ground_truth_iou(probabilities, targets, threshold=0.5):
    """Mean IoU of `probabilities >= threshold` with the labelled `targets > 0.5`
    (`targets` in {1, 0, -1}; -1 ignored), over maps with any labelled pixel."""
    labelled = targets >= 0
    predicted = (probabilities >= threshold) & labelled
    truth = (targets > 0.5) & labelled
    intersection = (predicted & truth).sum(axis=(1, 2))
    union = (predicted | truth).sum(axis=(1, 2))
    keep = labelled.any(axis=(1, 2)) & (union > 0)
    return float((intersection[keep] / union[keep]).mean()) if keep.any() else None


def backbone_model(model, spec):
    """The backbone inside a hypercolumn `model`: a `keras.Model` from its crops to the
    features its tap classifiers read (the inputs of the `{tap}_score` convolutions of
    `spec.taps`), so it has the model's own backbone options and weights.

    Raises:
        ValueError: naming the model and the tap when a score layer is missing (the
            explicit head has none).
    """
    import keras

    features = []
    for tap in spec.taps:
        try:
            features.append(model.get_layer(f"{tap}_score").input)
        except ValueError:
            raise ValueError(
                f"model {model.name!r} has no layer {tap}_score for tap {tap!r}: the bare "
                "backbone is taken from the efficient head's score convolutions"
            ) from None
    image = model.inputs[0]
    return keras.Model(image, features, name="backbone")


def export_backbone(model, spec, out_path):
    """The bare backbone of a hypercolumn `model` (`backbone_model`) as fp32 `.tflite`
    bytes with a static batch of 1, written to `out_path`."""
    import keras

    from hckeras.export.convert import convert_keras
    from hckeras.export.quantization import QuantizationConfig
    from hckeras.io import write_bytes_atomic

    backbone = backbone_model(model, spec)
    inputs = keras.Input((*spec.input_size, 3), batch_size=1, name="image")
    static = keras.Model(inputs, backbone(inputs))
    data = convert_keras(static, QuantizationConfig.for_float32())
    write_bytes_atomic(out_path, data)
    return data


def run_export_benchmark(
    model_path,
    variants,
    out_dir,
    eval_crops=None,
    eval_targets=None,
    calibration_crops=None,
    train_data=None,
    qat_config=None,
    threads=(1, 2),
    runs=20,
    floors=None,
    backbone=True,
    accuracy_fn=None,
    max_accuracy_drop=None,
    per_category=False,
    head="auto",
    log=print,
):
    """Export and measure `variants` of a saved `.keras` model into `out_dir`.

    Args:
        model_path: `.keras` file with its `ModelSpec` sidecar.
        variants: names from `hckeras.export.VARIANTS`.
        out_dir: folder for `model_<variant>.tflite` (+ `.json`).
        eval_crops: float32 `(N, H, W, 3)` crops for parity (default: 16 random crops).
        eval_targets: their `(N, S, S, C)` targets for the ground-truth IoU column.
        calibration_crops: int8 calibration crops.
        train_data: QAT training batches.
        qat_config: `QATConfig`.
        threads: CPU thread counts to time.
        runs: timed invocations per measurement (median reported).
        floors: variant -> {"max_abs_diff", "min_iou", "min_argmax"} (default
            `DEFAULT_FLOORS`).
        backbone: also export and time the bare backbone (row "backbone").
        accuracy_fn: optional `model path -> {metric column: value}` on a
            validation set (`task_accuracy`); adds a "keras" reference row and an
            accuracy column.
        max_accuracy_drop: with `accuracy_fn`, a variant whose value drops by
            more than this (a fraction, 0.01 = 1 point) below the Keras model's
            on any column does not validate.
        per_category: also export each variant once per category
            (`model_<variant>_cat<id>.tflite`, category-conditional: only that
            category's maps) and add a "<variant> per category" row measuring
            the first category's model.
        head: the head form of every variant ("auto", "streams", "dense";
            `hckeras.export.grid_stream_model.export_graph`).

    Returns:
        list of `Row`.
    """
    from hckeras.export.convert import export_tflite, load_keras_model
    from hckeras.export.litert_runner import LiteRTRunner
    from hckeras.export.parity import check_parity, compare_outputs
    from hckeras.models import probability_model

    out_dir = Path(out_dir)
    model, spec = load_keras_model(model_path)
    if spec is None:
        raise ValueError(f"{model_path} has no spec sidecar; export needs it")
    floors = {**DEFAULT_FLOORS, **(floors or {})}
    if eval_crops is None:
        rng = np.random.default_rng(0)
        eval_crops = rng.uniform(0, 255, (16, *spec.input_size, 3)).astype(np.float32)
    reference_model = probability_model(model) if len(model.outputs[0].shape) == 5 else model
    reference = reference_model.predict(eval_crops, verbose=0, batch_size=8)
    keypoint_maps = None
    if spec.task == "keypoints" and eval_targets is not None:
        keypoint_maps = (np.asarray(eval_targets) > 0.5).any(axis=(1, 2))
    rows = []
    if accuracy_fn is not None:
        rows.append(Row("keras", exported=True, path=str(model_path)))
        rows[0].accuracy = accuracy_fn(model_path)

    def export(variant, path, category_id=None):
        if variant == "qat":
            from hckeras.export.qat import export_qat

            if train_data is None:
                raise ValueError("the qat variant needs training data (--data)")
            return export_qat(
                model_path,
                path,
                train_data,
                config=qat_config,
                category_id=category_id,
                head=head,
            )
        return export_tflite(
            model_path,
            variant,
            path,
            representative_data=calibration_crops,
            category_id=category_id,
            head=head,
        )

    for variant in variants:
        row = Row(variant)
        rows.append(row)
        path = out_dir / f"model_{variant}.tflite"
        log(f"exporting {variant} -> {path}")
        try:
            document = export(variant, path)
        except (ValueError, RuntimeError) as error:
            row.error = str(error)
            log(f"  {variant} failed: {error}")
            continue
        row.exported, row.path = True, str(path)
        row.gpu_compatible = bool(document.get("gpu_compatible"))
        row.size_mb = path.stat().st_size / 1e6
        runner = LiteRTRunner(path)
        probabilities = runner(eval_crops)
        row.parity = compare_outputs(probabilities, reference, keypoint_maps=keypoint_maps)
        variant_floors = dict(floors.get(variant, {}))
        if spec.task != "keypoints":
            variant_floors.pop("min_argmax", None)  # arbitrary on mask plateaus
        row.validated = not check_parity(row.parity, **variant_floors)
        if accuracy_fn is not None:
            row.accuracy = accuracy_fn(path)
            if max_accuracy_drop is not None:
                drops = [rows[0].accuracy[k] - v for k, v in row.accuracy.items()]
                row.validated = row.validated and max(drops) <= max_accuracy_drop
        if eval_targets is not None and spec.task == "segmentation":
            row.gt_mask_iou = ground_truth_iou(probabilities, eval_targets)
        _profile(row, path)
        row.latency_ms = {t: time_tflite(path, t, runs) for t in threads}
        if per_category:
            rows.append(
                _category_row(
                    export, variant, out_dir, spec, eval_crops, reference, variant_floors,
                    threads, runs, log,
                )
            )  # fmt: skip
    if backbone:
        row = Row("backbone")
        rows.append(row)
        path = out_dir / "backbone_fp32.tflite"
        try:
            export_backbone(model, spec, path)
            row.exported, row.path = True, str(path)
            row.size_mb = path.stat().st_size / 1e6
            _profile(row, path)
            row.latency_ms = {t: time_tflite(path, t, runs) for t in threads}
        except (ValueError, RuntimeError) as error:
            row.error = str(error)
    base = next((r for r in rows if r.variant == "fp32" and r.latency_ms), None)
    for row in rows:
        if base and row.latency_ms:
            first = min(threads)
            row.ratio_to_fp32 = row.latency_ms[first] / base.latency_ms[first]
    return rows


def _category_row(export, variant, out_dir, spec, crops, reference, floors, threads, runs, log):
    """Export `variant` once per category (`model_<variant>_cat<id>.tflite`); the row
    measures the first category's model (all have the same graph) against the
    reference's channels of that category. Any category that fails to export
    makes the row fail."""
    from hckeras.export.litert_runner import LiteRTRunner
    from hckeras.export.parity import check_parity, compare_outputs

    first = spec.layout.category_ids[0]
    row = Row(f"{variant} per category")
    paths = {}
    for category_id in spec.layout.category_ids:
        path = out_dir / f"model_{variant}_cat{category_id}.tflite"
        log(f"exporting {variant} for category {category_id} -> {path}")
        try:
            document = export(variant, path, category_id)
        except (ValueError, RuntimeError) as error:
            row.error = f"category {category_id}: {error}"
            log(f"  {variant} category {category_id} failed: {error}")
            return row
        paths[category_id] = path
        if category_id == first:
            row.gpu_compatible = bool(document.get("gpu_compatible"))
    path = paths[first]
    row.exported, row.path = True, str(path)
    row.size_mb = path.stat().st_size / 1e6
    maps = spec.layout.maps_of(first)
    row.parity = compare_outputs(LiteRTRunner(path)(crops), reference[..., maps])
    row.validated = not check_parity(row.parity, **floors)
    _profile(row, path)
    row.latency_ms = {t: time_tflite(path, t, runs) for t in threads}
    return row


def _profile(row, path):
    from hckeras.export.profile import graph_problems, profile_tflite

    profile = profile_tflite(path)
    row.profile = profile.describe()
    row.graph_problems = graph_problems(profile)


def format_table(rows, threads=(1, 2)):
    """Markdown table of `rows`."""

    def cell(value, fmt="{:.3g}"):
        if value is None:
            return "-"
        if isinstance(value, bool):
            return "yes" if value else "NO"
        return fmt.format(value)

    header = ["variant", "exported", "GPU rule check", "validated", "size MB"]
    header += [f"ms/crop {t} thr" for t in threads]
    header += ["ratio to fp32", "ops", "XNNPACK partitions", "ops outside XNNPACK"]
    header += ["max abs diff", "IoU vs fp32-keras", "argmax ±1", "GT mask IoU"]
    columns = next((list(r.accuracy) for r in rows if r.accuracy), [])
    header += columns
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        values = [
            row.variant,
            cell(row.exported),
            cell(row.gpu_compatible),
            cell(row.validated),
            cell(row.size_mb, "{:.2f}"),
            *[cell(row.latency_ms.get(t), "{:.2f}") for t in threads],
            cell(row.ratio_to_fp32, "{:.2f}"),
            cell(row.profile.get("ops"), "{}"),
            cell(row.profile.get("partitions"), "{}"),
            _outside(row.profile),
            cell(row.parity.get("max_abs_diff"), "{:.1e}"),
            cell(row.parity.get("mean_mask_iou"), "{:.4f}"),
            cell(row.parity.get("argmax_within_one_cell"), "{:.3f}"),
            cell(row.gt_mask_iou, "{:.4f}"),
            *[cell(row.accuracy.get(c), "{:.4f}") for c in columns],
        ]
        lines.append("| " + " | ".join(values) + " |")
    return "\n".join(lines)


def _outside(profile):
    if not profile:
        return "-"
    counts = {}
    for op in profile["outside"]:
        counts[op] = counts.get(op, 0) + 1
    return ", ".join(f"{n} {op}" for op, n in counts.items()) or "0"


def task_accuracy(gt, images_dir, detections, num_threads=None, scoring="box"):
    """`model path -> {column: mean}`: predict the validation set from `detections`
    with the model (.keras or .tflite) and score it with the task's metric
    (APr for masks, APK for keypoints, APr-part for parts); `scoring` ranks the
    results (`Predictor`'s)."""
    from hckeras.inference.dataset import predict_dataset
    from hckeras.inference.predictor import load_predictor
    from hckeras.metrics.evaluate import TASK_METRICS, evaluate_results

    def accuracy(model_path):
        kwargs = {"num_threads": num_threads} if str(model_path).endswith(".tflite") else {}
        predictor = load_predictor(model_path, scoring=scoring, **kwargs)
        results = predict_dataset(predictor, gt, images_dir, detections)
        report = evaluate_results(gt, results, metric=TASK_METRICS[predictor.spec.task][0])
        return {
            f"{report['metric']} {column}": value
            for column, value in zip(report["columns"], report["mean"], strict=True)
        }

    return accuracy
