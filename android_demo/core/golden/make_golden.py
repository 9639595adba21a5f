"""Golden files for the Android core's JUnit tests, written by hckeras's own Python code.

    .venv/bin/python android_demo/core/golden/make_golden.py build/golden

Writes `golden.json` (the cases) and the arrays it names into the folder. An
array is `{"file": NAME, "dtype": "float32" | "float64" | "int32" | "uint8",
"shape": [...]}`: raw little-endian values, row-major. Boxes are xyxy lists of
JSON numbers (shortest round-trip reprs, so Java reads the same doubles).

Cases: box expansion (`hckeras.boxes`), crops (`resample.crop_and_resize`),
pasted heatmaps (`resample.paste_heatmap`), masks (`inference.paste.paste_mask`),
keypoints and part labels (`inference.decode`), whole detections through
`inference.predictor.Predictor` with a stand-in model, and metadata JSON /
`.tflite` files (`export.metadata`).
"""

import argparse
import json
from pathlib import Path

import flatbuffers
import numpy as np

from hckeras.boxes import expand_box
from hckeras.export.metadata import (
    FORMAT_VERSION,
    METADATA_NAME,
    TFLITE_IDENTIFIER,
    build_metadata,
    read_metadata,
)
from hckeras.inference.decode import decode_keypoints, part_foreground, part_labels
from hckeras.inference.mask_quality import expected_iou
from hckeras.inference.paste import full_image, paste_mask
from hckeras.inference.predictor import Predictor
from hckeras.model_spec import ModelSpec
from hckeras.resample import crop_and_resize, paste_heatmap
from hckeras.tasks import MapLayout

CATEGORIES = [
    {
        "id": 1,
        "name": "person",
        "parts": ["head", "torso", "legs"],
        "keypoints": ["nose", "left_hand", "right_hand"],
    },
    {"id": 3, "name": "bird", "parts": ["body", "wing"], "keypoints": ["beak"]},
]


_OFFSET_PLACEHOLDER = 0x5A5A5A5A5A5A5A5A


