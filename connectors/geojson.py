"""GeoJSON files (a GIS department's layer exports) as Arrow batches: properties as text, geometry as WKB.

A table is one file of the source's directory (``options.file``, default ``<table>.geojson``), a
FeatureCollection of any size. Each extraction lands the whole file (a full snapshot), unless its
sha256 is the one in the state from the last run: then nothing is landed (an empty extraction).

Columns: ``feature_index`` (position in the ``features`` array), ``feature_id`` (the Feature's
``id``), one string column per property key found anywhere in the file (missing -> null; numbers
keep their literal text; nested values are JSON), then ``geometry`` (ISO WKB), ``geometry_type``
and ``geometry_valid``. Invalid geometry (a self-intersecting ring...) is landed and flagged, for dbt
to quarantine; a feature that cannot be read at all becomes a ``Rejection`` with its index and rule.

Reading never loads the whole document: the file is decoded in 8 MB chunks and
``json.JSONDecoder.raw_decode`` takes one feature object at a time from the ``features`` array (numbers
kept as text), so
memory holds one chunk plus one batch. Any standard layout works (one line, pretty-printed, one
feature per line). Limits: the ``features`` key is found by a textual search of the document head
(a ``"features": [`` inside an earlier member would mislead it); after a JSON syntax error the reader
resynchronises at the next line only when the file so far has been one feature per line (as our
exports are) - otherwise the rest of the file is refused as one rejection. Because the union of
property keys is only known at the end, each batch is first spooled to a temporary Arrow IPC file
and conformed to the final schema while the landing zone consumes it.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc
import shapely

from connectors.base import Extraction, Rejection, file_sha256
from connectors.registry import TableSpec

DEFAULT_BATCH_SIZE = 50_000
READ_CHUNK = 8 << 20
_END_SLACK = 64  # a decoding error this close to the buffer's end may just be a feature cut by the chunk
_FEATURES_ARRAY = re.compile(r'"features"\s*:\s*\[')
_SEPARATOR = re.compile(r"[\s,]*")
_GEOMETRY_TYPES = (
    "Point",
    "LineString",
    "LinearRing",
    "Polygon",
    "MultiPoint",
    "MultiLineString",
    "MultiPolygon",
    "GeometryCollection",
)
RESERVED_COLUMNS = ("feature_index", "feature_id", "geometry", "geometry_type", "geometry_valid")


class _Literal(str):
    """A JSON number (or NaN/Infinity) kept as its source text, so '419.00' lands as '419.00'."""


_DECODER = json.JSONDecoder(parse_float=_Literal, parse_int=_Literal, parse_constant=_Literal)
# What the stream parses features with: numbers as their text too, but as plain ``str`` (a C call, not a Python
# class, per number: half the parsing time, mostly coordinates). Only a nested value needs numbers told from
# strings; such a feature is parsed again with ``_DECODER``.
_SCANNER = json.JSONDecoder(parse_float=str, parse_int=str, parse_constant=str)


def schema_for(properties: list[str]) -> pa.Schema:
    """The landed schema for a file whose property columns are ``properties``, in order."""
    return pa.schema(
        [
            pa.field("feature_index", pa.int64(), nullable=False),
            pa.field("feature_id", pa.string()),
            *(pa.field(name, pa.string()) for name in properties),
            pa.field("geometry", pa.binary()),
            pa.field("geometry_type", pa.string()),
            pa.field("geometry_valid", pa.bool_()),
        ]
    )


def _column_name(key: str) -> str:
    return f"property__{key}" if key in RESERVED_COLUMNS else key


def _plain(value):
    """A parsed value with number literals back as numbers, for re-encoding as JSON."""
    if isinstance(value, _Literal):
        return json.loads(value) if value not in ("NaN", "Infinity", "-Infinity") else str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class _NestedValueError(Exception):
    """A value parsed by ``_SCANNER`` is an object or array: its numbers cannot be told from strings."""


def _scalar_text(value) -> str | None:
    """``_text`` of a value parsed by ``_SCANNER``; raises ``_NestedValueError`` for an object or array."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    raise _NestedValueError


