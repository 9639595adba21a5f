"""The JSON metadata document embedded in every exported `.tflite` file.

The document is UTF-8 JSON in one buffer of the flatbuffer, referenced from the
`Model.metadata` list under the name `METADATA_NAME` (docs/export.md has the byte
layout). `read_metadata` parses the flatbuffer with the standard library only,
the same vtable walk the Android app does; `embed_metadata` writes it with
TensorFlow's flatbuffer object API.

    meta = read_metadata("out/model_fp16.tflite")
    meta["variant"], meta["input_size"], meta["layout"]["category_ids"]
"""

import json
import struct
from pathlib import Path

METADATA_NAME = "hckeras_metadata"
FORMAT = "hckeras-tflite-metadata"
FORMAT_VERSION = 1
SUPPORTED_FORMAT_VERSIONS = (1,)
TFLITE_IDENTIFIER = b"TFL3"

# Field indices in tflite's schema.fbs.
_MODEL_BUFFERS, _MODEL_METADATA = 4, 6
_METADATA_NAME, _METADATA_BUFFER = 0, 1
_BUFFER_DATA, _BUFFER_OFFSET, _BUFFER_SIZE = 0, 1, 2

CONTEXT_PADDING_RULE = (
    "crop box = [x0 - p*w, y0 - p*h, x1 + p*w, y1 + p*h] for a detection box "
    "[x0, y0, x1, y1] with w = x1 - x0, h = y1 - y0 and p = context_padding; the crop "
    "is resized (bilinear) to input_size, pixels outside the image are input_format.fill"
)


def build_metadata(spec, variant, quantization=None, input_name=None, extra=None, category_id=None):
    """The metadata document of one exported variant.

    Args:
        spec: the model's `hckeras.model_spec.ModelSpec`.
        variant: export variant name.
        quantization: `QuantizationConfig.describe()` output.
        input_name: the interpreter's input tensor name.
        extra: more keys (e.g. parity figures).
        category_id: for a category-conditional model
            (`hckeras.export.category_model`), the one category whose maps it
            outputs; the document then has a `category_conditional` entry and
            the output shape of those maps. `layout` stays the full layout.
    """
    config = spec.to_config()
    height, width = spec.input_size
    size = spec.output_size
    from hckeras import __version__

    maps = list(spec.layout.names)
    conditional = None
    if category_id is not None:
        channels = spec.layout.maps_of(category_id)
        maps = maps[channels]
        conditional = {
            "category_id": category_id,
            "category_name": spec.layout.category_names[
                spec.layout.category_ids.index(category_id)
            ],
            "map_names": maps,
            "layout_channels": [channels.start, channels.stop],
        }

    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "hckeras_version": __version__,
        "variant": variant,
        "model_spec_format_version": config.pop("format_version"),
        **config,
        "map_names": list(spec.layout.names),
        "num_maps": spec.layout.num_maps,
        "context_padding_rule": CONTEXT_PADDING_RULE,
        "input": {
            "name": input_name,
            "shape": [1, height, width, 3],
            "dtype": "float32",
            "layout": "NHWC",
        },
        "output": {
            "shape": [1, size, size, len(maps)],
            "dtype": "float32",
            "meaning": (
                "per-pixel probabilities in [0, 1]; channel c is map_names[c]"
                if conditional is None
                else "per-pixel probabilities in [0, 1] of category_conditional.category_id "
                "only; channel c is category_conditional.map_names[c]"
            ),
        },
        "quantization": quantization or {"variant": variant},
    }
    if conditional is not None:
        document["category_conditional"] = conditional
    document.update(extra or {})
    return document


def conditional_category(document, where="metadata"):
    """The category id of a category-conditional model's metadata (None for a model
    with every category's maps); `ValueError` naming `where` when the entry lacks
    the category or its maps, or names a category the layout does not have."""
    entry = document.get("category_conditional")
    if entry is None:
        return None
    if not isinstance(entry, dict) or "category_id" not in entry or "map_names" not in entry:
        raise ValueError(
            f"{where}: category_conditional metadata must give category_id and map_names, "
            f"got {entry!r}; re-export the model with `hckeras export --per-category`"
        )
    ids = document.get("layout", {}).get("category_ids")
    if ids is None:
        raise ValueError(
            f"{where}: category-conditional metadata without the layout's category list"
        )
    if entry["category_id"] not in ids:
        raise ValueError(
            f"{where}: category-conditional model for category {entry['category_id']}, "
            f"which is not in its layout's categories {ids}"
        )
    return entry["category_id"]


def spec_from_metadata(document, where="metadata"):
    """The `ModelSpec` stored in a metadata document."""
    from hckeras.model_spec import ModelSpec

    check_document(document, where)
    fields = (
        "task layout backbone taps grid_size output_size input_size input_format "
        "context_padding thresholds"
    ).split()
    config = {name: document[name] for name in fields if name in document}
    config["format_version"] = document.get("model_spec_format_version")
    return ModelSpec.from_config(config, where=where)