class Writer:
    """Writes arrays as raw little-endian files and returns their JSON references."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.count = 0

    def array(self, values, dtype):
        values = np.ascontiguousarray(np.asarray(values).astype(np.dtype(dtype).newbyteorder("<")))
        name = f"array_{self.count:03d}.bin"
        self.count += 1
        (self.folder / name).write_bytes(values.tobytes())
        return {"file": name, "dtype": dtype, "shape": list(values.shape)}

    def text(self, name, text):
        (self.folder / name).write_text(text, encoding="utf-8")
        return name

    def binary(self, name, data):
        (self.folder / name).write_bytes(data)
        return name


def boxes_cases():
    return [
        {"box": box, "padding": padding, "expected": expand_box(box, padding).tolist()}
        for box, padding in [
            ([10, 20, 30, 60], 0.1),
            ([-4.5, 3.25, 1.5, 3.5], 0.25),
            ([0.3, 0.7, 3.3, 9.1], 0.0),
        ]
    ]


def crop_cases(writer, rng):
    image_f = rng.uniform(0, 255, size=(13, 17, 3)).astype(np.float32)
    image_u8 = rng.integers(0, 256, size=(11, 9, 3), dtype=np.uint8)
    image_big = rng.uniform(0, 255, size=(40, 50, 3)).astype(np.float32)
    image_gray = rng.uniform(0, 1, size=(7, 8)).astype(np.float32)
    images = {
        "float": (image_f, writer.array(image_f, "float32")),
        "uint8": (image_u8, writer.array(image_u8, "uint8")),
        "big": (image_big, writer.array(image_big, "float32")),
        "gray": (image_gray[..., None], writer.array(image_gray[..., None], "float32")),
    }
    specs = [
        ("inside", "float", [2.3, 1.7, 14.6, 11.2], (7, 9), 0.0),
        ("partly_outside", "float", [-4.5, -3.2, 8.1, 20.0], (8, 8), 0.0),
        ("partly_outside_fill", "float", [10.5, -2.0, 21.0, 6.0], (5, 7), 114.0),
        ("three_px_wide", "float", [5.0, 2.0, 8.0, 12.0], (6, 6), 0.0),
        (
            "three_px_wide_expanded",
            "float",
            expand_box([5.0, 2.0, 8.0, 12.0]).tolist(),
            (16, 16),
            0.0,
        ),
        ("sub_pixel", "float", [4.2, 4.2, 4.7, 4.9], (5, 5), 0.0),
        ("outside", "float", [20.0, 20.0, 30.0, 30.0], (4, 4), 127.5),
        ("uint8", "uint8", [-1.0, 0.5, 7.5, 12.0], (10, 6), 0.0),
        ("downsample", "big", [3.1, 2.9, 47.7, 38.2], (16, 16), 0.0),
        ("upsample", "big", [10.0, 10.0, 14.0, 13.0], (24, 24), 0.0),
        ("one_channel", "gray", [0.5, -0.5, 9.0, 6.25], (5, 5), 0.0),
    ]
    cases = []
    for name, image_key, box, size, fill in specs:
        image, ref = images[image_key]
        expected = crop_and_resize(image, box, size, fill=fill)
        cases.append(
            {
                "name": name,
                "image": ref,
                "box": [float(v) for v in box],
                "size": list(size),
                "fill": fill,
                "expected": writer.array(expected, "float32"),
            }
        )
    return cases


def paste_cases(writer, rng):
    specs = [
        ("inside", (8, 8, 1), [3.2, 2.6, 15.9, 11.1], (14, 18)),
        ("three_channels", (8, 8, 3), [1.0, 1.5, 12.0, 9.0], (12, 14)),
        ("partly_outside", (8, 8, 2), [-6.3, 4.4, 9.8, 25.0], (16, 12)),
        ("three_px_wide", (10, 10, 1), [4.0, 1.0, 7.0, 15.0], (16, 12)),
        ("sub_pixel", (5, 5, 1), [4.1, 4.1, 4.4, 4.45], (9, 9)),
        ("larger_than_image", (6, 6, 1), [-5.0, -5.0, 20.0, 18.0], (10, 11)),
        ("outside", (4, 4, 1), [30.0, 2.0, 40.0, 8.0], (10, 10)),
        ("non_square_grid", (3, 7, 2), [0.6, 1.4, 9.6, 7.3], (9, 11)),
    ]
    cases = []
    for name, shape, box, image_size in specs:
        heatmap = rng.uniform(0, 1, size=shape).astype(np.float32)
        expected = paste_heatmap(heatmap, box, image_size)
        cases.append(
            {
                "name": name,
                "heatmap": writer.array(heatmap, "float32"),
                "box": box,
                "image_size": list(image_size),
                "expected": writer.array(expected, "float32"),
            }
        )
    return cases


def mask_cases(writer, rng):
    cases = []
    for name, box, image_size in [
        ("inside", [2.5, 3.5, 17.0, 14.0], (18, 20)),
        ("partly_outside", [-3.0, 6.0, 12.0, 30.0], (20, 10)),
        ("three_px_wide", [8.0, 2.0, 11.0, 16.0], (18, 20)),
    ]:
        heatmap = rng.uniform(0, 1, size=(10, 10)).astype(np.float32)
        heatmap[2:5, 3:7] = 0.5
        probability, expected = paste_mask(heatmap, box, image_size, threshold=0.5)
        cases.append(
            {
                "name": name,
                "heatmap": writer.array(heatmap[..., None], "float32"),
                "box": box,
                "image_size": list(image_size),
                "threshold": 0.5,
                "expected": writer.array(expected, "uint8"),
                "expected_iou": expected_iou(probability, expected),
            }
        )
    return cases


def keypoint_cases(writer, rng):
    random = rng.uniform(0, 1, size=(6, 6, 4)).astype(np.float32)
    ties = np.zeros((5, 7, 3), dtype=np.float32)
    ties[1, 2, 1] = ties[3, 0, 1] = 0.75
    ties[4, 6, 2] = ties[4, 5, 2] = 0.25
    cases = []
    for name, heatmaps, box, score in [
        ("random", random, [3.5, -2.0, 40.25, 51.0], 0.0),
        ("high_score", random, [10.0, 10.0, 13.0, 30.0], 2.5),
        ("negative_score", random, [-20.0, 5.0, 60.0, 7.5], -1.3),
        ("ties", ties, [0.0, 0.0, 14.0, 10.0], 0.7),
    ]:
        expected = decode_keypoints(heatmaps, box, score)
        cases.append(
            {
                "name": name,
                "heatmaps": writer.array(heatmaps, "float32"),
                "box": box,
                "score": score,
                "expected": writer.array(expected, "float64"),
            }
        )
    return cases


def part_cases(writer, rng):
    cases = []
    for name, box, image_size in [
        ("inside", [2.0, 1.5, 21.0, 18.5], (20, 24)),
        ("partly_outside", [-5.0, 10.0, 15.0, 40.0], (24, 16)),
        ("three_px_wide", [6.0, 0.5, 9.0, 19.0], (20, 24)),
    ]:
        logits = rng.normal(0, 2, size=(8, 8, 4))
        maps = (np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)).astype(np.float32)
        probabilities = paste_heatmap(maps, box, image_size)
        foreground = part_foreground(probabilities, 0.5)
        labels = part_labels(probabilities, foreground)
        cases.append(
            {
                "name": name,
                "maps": writer.array(maps, "float32"),
                "box": box,
                "image_size": list(image_size),
                "threshold": 0.5,
                "probabilities": writer.array(probabilities, "float32"),
                "foreground": writer.array(foreground, "uint8"),
                "labels": writer.array(labels, "int32"),
            }
        )
    return cases


def make_spec(task, input_size=(16, 16), output_size=8):
    layout = MapLayout.from_categories(CATEGORIES, task=task)
    return ModelSpec(
        task=task,
        layout=layout,
        backbone="tiny",
        taps={"block1": 1},
        grid_size=2,
        output_size=output_size,
        input_size=input_size,
    )


def predictor_cases(writer, rng):
    """Whole detections through `Predictor`, with a stand-in model (pooling + a random
    1x1 layer + sigmoid) whose inputs and outputs are recorded."""
    image = rng.integers(0, 256, size=(30, 40, 3), dtype=np.uint8)
    image_ref = writer.array(image, "uint8")
    detections = [
        {"bbox": [5.5, 4.0, 20.0, 18.0], "category_id": 1, "score": 1.2},
        {"bbox": [-6.0, 12.0, 16.0, 25.0], "category_id": 3, "score": -0.4},
        {"bbox": [30.0, 2.0, 3.0, 20.0], "category_id": 3, "score": 0.3},
    ]
    cases = []
    for task in ("segmentation", "parts", "keypoints"):
        spec = make_spec(task)
        weights = rng.normal(0, 1, size=(3, spec.layout.num_maps)).astype(np.float32)
        record = {}

        def model(crops, spec=spec, weights=weights, record=record):
            crops = np.asarray(crops, dtype=np.float32)
            batch, height, width, _ = crops.shape
            size = spec.output_size
            pooled = crops.reshape(batch, size, height // size, size, width // size, 3)
            pooled = pooled.mean(axis=(2, 4))
            out = 1 / (1 + np.exp(-((pooled - 128.0) / 40.0) @ weights))
            record["inputs"], record["outputs"] = crops, out.astype(np.float32)
            return record["outputs"]

        results = Predictor(model, spec, batch_size=8).predict(image, detections)
        assert len(results) == len(detections)
        metadata = build_metadata(spec, variant="golden")
        entries = []
        for i, (detection, result) in enumerate(zip(detections, results, strict=True)):
            x, y, w, h = detection["bbox"]
            entry = {
                "box": [x, y, x + w, y + h],
                "category_id": detection["category_id"],
                "score": detection["score"],
                "expanded_box": [float(v) for v in result["expanded_box"]],
                "input": writer.array(record["inputs"][i], "float32"),
                "output": writer.array(record["outputs"][i], "float32"),
            }
            if task == "segmentation":
                entry["mask"] = writer.array(full_image(result, "mask"), "uint8")
            elif task == "parts":
                entry["mask"] = writer.array(full_image(result, "mask"), "uint8")
                entry["labels"] = writer.array(full_image(result, "part_labels"), "int32")
                entry["map_names"] = result["part_names"]
            else:
                entry["keypoints"] = writer.array(result["keypoints"], "float64")
                entry["map_names"] = result["keypoint_names"]
            entries.append(entry)
        cases.append(
            {
                "task": task,
                "metadata": writer.text(f"metadata_{task}.json", json.dumps(metadata, indent=2)),
                "image": image_ref,
                "detections": entries,
            }
        )
    return cases


def minimal_tflite(entries, external=None):
    """A minimal `.tflite` flatbuffer: `Model {version: 3, subgraphs: [], description,
    buffers, metadata}` with the schema's field ids; `entries` is a list of
    `(name, payload bytes)`, each stored in its own buffer after an empty buffer 0.
    With `external`, that entry's buffer holds no data vector but an `offset`/`size`
    pointing after the flatbuffer, as converters do for large models."""
    builder = flatbuffers.Builder(1024)
    payloads = [None] + [payload for _, payload in entries]
    buffers = []
    for index, payload in enumerate(payloads):
        is_external = external is not None and index > 0 and entries[index - 1][0] == external
        vector = None
        if payload is not None and not is_external:
            vector = builder.CreateByteVector(payload)
        builder.StartObject(3)
        if vector is not None:
            builder.PrependUOffsetTRelativeSlot(0, vector, 0)
        if is_external:
            builder.PrependUint64Slot(1, _OFFSET_PLACEHOLDER, 0)
            builder.PrependUint64Slot(2, len(payload), 0)
        buffers.append(builder.EndObject())
    names = [builder.CreateString(name) for name, _ in entries]
    metadata = []
    for index, name in enumerate(names):
        builder.StartObject(2)
        builder.PrependUOffsetTRelativeSlot(0, name, 0)
        builder.PrependUint32Slot(1, index + 1, 0)
        metadata.append(builder.EndObject())
    buffer_vector = _table_vector(builder, buffers)
    metadata_vector = _table_vector(builder, metadata)
    subgraphs = _table_vector(builder, [])
    description = builder.CreateString("hckeras golden test model")
    builder.StartObject(8)
    builder.PrependUint32Slot(0, 3, 0)
    builder.PrependUOffsetTRelativeSlot(2, subgraphs, 0)
    builder.PrependUOffsetTRelativeSlot(3, description, 0)
    builder.PrependUOffsetTRelativeSlot(4, buffer_vector, 0)
    builder.PrependUOffsetTRelativeSlot(6, metadata_vector, 0)
    builder.Finish(builder.EndObject(), file_identifier=TFLITE_IDENTIFIER)
    data = bytearray(builder.Output())
    if external is not None:
        payload = dict(entries)[external]
        offset = len(data) + (-len(data) % 16)
        placeholder = _OFFSET_PLACEHOLDER.to_bytes(8, "little")
        position = bytes(data).find(placeholder)
        data[position : position + 8] = offset.to_bytes(8, "little")
        data += bytes(offset - len(data)) + payload
    return bytes(data)


def _table_vector(builder, tables):
    builder.StartVector(4, len(tables), 4)
    for table in reversed(tables):
        builder.PrependUOffsetTRelative(table)
    return builder.EndVector()


def metadata_cases(writer):
    spec = make_spec("segmentation", input_size=(24, 16), output_size=6)
    document = build_metadata(spec, variant="fp32", input_name="serving_default_crops:0")
    payload = json.dumps(document).encode("utf-8")
    other = [("min_runtime_version", b"1.5.0\x00\x00\x00")]
    newer = dict(document, format_version=FORMAT_VERSION + 1)
    files = {
        "json": writer.text("model.json", json.dumps(document, indent=2)),
        "json_unknown_version": writer.text("model_v2.json", json.dumps(newer)),
        "json_unknown_format": writer.text(
            "model_other_format.json", json.dumps(dict(document, format="something-else"))
        ),
        "tflite": writer.binary("model.tflite", _embedded(other, document)),
        "tflite_external_buffer": writer.binary(
            "model_external.tflite",
            minimal_tflite(other + [(METADATA_NAME, payload)], external=METADATA_NAME),
        ),
        "tflite_unknown_version": writer.binary(
            "model_v2.tflite", minimal_tflite(other + [(METADATA_NAME, json.dumps(newer).encode())])
        ),
        "tflite_without_metadata": writer.binary("model_plain.tflite", minimal_tflite(other)),
        "tflite_not_json": writer.binary(
            "model_not_json.tflite", minimal_tflite([(METADATA_NAME, b"\xff\xfe not json")])
        ),
    }
    for key in ("tflite", "tflite_external_buffer"):
        assert read_metadata(writer.folder / files[key]) == document, key
    return {
        "files": files,
        "expected": {
            "task": spec.task,
            "input_size": list(spec.input_size),
            "output_size": spec.output_size,
            "num_maps": spec.layout.num_maps,
            "grid_size": spec.grid_size,
            "context_padding": spec.context_padding,
            "mask_threshold": spec.thresholds["mask"],
            "category_ids": list(spec.layout.category_ids),
            "category_names": list(spec.layout.category_names),
            "map_names": list(spec.layout.names),
        },
    }


def _embedded(other, document):
    """The production path (`embed_metadata`, TensorFlow's schema) when TensorFlow is
    installed; otherwise the same layout written by `minimal_tflite`."""
    base = minimal_tflite(other)
    try:
        from hckeras.export.metadata import embed_metadata

        return embed_metadata(base, document)
    except ImportError:
        return minimal_tflite(other + [(METADATA_NAME, json.dumps(document).encode())])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="output folder (created)")
    args = parser.parse_args()
    writer = Writer(args.folder)
    rng = np.random.default_rng(20240611)
    golden = {
        "expand": boxes_cases(),
        "crop": crop_cases(writer, rng),
        "paste": paste_cases(writer, rng),
        "mask": mask_cases(writer, rng),
        "keypoints": keypoint_cases(writer, rng),
        "parts": part_cases(writer, rng),
        "predictor": predictor_cases(writer, rng),
        "metadata": metadata_cases(writer),
    }
    writer.text("golden.json", json.dumps(golden, indent=1))
    print(f"wrote {writer.count} arrays and golden.json to {writer.folder}")


if __name__ == "__main__":
    main()