def _text(value) -> str | None:
    if value is None or isinstance(value, str):  # _Literal is a str: numbers keep their text
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(_plain(value), ensure_ascii=False, separators=(",", ":"))


class _FeatureStream:
    """The elements of a FeatureCollection's ``features`` array, one at a time, with the bytes' sha256.

    Yields ``(index, text, value, error)``: the element's source text and parsed value, or an error.
    """

    def __init__(self, path: Path):
        self.path = path
        self.sha256 = hashlib.sha256()
        self.fatal: str | None = None  # why the rest of the file could not be read, if it could not

    def __iter__(self) -> Iterator[tuple[int, str | None, object, str | None]]:
        decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="strict")
        with self.path.open("rb") as handle:
            buffer, pos, eof, before = "", 0, False, "\n"  # before: the character preceding buffer[0]

            def more() -> None:
                nonlocal buffer, pos, eof, before
                chunk = handle.read(READ_CHUNK)
                self.sha256.update(chunk)
                eof = not chunk
                before = buffer[pos - 1] if pos else before
                buffer, pos = buffer[pos:] + decoder.decode(chunk, final=eof), 0

            try:
                while (start := _FEATURES_ARRAY.search(buffer, pos)) is None:
                    if eof:
                        self.fatal = "no FeatureCollection 'features' array found"
                        return
                    more()
                pos = start.end()
                index, by_line = 0, True
                while True:
                    gap = _SEPARATOR.match(buffer, pos)
                    if gap.end() >= len(buffer):
                        if eof:
                            self.fatal = f"the file ends inside the features array (after {index} features)"
                            return
                        more()
                        continue
                    pos = gap.end()
                    starts_line = (buffer[pos - 1] if pos else before) == "\n"
                    if buffer[pos] == "]":
                        return
                    try:
                        value, end = _SCANNER.raw_decode(buffer, pos)
                    except json.JSONDecodeError as error:
                        if not eof and (error.pos >= len(buffer) - _END_SLACK or error.msg.startswith("Unterminated")):
                            more()
                            continue
                        yield index, None, None, f"{error.msg} at character {error.pos - pos} of the feature"
                        index += 1
                        if not (by_line and starts_line):
                            self.fatal = f"JSON syntax error in feature {index - 1}; the rest of the file was not read"
                            return
                        while (newline := buffer.find("\n", pos)) < 0 and not eof:
                            more()
                        if newline < 0:
                            return
                        pos = newline + 1
                        continue
                    text = buffer[pos:end]
                    by_line = by_line and starts_line and "\n" not in text
                    pos = end
                    yield index, text, value, None
                    index += 1
            except UnicodeDecodeError as error:
                self.fatal = f"not UTF-8 text: {error}"
            finally:  # the state's sha256 covers the whole file, also what follows the features array
                for chunk in iter(lambda: handle.read(READ_CHUNK), b""):
                    self.sha256.update(chunk)