def check_document(document, where="metadata"):
    """`ValueError` unless `document` is hckeras metadata of a known version."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError(f"{where}: not an hckeras metadata document (format != {FORMAT!r})")
    version = document.get("format_version")
    if version not in SUPPORTED_FORMAT_VERSIONS:
        raise ValueError(
            f"{where}: hckeras metadata format_version {version!r} is not understood; "
            f"this hckeras reads versions {list(SUPPORTED_FORMAT_VERSIONS)} (upgrade hckeras "
            "or re-export the model)"
        )
    return document


def embed_metadata(tflite_bytes, document):
    """`tflite_bytes` with `document` stored under `METADATA_NAME` (replacing an
    earlier one). Needs TensorFlow's flatbuffer schema and `flatbuffers`."""
    import flatbuffers
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(bytearray(tflite_bytes), 0))
    payload = json.dumps(document, indent=None, sort_keys=False).encode("utf-8")
    buffer = schema.BufferT()
    import numpy as np

    buffer.data = np.frombuffer(payload, dtype=np.uint8)
    model.buffers = list(model.buffers or []) + [buffer]
    entries = [m for m in (model.metadata or []) if _name(m.name) != METADATA_NAME]
    entry = schema.MetadataT()
    entry.name = METADATA_NAME
    entry.buffer = len(model.buffers) - 1
    model.metadata = entries + [entry]
    builder = flatbuffers.Builder(len(tflite_bytes) + len(payload) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=TFLITE_IDENTIFIER)
    return bytes(builder.Output())


def _name(value):
    return value.decode("utf-8") if isinstance(value, bytes) else value


def read_metadata(path_or_bytes):
    """The hckeras metadata document of a `.tflite` file (path or bytes).

    Standard library only. Raises `ValueError` naming the file when it is not a
    LiteRT flatbuffer, has no hckeras metadata, or has an unknown format version.
    """
    if isinstance(path_or_bytes, bytes | bytearray | memoryview):
        data, where = bytes(path_or_bytes), "<bytes>"
    else:
        where = str(path_or_bytes)
        path = Path(path_or_bytes)
        if not path.is_file():
            raise FileNotFoundError(f"model file {path} does not exist")
        data = path.read_bytes()
    raw = find_metadata_buffer(data, METADATA_NAME, where)
    if raw is None:
        raise ValueError(
            f"{where}: LiteRT model without {METADATA_NAME!r} metadata; export it with "
            "`hckeras export` (hckeras.export.export_tflite)"
        )
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{where}: {METADATA_NAME!r} is not UTF-8 JSON ({error})") from error
    return check_document(document, where)


def find_metadata_buffer(data, name, where="<bytes>"):
    """Bytes of the buffer that `Model.metadata` names `name`, or None.

    The walk: root uoffset -> Model table -> vtable field 6 (`metadata`, a vector
    of tables {name: string, buffer: uint32}) -> index into field 4 (`buffers`, a
    vector of tables {data: [ubyte], offset: uint64, size: uint64}).
    """
    reader = _Reader(data, where)
    if len(data) < 8 or data[4:8] != TFLITE_IDENTIFIER:
        raise ValueError(f"{where}: not a LiteRT (.tflite) flatbuffer (no 'TFL3' identifier)")
    model = reader.uoffset(0)
    metadata = reader.table_vector(model, _MODEL_METADATA)
    buffers = reader.table_vector(model, _MODEL_BUFFERS)
    for entry in metadata:
        if reader.string(entry, _METADATA_NAME) != name:
            continue
        index = reader.scalar(entry, _METADATA_BUFFER, "<I", 0)
        if index >= len(buffers):
            raise ValueError(f"{where}: metadata {name!r} points at missing buffer {index}")
        buffer = buffers[index]
        vector = reader.field(buffer, _BUFFER_DATA)
        if vector is not None:
            start = reader.uoffset(vector)
            length = reader.u32(start)
            return reader.slice(start + 4, length)
        offset = reader.scalar(buffer, _BUFFER_OFFSET, "<Q", 0)
        size = reader.scalar(buffer, _BUFFER_SIZE, "<Q", 0)
        return reader.slice(offset, size) if offset > 1 else b""
    return None


class _Reader:
    """Bounds-checked little-endian flatbuffer reads."""

    def __init__(self, data, where):
        self.data, self.where = data, where

    def _unpack(self, fmt, position):
        size = struct.calcsize(fmt)
        if position < 0 or position + size > len(self.data):
            raise ValueError(f"{self.where}: corrupt LiteRT flatbuffer (read past the end)")
        return struct.unpack_from(fmt, self.data, position)[0]

    def u32(self, position):
        return self._unpack("<I", position)

    def uoffset(self, position):
        """Follow the uint32 offset stored at `position` (relative to it)."""
        return position + self.u32(position)

    def field(self, table, index):
        """Absolute position of field `index` of `table`, or None when absent."""
        vtable = table - self._unpack("<i", table)
        vtable_size = self._unpack("<H", vtable)
        slot = 4 + 2 * index
        if slot >= vtable_size:
            return None
        offset = self._unpack("<H", vtable + slot)
        return table + offset if offset else None

    def scalar(self, table, index, fmt, default):
        position = self.field(table, index)
        return default if position is None else self._unpack(fmt, position)

    def table_vector(self, table, index):
        position = self.field(table, index)
        if position is None:
            return []
        start = self.uoffset(position)
        return [self.uoffset(start + 4 + 4 * i) for i in range(self.u32(start))]

    def string(self, table, index):
        position = self.field(table, index)
        if position is None:
            return None
        start = self.uoffset(position)
        return self.slice(start + 4, self.u32(start)).decode("utf-8", errors="replace")

    def slice(self, start, length):
        if start < 0 or start + length > len(self.data):
            raise ValueError(f"{self.where}: corrupt LiteRT flatbuffer (buffer past the end)")
        return self.data[start : start + length]