class GeoJsonSource:
    """One GeoJSON department system: a directory of layer files; ``name`` appears in every error."""

    def __init__(self, name: str, directory: Path, batch_size: int = DEFAULT_BATCH_SIZE):
        self.name = name
        self.directory = Path(directory)
        self.batch_size = batch_size
        self._spools: list[Path] = []

    def extract(self, table: TableSpec, state: dict) -> Extraction:
        """The file as a full snapshot, or nothing if its sha256 is the one already landed."""
        file = table.options.get("file") or f"{table.name}.geojson"
        path = self.directory / file
        if not path.is_file():
            from connectors.sql import SourceUnavailableError  # not at module level: it imports SQLAlchemy

            raise SourceUnavailableError(f"source {self.name}: file {path} does not exist")
        if state.get("sha256") and state.get("file") == file and state["sha256"] == file_sha256(path):
            # the snapshot an earlier run landed still holds: this run is not a (empty) snapshot of its own
            unchanged = {**state, "mode": "unchanged"}
            return Extraction(schema_for(list(state.get("columns", []))), iter(()), state=unchanged)

        spool = Path(tempfile.mkdtemp(prefix="citybase-geojson-"))
        self._spools.append(spool)
        rejections: list[Rejection] = []

        def reject(row: int | None, rule: str, message: str) -> None:
            rejections.append(Rejection(self.name, table.name, file, row, rule, message))

        columns: dict[str, None] = {}  # property columns in order of first appearance
        batches, rows, pending = [], 0, []
        features = _FeatureStream(path)
        for index, text, value, error in features:
            if error is not None:
                reject(index, "invalid_json", error)
                continue
            problem = _feature_problem(value)
            if problem:
                reject(index, *problem)
                continue
            # keep only what the batch needs: holding the parsed coordinates would make the garbage
            # collector walk millions of lists over and over
            try:
                properties = {_column_name(k): _scalar_text(v) for k, v in (value.get("properties") or {}).items()}
                feature_id = _scalar_text(value.get("id"))
            except _NestedValueError:
                value = _DECODER.decode(text)
                properties = {_column_name(k): _text(v) for k, v in (value.get("properties") or {}).items()}
                feature_id = _text(value.get("id"))
            pending.append((index, text, properties, feature_id, value["geometry"] is not None))
            if len(pending) >= self.batch_size:
                rows += self._spool_batch(pending, spool / f"{len(batches):06d}.arrow", columns, reject)
                batches.append(spool / f"{len(batches):06d}.arrow")
                pending = []
        if pending:
            rows += self._spool_batch(pending, spool / f"{len(batches):06d}.arrow", columns, reject)
            batches.append(spool / f"{len(batches):06d}.arrow")
        if features.fatal:
            reject(None, "unreadable_file", features.fatal)
        schema = schema_for(list(columns))
        new_state = {
            "mode": "full_snapshot",
            "file": file,
            "sha256": features.sha256.hexdigest(),
            "features": rows,
            "columns": list(columns),
        }
        return Extraction(schema, self._conformed(batches, schema, spool), state=new_state, rejections=rejections)

    def _spool_batch(self, features: list, target: Path, columns: dict, reject) -> int:
        """Convert parsed features to one Arrow batch (its own columns) in ``target``; returns rows kept."""
        has_geometry = np.array([feature[4] for feature in features], dtype=bool)
        texts = np.array([feature[1] for feature in features], dtype=object)
        geometry = np.full(len(features), None, dtype=object)
        geometry[has_geometry] = shapely.from_geojson(texts[has_geometry], on_invalid="ignore")
        keep = np.ones(len(features), dtype=bool)
        for position in np.flatnonzero(has_geometry & shapely.is_missing(geometry)).tolist():
            index, text, *_ = features[position]  # GEOS may have balked at the rest of the feature: try alone
            parsed = _DECODER.decode(text)["geometry"]
            retried = shapely.from_geojson(json.dumps(_plain(parsed)), on_invalid="ignore")
            if retried is None:
                reject(index, "unreadable_geometry", "geometry is not a readable GeoJSON geometry")
                keep[position] = False
            else:
                geometry[position] = retried
        kept = [feature for feature, ok in zip(features, keep.tolist(), strict=True) if ok]
        geometry = geometry[keep]
        present = ~shapely.is_missing(geometry)
        batch_columns: dict[str, list] = {}
        for row, (_, _, properties, _, _) in enumerate(kept):
            for name, text in properties.items():
                if name not in batch_columns:
                    batch_columns[name] = [None] * len(kept)
                    columns.setdefault(name, None)
                batch_columns[name][row] = text
        type_ids = shapely.get_type_id(geometry)
        valid = shapely.is_valid(geometry)
        index = np.array([feature[0] for feature in kept], dtype=np.int64)
        wkb = shapely.to_wkb(geometry, flavor="iso")  # None where there is no geometry
        arrays = {
            "feature_index": pa.Array.from_buffers(pa.int64(), len(index), [None, pa.py_buffer(index)]),
            "feature_id": _arrow_texts([feature[3] for feature in kept], pa.string()),
            **{name: _arrow_texts(values, pa.string()) for name, values in batch_columns.items()},
            "geometry": _arrow_texts(wkb.tolist(), pa.binary()),
            "geometry_type": _arrow_texts(
                [_GEOMETRY_TYPES[t] if t >= 0 else None for t in type_ids.tolist()], pa.string()
            ),
            "geometry_valid": _arrow_booleans(valid, present),
        }
        table = pa.table(arrays)
        with ipc.new_file(target, table.schema) as writer:
            writer.write_table(table)
        return table.num_rows

    def _conformed(self, batches: list[Path], schema: pa.Schema, spool: Path) -> Iterator[pa.RecordBatch]:
        """The spooled batches in the file's final schema (properties a batch lacked are null)."""
        try:
            for path in batches:
                with ipc.open_file(path) as reader:
                    table = reader.read_all()
                arrays = [
                    table.column(field.name)
                    if field.name in table.column_names
                    else pa.nulls(table.num_rows, field.type)
                    for field in schema
                ]
                yield from pa.Table.from_arrays(arrays, schema=schema).combine_chunks().to_batches()
                path.unlink()
        finally:
            shutil.rmtree(spool, ignore_errors=True)

    def close(self) -> None:
        for spool in self._spools:
            shutil.rmtree(spool, ignore_errors=True)
        self._spools.clear()


def _arrow_texts(values: list, kind: pa.DataType) -> pa.Array:
    """``pa.array(values, kind)`` for strings or bytes (None: null), built from buffers: ``pa.array`` imports
    pandas on first use, a second of every extraction process."""
    present = np.fromiter((value is not None for value in values), dtype=bool, count=len(values))
    data = [value.encode() if isinstance(value, str) else value or b"" for value in values]
    offsets = np.zeros(len(data) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, data), dtype=np.int64, count=len(data)), out=offsets[1:])
    if offsets[-1] >= 2**31:  # beyond 32-bit offsets: let Arrow split it
        return pa.array(values, kind)
    validity = None if present.all() else pa.py_buffer(np.packbits(present, bitorder="little"))
    buffers = [validity, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(b"".join(data))]
    return pa.Array.from_buffers(kind, len(data), buffers, null_count=int(len(data) - present.sum()))


def _arrow_booleans(values: np.ndarray, present: np.ndarray) -> pa.Array:
    """A boolean array, null where not ``present`` (see ``_arrow_texts`` for why not ``pa.array``)."""
    bits = pa.py_buffer(np.packbits(values & present, bitorder="little"))
    validity = None if present.all() else pa.py_buffer(np.packbits(present, bitorder="little"))
    nulls = int(len(present) - present.sum())
    return pa.Array.from_buffers(pa.bool_(), len(values), [validity, bits], null_count=nulls)


def _feature_problem(value) -> tuple[str, str] | None:
    """(rule, message) if a parsed ``features`` element is not a GeoJSON Feature we can land."""
    if not isinstance(value, dict) or value.get("type") != "Feature":
        return "not_a_feature", "element of 'features' is not an object of type Feature"
    if "geometry" not in value:
        return "missing_geometry", "Feature has no 'geometry' member"
    if value["geometry"] is not None and not isinstance(value["geometry"], dict):
        return "unreadable_geometry", "'geometry' is neither an object nor null"
    if value.get("properties") is not None and not isinstance(value["properties"], dict):
        return "bad_properties", "'properties' is neither an object nor null"
    return None
