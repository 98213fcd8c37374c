"""GeoJSON files (a GIS department's layer exports) as Arrow batches: properties as text, geometry as WKB.

A table is one file of the source's directory (``options.file``, default ``<table>.geojson``), a
FeatureCollection of any size. Each extraction lands the whole file (a full snapshot), unless its
sha256 is the one in the state from the last run: then nothing is landed (an empty extraction).

Columns: ``feature_index`` (position in the ``features`` array), ``feature_id`` (the Feature's
``id``), one string column per property key found anywhere in the file (missing -> null; numbers
keep their literal text; nested values are JSON), then ``geometry`` (ISO WKB), ``geometry_type``
and ``geometry_valid``. Invalid geometry (a self-intersecting ring...) is landed and flagged, for dbt
to quarantine; a feature that cannot be read at all becomes a ``Rejection`` with its index and rule.

Reading never loads the whole document: memory holds one 8 MB chunk of the file plus one batch. Any
standard layout works (one line, pretty-printed, one feature per line), by two readers that land the same:

- the general one decodes the text and takes one element of the ``features`` array at a time with
  ``json.JSONDecoder.raw_decode`` (numbers kept as text), and has GEOS read each geometry;
- the fast one takes over wherever the file is one feature per line (as our exports are), 5x as fast: it
  splits whole lines of bytes and decodes each with msgspec into structs whose values stay raw JSON bytes;
  a batch's columns are then built from those bytes in bulk (a string only loses its quotes, a number
  keeps its text), and so are the geometries: numpy reads the coordinates into flat arrays and writes the
  WKB, and judges the validity of a polygon of one small ring where it is sure to agree with GEOS (GEOS
  judges the others, built by ``shapely.from_ragged_array``). A line it cannot take (a syntax error, a
  member it does not expect...) is left to the general reader, and a geometry that is not plain 2D numbers
  to GEOS's own reader, so rejections and edge cases are decided by one piece of code.

A file of at least two ``MIN_SEGMENT_BYTES`` is read by up to ``workers`` processes at once (default: the
CPUs this process may use, at most 4; measured 1.6x as fast on two): each forked worker reads a segment
from a line that opens an object (indented or not), numbering features from its own start, and spools its
batches; this process reads the first segment and puts them together in order (indexes shifted, property
columns united). A segment's reader ends at the next segment's start only if it arrives there between
elements, with the file so far one feature per line if that line is not indented, and not if it is;
otherwise (a feature over several lines across it...) it reads on, and the workers after it are stopped:
the file lands exactly as read from start to end (a property test holds it to that). A worker that fails
is logged, and its segment read here.

Limits: the ``features`` key is found by a textual search of the document head (a ``"features": [``
inside an earlier member would mislead it); after a JSON syntax error the reader resynchronises at the
next line only when the file so far has been one feature per line - otherwise the rest of the file is
refused as one rejection, as it is from the first byte that is not UTF-8. Because the union of
property keys is only known at the end, each batch but the last is first spooled to a temporary Arrow IPC
file, and conformed to the final schema while the landing zone consumes it.
"""

from __future__ import annotations

import codecs
import contextlib
import ctypes
import dataclasses
import functools
import hashlib
import json
import logging
import os
import pickle
import re
import shutil
import signal
import tempfile
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain, compress, groupby, islice, repeat
from operator import attrgetter, is_not, itemgetter
from pathlib import Path
from typing import Literal, NamedTuple

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc
import shapely

from connectors.base import Extraction, Rejection, file_sha256
from connectors.registry import TableSpec

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 50_000
READ_CHUNK = 8 << 20
MIN_SEGMENT_BYTES = 8 << 20  # a file is split among workers into segments at least this large
SEGMENT_LOOK = 1 << 20  # how far past a segment's nominal start a line opening an object is looked for
_PR_SET_PDEATHSIG = 1  # prctl(2)
MAX_DEFAULT_WORKERS = 4  # each holds a chunk and a batch: a large host's CPUs are not all taken by default
TEXT_WINDOW = 64 << 10  # bytes the general reader decodes at a time (more while one element needs more)
RAGGED_SLICE = 4096  # geometries whose coordinates are read at a time
SIMPLE_RING_MAX = 8  # vertices of a one-ring polygon whose validity is judged in bulk
VALIDITY_SLICE = 256  # geometries made at a time to check their validity (with their rings, fewer than 700)
MAX_FAST_KEYS = 256  # property keys the fast reader's struct holds; features with others take the general reader
_END_SLACK = 64  # a decoding error this close to the buffer's end may just be a feature cut by the chunk
_FEATURES_ARRAY = re.compile(r'"features"\s*:\s*\[')
_SEPARATOR = re.compile(r"[\s,]*")
_OBJECT_LINE = re.compile(rb"\n([ \t]*)\{")
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
_GEOMETRY_TYPE_NAMES = pa.Array.from_buffers(
    pa.string(),
    len(_GEOMETRY_TYPES),
    [
        None,
        pa.py_buffer(np.cumsum([0, *map(len, _GEOMETRY_TYPES)], dtype=np.int32)),
        pa.py_buffer("".join(_GEOMETRY_TYPES).encode()),
    ],
)  # (shapely's type ids index it)
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


# The fast reader's view of a feature line. Every value it lands stays raw JSON; a member it does not know
# is skipped (as the general reader ignores it), except in ``properties``, where an unknown key fails the
# decoding so that the struct can learn it.
_ABSENT = msgspec.Raw(b"")
_WITHOUT_LAST_BYTE = itemgetter(slice(None, -1))
_GEOMETRY, _TYPE = attrgetter("geometry"), attrgetter("type")


class _Geometry(msgspec.Struct, gc=False):
    type: str
    coordinates: msgspec.Raw = _ABSENT


class _LooseFeature(msgspec.Struct, gc=False):
    """A feature line with any property keys: what a line with keys the struct does not know yet is read as."""

    type: Literal["Feature"]
    geometry: _Geometry | None
    properties: dict[str, msgspec.Raw] | None = None


_LOOSE = msgspec.json.Decoder(_LooseFeature)
_UNNAMEABLE = re.compile(r'[\\"\x00-\x1f]')  # characters msgspec does not take in a struct's field name


class _FastDecoder:
    """Decodes one feature line into a struct with one raw field per property key it knows (in order of first
    appearance); ``learned`` gives the decoder that also knows a line's new keys."""

    def __init__(self, keys: tuple[str, ...] = ()):
        self.keys = keys
        self.columns = [_column_name(key) for key in keys]
        names = [f"p{i}" for i in range(len(keys))]
        properties = msgspec.defstruct(
            "Properties",
            [(name, msgspec.Raw, _ABSENT) for name in names],
            rename=dict(zip(names, keys, strict=True)),
            forbid_unknown_fields=True,
            gc=False,
        )
        feature = msgspec.defstruct(
            "Feature",
            [
                ("type", Literal["Feature"]),
                ("geometry", _Geometry | None),
                ("properties", properties | None, None),
                ("id", msgspec.Raw, _ABSENT),
            ],
            gc=False,
        )
        self.decode = msgspec.json.Decoder(feature).decode
        self.no_properties = properties()
        self.getters = [attrgetter(name) for name in names]

    def learned(self, line: bytes) -> _FastDecoder | None:
        """The decoder that also knows the new property keys of the feature ``line``; None if it has none
        (its decoding failed for another reason) or if they cannot be taken in."""
        try:
            properties = _LOOSE.decode(line).properties or {}
        except msgspec.MsgspecError:
            return None
        new = tuple(key for key in properties if key not in self.keys)
        columns = self.columns + [_column_name(key) for key in new]
        if (
            not new
            or len(columns) > MAX_FAST_KEYS
            or len(set(columns)) < len(columns)  # (two keys in one column: the general reader knows which wins)
            or _UNNAMEABLE.search("".join(new))
        ):
            return None
        return _FastDecoder(self.keys + new)


class _Block:
    """Consecutive features the fast reader decoded with one struct, from ``first_index`` on, with their text."""

    def __init__(self, first_index: int, features: list, lines: list[bytes], decoder: _FastDecoder):
        self.first_index, self.features, self.lines, self.decoder = first_index, features, lines, decoder

    def __len__(self) -> int:
        return len(self.features)

    def cut(self, start: int, stop: int) -> _Block:
        return _Block(self.first_index + start, self.features[start:stop], self.lines[start:stop], self.decoder)


class _NotUtf8Error(Exception):
    """The file is not UTF-8 from file offset ``offset`` on."""

    def __init__(self, offset: int, reason: str):
        super().__init__(f"not UTF-8 text at byte {offset} of the file ({reason}); the rest of the file was not read")


def _first_invalid_utf8(data: bytes, length: int) -> int | None:
    """The offset of the first of the ``length`` first bytes of ``data`` that is not UTF-8, or None: Arrow
    validates in bulk."""
    offsets = pa.py_buffer(np.array([0, length], dtype=np.int64))
    try:
        pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(data)]).cast(pa.large_string())
        return None
    except pa.ArrowInvalid:
        try:
            data[:length].decode("utf-8")
        except UnicodeDecodeError as error:
            return error.start
        raise


def _character_boundary(data: bytes, begin: int, end: int) -> int:
    """``end``, or the start of the UTF-8 sequence ``data[begin:end]`` would cut in two (bytes that are not
    UTF-8 are left for the decoder to find)."""
    if end <= begin:
        return end
    lead = end - 1
    while lead > max(begin, end - 4) and data[lead] & 0xC0 == 0x80:  # continuation bytes
        lead -= 1
    length = 4 if data[lead] >= 0xF0 else 3 if data[lead] >= 0xE0 else 2 if data[lead] >= 0xC0 else 1
    return lead if lead + length > end else end


class _Fatal(NamedTuple):
    """Why the rest of the file could not be read. ``feature``: the feature number the message names, counted
    from the stream's first element (a segment's reader does not know how many features precede it)."""

    template: str  # "{feature}" stands for that number
    feature: int | None = None

    def message(self, first_index: int = 0) -> str:
        return self.template if self.feature is None else self.template.format(feature=self.feature + first_index)


class _Boundary(NamedTuple):
    """Where a segment starts (a line start), and whether the file before it is taken to have been one feature
    per line: its line opens an object at its very start, where an indented one suggests a pretty-printed file."""

    offset: int
    by_line: bool = True


_FILE_START = _Boundary(0)


class _FeatureStream:
    """The elements of a FeatureCollection's ``features`` array, in order, with the bytes' sha256.

    Yields ``(index, text, value, error)`` for an element the general reader took (its source text and
    parsed value, or an error), and a ``_Block`` for features the fast reader took.

    A segment's stream (``start`` past 0: a line start inside the array) numbers its elements from 0 and does
    not hash. With ``stop``, the stream ends there if it arrives at it between elements, with the file so far
    one feature per line or not as ``stop`` takes it (``stopped``; ``elements``: how many it read), for the
    next segment's reader to go on from; otherwise it reads on to the end of the file.
    """

    def __init__(self, path: Path, start: _Boundary = _FILE_START, stop: _Boundary | None = None):
        self.path, self.start, self._by_line_before = path, start.offset, start.by_line
        self.stop, self._stop_by_line = (stop.offset, stop.by_line) if stop else (None, True)
        self.sha256 = hashlib.sha256() if self.start == 0 else None
        self.fatal: _Fatal | None = None  # why the rest of the file could not be read, if it could not
        self.stopped, self.elements = False, 0
        self._data, self._offset, self._eof = b"", self.start, False  # bytes read, not yet let go, from file offset
        self._lines: list[bytes] = []  # the fast reader's whole lines (without "\n"), from file offset _base on
        self._starts = np.zeros(1, dtype=np.int64)  # where each line starts (from _base), and where they end
        self._bulk = np.zeros(0, dtype=bool)  # whether each line is "{...},"
        self._breaks = np.zeros(1, dtype=np.int64)
        self._base = 0
        self._fast = _FastDecoder()

    def _read(self, keep_from: int) -> None:
        """Read the next chunk of the file, letting go of the bytes before file offset ``keep_from``."""
        chunk = self._handle.read(READ_CHUNK)
        if self.sha256:
            self.sha256.update(chunk)
        self._eof = not chunk
        self._data = self._data[keep_from - self._offset :] + chunk
        self._offset = keep_from

    def __iter__(self) -> Iterator[tuple[int, str | None, object, str | None] | _Block]:
        with self.path.open("rb") as self._handle:
            self._handle.seek(self.start)
            try:
                yield from self._general()
            except _NotUtf8Error as error:
                self.fatal = _Fatal(str(error))
            finally:  # the state's sha256 covers the whole file, also what follows the features array
                for chunk in iter(lambda: self._handle.read(READ_CHUNK) if self.sha256 else b"", b""):
                    self.sha256.update(chunk)

    def _general(self):
        """The general reader: text decoded a window at a time; it hands over to the fast reader wherever a
        feature starts a line and the file so far has been one feature per line."""
        while self.start == 0 and len(self._data) < len(codecs.BOM_UTF8) and not self._eof:
            self._read(keep_from=0)
        bom = len(codecs.BOM_UTF8) if self.start == 0 and self._data.startswith(codecs.BOM_UTF8) else 0
        text, pos, before = "", 0, "\n"  # before: the character preceding text[0]
        start = decoded = self.start + bom  # file offsets of text[0] and of the first byte not decoded yet
        eof, invalid = False, ""  # eof: text holds the rest of the file; invalid: why the bytes after it cannot

        def more() -> None:
            nonlocal text, pos, before, start, decoded, eof, invalid
            if invalid:
                raise _NotUtf8Error(decoded, invalid)
            start += len(text[:pos].encode("utf-8"))
            before = text[pos - 1] if pos else before
            text, pos = text[pos:], 0
            while True:
                available = self._offset + len(self._data)
                end = min(available, decoded + max(TEXT_WINDOW, len(text)))
                if self.stop is not None:  # text past the stop is the next segment's, unless this one needs it
                    if decoded >= self.stop:
                        self.stop = None
                    else:
                        end = min(end, self.stop)
                final = self._eof and end == available
                if not final:
                    end = self._offset + _character_boundary(self._data, decoded - self._offset, end - self._offset)
                if end > decoded or final:
                    break
                self._read(keep_from=start)
            piece = self._data[decoded - self._offset : end - self._offset]
            try:
                text += piece.decode("utf-8")
            except UnicodeDecodeError as error:  # keep what precedes the bad byte; refuse once more is needed
                text += piece[: error.start].decode("utf-8")
                decoded, invalid = decoded + error.start, error.reason
                return
            decoded, eof = end, final

        while self.start == 0 and (found := _FEATURES_ARRAY.search(text, pos)) is None:
            if eof:
                self.fatal = _Fatal("no FeatureCollection 'features' array found")
                return
            more()
        pos = found.end() if self.start == 0 else 0
        index, by_line, fast_declined = 0, self._by_line_before, False
        while True:
            gap = _SEPARATOR.match(text, pos)
            if gap.end() >= len(text):
                if eof:
                    self.fatal = _Fatal("the file ends inside the features array (after {feature} features)", index)
                    return
                if decoded == self.stop and by_line == self._stop_by_line:  # (between elements: the stop is one)
                    self.stopped, self.elements = True, index
                    return
                more()
                continue
            pos = gap.end()
            starts_line = (text[pos - 1] if pos else before) == "\n"
            if text[pos] == "]":
                return
            if by_line and starts_line and not fast_declined:
                offset, index = yield from self._fast_lines(start + len(text[:pos].encode("utf-8")), index)
                text, pos, before, start, decoded, eof, invalid = "", 0, "\n", offset, offset, False, ""
                fast_declined = True  # it stopped at an element it does not take: the next one is ours
                continue
            fast_declined = False
            try:
                value, end = _SCANNER.raw_decode(text, pos)
            except json.JSONDecodeError as error:
                if not eof and (error.pos >= len(text) - _END_SLACK or error.msg.startswith("Unterminated")):
                    more()
                    continue
                yield index, None, None, f"{error.msg} at character {error.pos - pos} of the feature"
                index += 1
                if not (by_line and starts_line):
                    self.fatal = _Fatal(
                        "JSON syntax error in feature {feature}; the rest of the file was not read", index - 1
                    )
                    return
                while (newline := text.find("\n", pos)) < 0 and not eof:
                    more()
                if newline < 0:
                    return
                pos = newline + 1
                continue
            element = text[pos:end]
            by_line = by_line and starts_line and "\n" not in element
            pos = end
            yield index, element, value, None
            index += 1

    def _fast_lines(self, offset: int, index: int):
        """The fast reader, from the line at file offset ``offset``: yields ``_Block``s; returns the offset of
        the first line it does not take (or the end of the whole lines) and that element's index."""
        fast, declined = self._fast, False
        while not declined and (self._base <= offset < self._base + self._starts[-1] or self._next_lines(offset)):
            lines, bulk, starts = self._lines, self._bulk, self._starts
            number = int(np.searchsorted(starts, offset - self._base))  # (the general reader took the lines before)
            features, texts, first = [], [], index
            while number < len(lines):
                if bulk[number]:  # a run of lines "{...},": one call decodes them, up to one it refuses
                    stop = self._breaks[np.searchsorted(self._breaks, number)]
                    run = list(map(_WITHOUT_LAST_BYTE, islice(lines, number, stop)))
                    decoded = len(features)
                    with contextlib.suppress(msgspec.MsgspecError):
                        features.extend(map(fast.decode, run))
                    decoded = len(features) - decoded
                    texts += run[:decoded]
                    index += decoded
                    number += decoded
                    if decoded == len(run):
                        continue
                line = lines[number]
                feature_text = line.rstrip(b" \t\r,")
                number += 1
                if not feature_text:  # a blank line, or one of commas, only separates (as in the general reader)
                    continue
                try:
                    if feature_text[0] != 0x7B:  # "{"
                        raise msgspec.DecodeError
                    feature = fast.decode(feature_text)
                except msgspec.MsgspecError:
                    learned = self._learned(feature_text) if feature_text[0] == 0x7B else None
                    if learned is None:
                        declined = True
                        number -= 1
                        break
                    if features:  # decoded without the new keys
                        yield _Block(first, features, texts, fast)
                        features, texts, first = [], [], index
                    self._fast = fast = learned
                    feature = fast.decode(feature_text)
                features.append(feature)
                texts.append(feature_text)
                index += 1
            offset = self._base + int(starts[number])
            if features:
                yield _Block(first, features, texts, fast)
        return offset, index

    def _learned(self, line: bytes) -> _FastDecoder | None:
        """The fast decoder that takes ``line``, if a decoder knowing its new property keys would."""
        learned = self._fast.learned(line)
        if learned is None:
            return None
        try:
            learned.decode(line)
        except msgspec.MsgspecError:
            return None
        return learned

    def _next_lines(self, offset: int) -> bool:
        """Split the whole lines of valid UTF-8 from file offset ``offset`` on into ``_lines``; False if none.
        ``_bulk`` marks the lines "{...}," (as in our exports), which are decoded in bulk. Not past the stop."""
        if self.stop is not None and offset >= self.stop:
            return False
        while (end := self._data.rfind(b"\n", offset - self._offset) + 1) == 0:
            if self._eof:
                return False
            self._read(keep_from=offset)
        begin = offset - self._offset
        if self.stop is not None and self.stop - self._offset < end:
            block, end = self._data[begin : self.stop - self._offset], self.stop - offset
        else:
            block, end = (self._data if begin == 0 else self._data[begin:]), end - begin  # (a copy after a hand-over)
        if (invalid := _first_invalid_utf8(block, end)) is not None:
            end = block.rfind(b"\n", 0, invalid) + 1  # up to the line with the bad byte
            if not end:
                return False
            block = block[:end]
        lines = block.split(b"\n")
        lines.pop()  # (what follows the last "\n": a line the next chunk ends)
        lengths = np.fromiter(map(len, lines), dtype=np.int64, count=len(lines))
        starts = np.zeros(len(lines) + 1, dtype=np.int64)
        np.cumsum(lengths + 1, out=starts[1:])
        text = np.frombuffer(block, dtype=np.uint8)
        firsts, lasts = text[starts[:-1]], text[np.maximum(starts[1:] - 2, 0)]  # (meaningful when not empty)
        self._bulk = (lengths >= 2) & (firsts == ord("{")) & (lasts == ord(","))
        self._breaks = np.append(np.flatnonzero(~self._bulk), len(lines))  # where each run of such lines ends
        self._lines, self._starts, self._base = lines, starts, offset
        return True


@dataclass
class _Segment:
    """What one reader made of a stretch of the file: spooled batches, the last batch (None once spooled too),
    and, numbered from the stretch's first element, its rejections and why it could not read on."""

    batches: list[Path]
    last: pa.Table | None
    columns: list[str]
    rows: int
    rejections: list[Rejection]
    fatal: _Fatal | None
    stopped: bool  # it ended at its stop: the next segment's reader goes on from there
    elements: int  # elements of the features array it read (when stopped)
    sha256: str | None  # of the whole file (the first segment's reader only)


class _SegmentWorker:
    """A forked process that reads one segment, while this one reads another; its ``_Segment`` comes back
    pickled in the spool. A worker that failed gives None (its segment is then read here)."""

    def __init__(self, read, result: Path):
        self.result = result
        parent = os.getpid()
        self.pid = os.fork()
        if self.pid == 0:  # the worker: never returns into the caller's stack
            status = 1
            try:
                _die_with(parent)
                segment = read()
                with result.open("wb") as handle:
                    pickle.dump(segment, handle, protocol=pickle.HIGHEST_PROTOCOL)
                status = 0
            except BaseException:  # (reported by the parent, which reads the segment itself)
                with contextlib.suppress(OSError):
                    result.with_suffix(".error").write_text(traceback.format_exc())
            finally:
                os._exit(status)

    def segment(self) -> _Segment | None:
        _, status = os.waitpid(self.pid, 0)
        self.pid = 0
        if os.waitstatus_to_exitcode(status) == 0:
            with self.result.open("rb") as handle:
                return pickle.load(handle)  # (written by our own worker, in our private spool)
        error = self.result.with_suffix(".error")
        log.warning("a GeoJSON segment worker failed (%s); reading its segment here", _tail(error))
        return None

    def cancel(self) -> None:
        if self.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            self.pid = 0


def _die_with(parent: int) -> None:
    """Have Linux kill this worker if its parent dies (a task killed by its scheduler leaves no worker behind)."""
    with contextlib.suppress(OSError, AttributeError):  # (elsewhere: a worker outlives its parent by a segment)
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before that took effect
        os._exit(1)


def _tail(path: Path) -> str:
    try:
        return path.read_text().strip().splitlines()[-1]
    except (OSError, IndexError):
        return "no error recorded"


def _segment_starts(path: Path, workers: int) -> list[_Boundary]:
    """Where each of up to ``workers`` segments of at least ``MIN_SEGMENT_BYTES`` starts: 0, then the first
    line that opens an object (``{``, maybe indented, as a feature's first line does) within ``SEGMENT_LOOK``
    bytes after each ``1/workers`` of the file. A file without such lines there (one line) is one segment."""
    size = path.stat().st_size
    count = max(1, min(workers, size // MIN_SEGMENT_BYTES))
    starts = [_FILE_START]
    with path.open("rb") as handle:
        for number in range(1, count):
            nominal = max(size * number // count, starts[-1].offset)
            handle.seek(nominal)
            if not (found := _OBJECT_LINE.search(handle.read(SEGMENT_LOOK))):
                break
            starts.append(_Boundary(nominal + found.start() + 1, by_line=not found.group(1)))
    return starts


def _default_workers() -> int:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return min(cpus, MAX_DEFAULT_WORKERS)


class GeoJsonSource:
    """One GeoJSON department system: a directory of layer files; ``name`` appears in every error.

    A large file is read by ``workers`` processes at once (default: the CPUs this process may use, at most
    ``MAX_DEFAULT_WORKERS``), each from a line start of its own ``1/workers`` of the file on
    (``_FeatureStream``): it lands exactly as when read from start to end, faster; where a stretch's start
    turns out not to be between two features (one written over several lines across it), the reader before
    it reads on and the next one's work is dropped.
    """

    def __init__(self, name: str, directory: Path, batch_size: int = DEFAULT_BATCH_SIZE, workers: int | None = None):
        self.name = name
        self.directory = Path(directory)
        self.batch_size = batch_size
        self.workers = workers or _default_workers()
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
        segments = self._read_segments(path, file, table.name, spool)
        rejections, batches, next_index = [], [], 0
        for segment in segments:
            first_index, next_index = next_index, next_index + segment.elements  # (of its first, of the next's)
            batches += [(batch, first_index) for batch in segment.batches]
            rejections += [
                dataclasses.replace(r, row=r.row + first_index) if r.row is not None else r for r in segment.rejections
            ]
            if segment.fatal:
                message = segment.fatal.message(first_index)
                rejections.append(Rejection(self.name, table.name, file, None, "unreadable_file", message))
        rejections.sort(key=lambda r: (r.row is None, r.row or 0))  # (rejections of the whole file last)
        columns = list(dict.fromkeys(chain.from_iterable(segment.columns for segment in segments)))
        rows = sum(segment.rows for segment in segments)
        schema = schema_for(columns)
        new_state = {
            "mode": "full_snapshot",
            "file": file,
            "sha256": segments[0].sha256,
            "features": rows,
            "columns": columns,
        }
        conformed = self._conformed(batches, segments[-1].last, first_index, schema, spool)
        return Extraction(schema, conformed, state=new_state, rejections=rejections)

    def _read_segments(self, path: Path, file: str, table: str, spool: Path) -> list[_Segment]:
        """The file's segments, in order, up to the one that read to the end of the file: the first read here,
        the others by workers (or here, where a worker failed)."""
        starts = _segment_starts(path, self.workers)
        workers = {}
        try:
            for number in range(1, len(starts)):
                read = functools.partial(self._read_segment, path, file, table, starts, number, spool, spool_last=True)
                workers[number] = _SegmentWorker(read, spool / f"segment-{number}.pickle")
            segments: list[_Segment] = []
            while not segments or segments[-1].stopped:
                number = len(segments)
                segment = workers.pop(number).segment() if number in workers else None
                if segment is None:
                    segment = self._read_segment(path, file, table, starts, number, spool)
                segments.append(segment)
            return segments
        finally:
            for worker in workers.values():  # segments a reader before them read on through
                worker.cancel()

    def _read_segment(
        self,
        path: Path,
        file: str,
        table: str,
        starts: list[_Boundary],
        number: int,
        spool: Path,
        spool_last: bool = False,
    ) -> _Segment:
        """Features of segment ``number`` (from ``starts[number]`` to the next start, see ``_FeatureStream``) as
        spooled batches: all but the last, which is spooled too if ``spool_last`` or if the segment stopped (a
        later segment's batches follow)."""
        rejections: list[Rejection] = []

        def reject(row: int | None, rule: str, message: str) -> None:
            rejections.append(Rejection(self.name, table, file, row, rule, message))

        columns: dict[str, None] = {}  # property columns in order of first appearance
        batches, rows, pending, pending_features = [], 0, [], 0

        def spool_table(batch: pa.Table) -> None:
            batches.append(spool / f"{number:03d}-{len(batches):06d}.arrow")
            with ipc.new_file(batches[-1], batch.schema) as writer:
                writer.write_table(batch)

        def spool_pending() -> None:
            nonlocal rows, pending, pending_features
            batch = _batch_table(pending, reject)
            spool_table(batch)
            rows += batch.num_rows
            pending, pending_features = [], 0

        features = _FeatureStream(path, starts[number], starts[number + 1] if number + 1 < len(starts) else None)
        for item in features:
            if isinstance(item, _Block):
                columns.update(dict.fromkeys(item.decoder.columns))  # (update keeps a known key where it is)
                taken = 0
                while taken < len(item):
                    part = item.cut(taken, taken + self.batch_size - pending_features)
                    pending.append(part)
                    pending_features += len(part)
                    taken += len(part)
                    if pending_features >= self.batch_size:
                        spool_pending()
                continue
            index, text, value, error = item
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
            columns.update(dict.fromkeys(properties))
            pending.append((index, text, properties, feature_id, value["geometry"] is not None))
            pending_features += 1
            if pending_features >= self.batch_size:
                spool_pending()
        last = _batch_table(pending, reject) if pending else None  # held, not spooled: read once more anyway
        rows += last.num_rows if last else 0
        if last is not None and (spool_last or features.stopped):
            spool_table(last)
            last = None
        return _Segment(
            batches,
            last,
            list(columns),
            rows,
            rejections,
            features.fatal,
            features.stopped,
            features.elements,
            features.sha256.hexdigest() if features.sha256 else None,
        )

    def _conformed(
        self, batches: list[tuple[Path, int]], last: pa.Table | None, last_first: int, schema: pa.Schema, spool: Path
    ) -> Iterator[pa.RecordBatch]:
        """The spooled batches, then the last, in the file's final schema (properties a batch lacked are null),
        their ``feature_index`` counted from the file's first element (each batch: with its segment's index)."""
        try:
            for path, first_index in batches:
                with pa.memory_map(str(path)) as source:
                    yield from _conform(ipc.open_file(source).read_all(), schema, first_index)
                path.unlink()
            if last is not None:
                yield from _conform(last, schema, last_first)
        finally:
            shutil.rmtree(spool, ignore_errors=True)

    def close(self) -> None:
        for spool in self._spools:
            shutil.rmtree(spool, ignore_errors=True)
        self._spools.clear()


def _batch_table(pending: list, reject) -> pa.Table:
    """One Arrow table (of their own columns) for the pending features: runs of fast blocks and of general
    features, in order (a batch of fast blocks only is one chunk, that nothing has to copy again)."""
    tables = []
    for fast, run in groupby(pending, key=lambda part: isinstance(part, _Block)):
        parts = list(run)
        tables.append(_blocks_table(parts, reject) if fast else _general_table(parts, reject))
    return pa.concat_tables(tables, promote_options="default") if len(tables) > 1 else tables[0]


def _conform(table: pa.Table, schema: pa.Schema, first_index: int = 0) -> list[pa.RecordBatch]:
    """``table`` as one record batch of ``schema``: a column it lacks is all null; ``first_index`` is added to
    its ``feature_index``."""
    arrays = [
        table.column(field.name) if field.name in table.column_names else pa.nulls(table.num_rows, field.type)
        for field in schema
    ]
    if first_index:  # (in numpy: pc.add with a Python number imports pandas, a second)
        index = arrays[0].combine_chunks()
        shifted = np.frombuffer(index.buffers()[1], np.int64, len(index), 8 * index.offset) + first_index
        arrays[0] = pa.Array.from_buffers(pa.int64(), len(shifted), [None, pa.py_buffer(shifted)])
    return pa.Table.from_arrays(arrays, schema=schema).combine_chunks().to_batches()


def _general_table(features: list, reject) -> pa.Table:
    """The table of features the general reader parsed: ``(index, text, properties, feature_id, has_geometry)``."""
    has_geometry = np.array([feature[4] for feature in features], dtype=bool)
    texts = np.array([feature[1] for feature in features], dtype=object)
    geometry = np.full(len(features), None, dtype=object)
    indexes = np.array([feature[0] for feature in features], dtype=np.int64)
    geometry[has_geometry] = _read_geometries(texts[has_geometry], indexes[has_geometry].tolist(), reject)
    keep = ~(has_geometry & shapely.is_missing(geometry))
    kept = [feature for feature, ok in zip(features, keep.tolist(), strict=True) if ok]
    property_columns: dict[str, list] = {}
    for row, (_, _, properties, _, _) in enumerate(kept):
        for name, text in properties.items():
            if name not in property_columns:
                property_columns[name] = [None] * len(kept)
            property_columns[name][row] = text
    return _table(
        indexes[keep],
        _arrow_texts([feature[3] for feature in kept], pa.string()),
        {name: _arrow_texts(values, pa.string()) for name, values in property_columns.items()},
        _arrow_texts(shapely.to_wkb(geometry[keep], flavor="iso").tolist(), pa.binary()),
        shapely.get_type_id(geometry[keep]).astype(np.int32),
        shapely.is_valid(geometry[keep]),
    )


def _blocks_table(blocks: list[_Block], reject) -> pa.Table:
    """The table of consecutive fast blocks: columns from the raw JSON values in bulk, coordinates read
    without GEOS where they are plain."""
    features = list(chain.from_iterable(block.features for block in blocks))
    index = np.concatenate([np.arange(b.first_index, b.first_index + len(b), dtype=np.int64) for b in blocks])
    geometries = list(map(_GEOMETRY, features))
    has_geometry = np.fromiter(map(is_not, geometries, repeat(None)), dtype=bool, count=len(features))
    kinds = list(map(_TYPE, compress(geometries, has_geometry)))
    with_geometry = np.flatnonzero(has_geometry)
    if len(set(kinds)) > 1:
        by_kind = {kind: with_geometry[np.array(kinds, dtype=object) == kind] for kind in dict.fromkeys(kinds)}
    else:
        by_kind = {kinds[0]: with_geometry} if kinds else {}
    type_ids = np.full(len(features), -1, dtype=np.int32)  # shapely's; -1: no geometry
    valid = np.zeros(len(features), dtype=bool)
    wkb_parts, wkb_rows = [], []  # WKB arrays, and the rows they are of
    for_geos = []  # rows whose geometry only GEOS's own reader can decide on
    for kind, rows in by_kind.items():
        if kind not in _RAGGED:
            for_geos.append(rows)
            continue
        validity, wkb, built = _ragged_geometries(kind, [geometries[row].coordinates for row in rows.tolist()])
        type_ids[rows[built]] = _RAGGED[kind][0]
        valid[rows[built]] = validity
        wkb_parts += wkb
        wkb_rows.append(rows[built])
        for_geos.append(np.delete(rows, built))
    keep = np.ones(len(features), dtype=bool)
    if for_geos and len(for_geos := np.sort(np.concatenate(for_geos))):
        lines = list(chain.from_iterable(block.lines for block in blocks))
        read = _read_geometries(
            np.array([lines[row] for row in for_geos.tolist()], dtype=object), index[for_geos].tolist(), reject
        )
        readable = ~shapely.is_missing(read)
        keep[for_geos[~readable]] = False
        type_ids[for_geos[readable]] = shapely.get_type_id(read[readable])
        valid[for_geos[readable]] = shapely.is_valid(read[readable])
        wkb_parts.append(
            _arrow_texts(shapely.to_wkb(read[readable], flavor="iso").tolist(), pa.binary()).cast(pa.large_binary())
        )
        wkb_rows.append(for_geos[readable])
    wkb = _in_rows(wkb_parts, wkb_rows, len(features))
    decoder = blocks[-1].decoder  # (it knows every key the earlier blocks' decoders know, and in that order)
    properties = []
    for block in blocks:
        of_block = [feature.properties for feature in block.features]
        if None in of_block:
            of_block = [block.decoder.no_properties if p is None else p for p in of_block]
        properties.append(of_block)
    columns = {}
    for number, name in enumerate(decoder.columns):
        raws = []
        for block, of_block in zip(blocks, properties, strict=True):
            known = number < len(block.decoder.getters)
            raws += map(block.decoder.getters[number], of_block) if known else [_ABSENT] * len(of_block)
        columns[name] = _json_texts(raws)
    table = _table(index, _json_texts([feature.id for feature in features]), columns, wkb, type_ids, valid)
    return table if keep.all() else table.filter(_arrow_booleans(keep, np.ones(len(keep), dtype=bool)))


def _in_rows(parts: list[pa.Array], rows: list[np.ndarray], count: int) -> pa.Array:
    """The values of ``parts`` (``rows[i]``: the row of each value of ``parts[i]``) in ``count`` rows as one
    binary array; null in a row none gives."""
    if not parts:
        return pa.nulls(count, pa.binary())
    values = pa.concat_arrays(parts) if len(parts) > 1 else parts[0]
    rows = np.concatenate(rows)
    if len(rows) < count or not (rows[1:] > rows[:-1]).all():
        taken = np.zeros(count, dtype=np.int64)
        taken[rows] = np.arange(len(rows))
        present = np.zeros(count, dtype=bool)
        present[rows] = True
        indices = pa.Array.from_buffers(
            pa.int64(), count, [pa.py_buffer(np.packbits(present, bitorder="little")), pa.py_buffer(taken)]
        )
        values = values.take(indices)
    return values.cast(pa.binary())


def _read_geometries(texts: np.ndarray, indexes: list[int], reject) -> np.ndarray:
    """GEOS's reading of the features ``texts`` (their geometry; None where it is unreadable, rejected)."""
    geometry = shapely.from_geojson(texts, on_invalid="ignore")
    for position in np.flatnonzero(shapely.is_missing(geometry)).tolist():
        text = texts[position]  # GEOS may have balked at the rest of the feature: try the geometry alone
        parsed = _DECODER.decode(text if isinstance(text, str) else text.decode("utf-8"))["geometry"]
        geometry[position] = shapely.from_geojson(json.dumps(_plain(parsed)), on_invalid="ignore")
        if geometry[position] is None:
            reject(indexes[position], "unreadable_geometry", "geometry is not a readable GeoJSON geometry")
    return geometry


def _table(
    index: np.ndarray,
    feature_id: pa.Array,
    properties: dict[str, pa.Array],
    wkb: pa.Array,
    type_ids: np.ndarray,
    valid: np.ndarray,
) -> pa.Table:
    """The landed columns of some features, given their geometry as WKB, shapely type id (-1: none) and
    validity."""
    present = type_ids >= 0
    validity = None if present.all() else pa.py_buffer(np.packbits(present, bitorder="little"))
    kinds = pa.Array.from_buffers(pa.int32(), len(type_ids), [validity, pa.py_buffer(np.maximum(type_ids, 0))])
    return pa.table(
        {
            "feature_index": pa.Array.from_buffers(pa.int64(), len(index), [None, pa.py_buffer(index)]),
            "feature_id": feature_id,
            **properties,
            "geometry": wkb,
            "geometry_type": pa.DictionaryArray.from_arrays(kinds, _GEOMETRY_TYPE_NAMES).cast(pa.string()),
            "geometry_valid": _arrow_booleans(valid, present),
        }
    )


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


_QUOTE, _BACKSLASH, _NULL = ord('"'), ord("\\"), ord("n")
_NESTED = np.zeros(256, dtype=bool)
_NESTED[[ord("["), ord("{")]] = True


def _json_texts(raws: list) -> pa.Array:
    """What ``_text`` makes of each raw JSON value (``_ABSENT``: null), in bulk: a string without escapes is its
    bytes between the quotes, a number or boolean its bytes; null is null; only an escaped string or a nested
    value is decoded one by one."""
    count = len(raws)
    lengths = np.fromiter(map(len, raws), dtype=np.int64, count=count)
    starts = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(lengths, out=starts[1:])
    if starts[-1] >= 2**31:  # beyond 32-bit offsets
        return _arrow_texts([_raw_text(raw) for raw in raws], pa.string())
    data = np.frombuffer(b"".join(raws), dtype=np.uint8)
    first = np.zeros(count, dtype=np.uint8)
    present = lengths > 0
    first[present] = data[starts[:-1][present]]
    quoted = first == _QUOTE
    null_literal = first == _NULL
    special = _NESTED[first]
    backslashes = np.flatnonzero(data == _BACKSLASH)
    if len(backslashes):  # (only inside a string: a number, boolean or null has none)
        special[np.searchsorted(starts, backslashes, side="right") - 1] = True
    keep = np.ones(len(data), dtype=bool)  # the bytes that are text: not a string's quotes, not "null"
    keep[starts[:-1][quoted]] = False
    keep[starts[1:][quoted] - 1] = False
    keep[(starts[:-1][null_literal][:, None] + np.arange(4)).ravel()] = False
    if special.any():  # their bytes go too: they are replaced below
        ends = np.zeros(len(data) + 1, dtype=np.int64)
        np.add.at(ends, starts[:-1][special], 1)
        np.add.at(ends, starts[1:][special], -1)
        keep &= np.cumsum(ends[:-1]) == 0
    valid = present & ~null_literal & ~special
    offsets = np.zeros(count + 1, dtype=np.int32)
    np.cumsum(np.where(valid, lengths - 2 * quoted, 0), out=offsets[1:])
    validity = None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))
    buffers = [validity, pa.py_buffer(offsets), pa.py_buffer(data[keep])]
    array = pa.Array.from_buffers(pa.string(), count, buffers, null_count=int(count - valid.sum()))
    if special.any():
        replacements = [_raw_text(raws[position]) for position in np.flatnonzero(special).tolist()]
        mask = _arrow_booleans(special, np.ones(count, dtype=bool))
        array = pc.replace_with_mask(array, mask, _arrow_texts(replacements, pa.string()))
    return array


def _raw_text(raw) -> str | None:
    """``_text`` of one raw JSON value (``_ABSENT``: None)."""
    return _text(_DECODER.decode(bytes(raw).decode("utf-8"))) if len(raw) else None


# GeoJSON geometry types read from a flat coordinate array: (shapely type, nesting depth of "coordinates",
# fewest members an array needs at each depth above the positions, whether the innermost arrays are rings)
_RAGGED = {
    "Point": (shapely.GeometryType.POINT, 1, (), False),
    "LineString": (shapely.GeometryType.LINESTRING, 2, (2,), False),
    "MultiPoint": (shapely.GeometryType.MULTIPOINT, 2, (1,), False),
    "Polygon": (shapely.GeometryType.POLYGON, 3, (1, 4), True),
    "MultiLineString": (shapely.GeometryType.MULTILINESTRING, 3, (1, 2), False),
    "MultiPolygon": (shapely.GeometryType.MULTIPOLYGON, 4, (1, 1, 4), True),
}
_ORIENTATION_BOUND = 3.3306690738754716e-16  # Shewchuk's ccwerrboundA, (3 + 16 eps) eps
_NUMBER, _OPENING, _CLOSING, _SEPARATING = 1, 2, 3, 4  # what a byte of "coordinates" may be (0: none of these)
_BYTE_CLASS = np.zeros(256, dtype=np.uint8)
_BYTE_CLASS[list(b"0123456789+-.eE")] = _NUMBER
_BYTE_CLASS[ord("[")], _BYTE_CLASS[ord("]")] = _OPENING, _CLOSING
_BYTE_CLASS[list(b", \t\r\n")] = _SEPARATING


def _ragged_geometries(kind: str, raws: list) -> tuple[np.ndarray, list[pa.Array], np.ndarray]:
    """Geometries of ``kind`` from the raw JSON of their ``coordinates``, for those that are plain 2D numbers
    GEOS's reader would take as they are: ``(validity, ISO WKB arrays, positions in raws)``; the rest are for
    GEOS to judge (no position, a third dimension, an empty part, a ring not closed, a number beyond a double...).
    ``RAGGED_SLICE`` at a time: the arrays that reads them then stay in the processor's cache."""
    valid, wkb, taken = [], [], []
    for first in range(0, len(raws), RAGGED_SLICE):
        part = raws[first : first + RAGGED_SLICE]
        chosen = np.arange(len(part))
        while len(chosen):
            validity, part_wkb, refused = _try_ragged(kind, part)
            if validity is not None:
                valid.append(validity)
                wkb.append(part_wkb)
                taken.append(chosen + first)
                break
            chosen = chosen[~refused]
            part = [raws[first + i] for i in chosen.tolist()]
    if not taken:
        return np.zeros(0, dtype=bool), [], np.zeros(0, dtype=np.int64)
    return np.concatenate(valid), wkb, np.concatenate(taken)


def _try_ragged(kind: str, raws: list) -> tuple[np.ndarray | None, pa.Array | None, np.ndarray]:
    """``(validity, WKB, _)`` if every raw is taken, else ``(None, None, which are not)`` (the others'
    structure is only sure once those are out of the buffer)."""
    _, depth, fewest, rings = _RAGGED[kind]
    lengths = np.fromiter(map(len, raws), dtype=np.int64, count=len(raws))
    starts = np.zeros(len(raws), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    data = np.frombuffer(b"".join(raws), dtype=np.uint8)
    refused = lengths == 0

    def refuse(offsets: np.ndarray) -> None:
        refused[np.searchsorted(starts, offsets, side="right") - 1] = True

    if data.max() <= ord("]") and not (data == ord('"')).any() and not (data == ord("+")).any():
        # (JSON without strings, objects or lower-case letters: numbers, brackets, commas and blanks only)
        bracket = (data & 0xF9) == 0x59  # "[" or "]", of the bytes that can be here
        numeric = (data >= ord("-")) & ~bracket
    else:
        classes = _BYTE_CLASS[data]
        if not classes.all():
            refuse(np.flatnonzero(classes == 0))  # a string, object, true/false/null: not a number
        bracket, numeric = (classes & 0b110) == 0b010, classes == _NUMBER
    refused[~refused] |= data[starts[~refused]] != ord("[")
    if refused.any():
        return None, None, refused
    edges = np.flatnonzero(numeric[1:] != numeric[:-1]) + 1  # every raw starts with "[" and ends with "]"
    number_starts, number_ends = edges[0::2], edges[1::2]
    brackets = np.flatnonzero(bracket)
    opening = data[brackets] == ord("[")
    level = np.cumsum(np.where(opening, 1, -1), dtype=np.int64)  # nesting depth after each bracket
    refuse(brackets[opening & (level > depth)])
    if refused.any():
        return None, None, refused
    arrays = [brackets[opening & (level == d)] for d in range(1, depth + 1)]  # the arrays opened at each depth
    # every number must be in a position (an array at the innermost depth, that holds no array), two to each:
    # among the positions' bounds, in order, a number in one comes after an opening bound
    bounds = np.empty(2 * len(arrays[-1]), dtype=np.int64)
    bounds[0::2], bounds[1::2] = arrays[-1], brackets[~opening & (level == depth - 1)]
    slots = np.searchsorted(bounds, number_starts)
    if not (inside := (slots & 1) == 1).all():
        refuse(number_starts[~inside])
        return None, None, refused
    refuse(arrays[-1][np.bincount(slots >> 1, minlength=len(arrays[-1])) != 2])
    offsets = []
    for d in range(depth - 1):
        members = np.append(np.searchsorted(arrays[d + 1], arrays[d]), len(arrays[d + 1]))
        refuse(arrays[d][np.diff(members) < fewest[d]])
        offsets.append(members)
    if refused.any():
        return None, None, refused
    number_offsets = np.zeros(len(number_starts) + 1, dtype=np.int64)
    np.cumsum(number_ends - number_starts, out=number_offsets[1:])
    texts = pa.Array.from_buffers(
        pa.large_string(), len(number_starts), [None, pa.py_buffer(number_offsets), pa.py_buffer(data[numeric])]
    )
    doubles = pc.cast(texts, pa.float64())  # (not .to_numpy(): it imports pandas, a second)
    values = np.frombuffer(doubles.buffers()[1], dtype=np.float64, count=len(doubles), offset=8 * doubles.offset)
    # GEOS reads the integer -0 as 0 (an integer has no sign of zero), Arrow as the double -0.0
    values = np.where((values == 0) & (number_ends - number_starts == 2), 0.0, values)
    refuse(number_starts[~np.isfinite(values)])
    coordinates = values.reshape(-1, 2)
    if rings:
        first, last = coordinates[offsets[-1][:-1]], coordinates[offsets[-1][1:] - 1]
        refuse(arrays[-2][(first != last).any(axis=1)])
    if refused.any():
        return None, None, refused
    return _validity(kind, coordinates, offsets, len(raws)), _wkb(kind, coordinates, offsets), refused


def _validity(kind: str, coordinates: np.ndarray, offsets: list, count: int) -> np.ndarray:
    """GEOS's verdict on the validity of ragged geometries of ``kind``. A polygon of one small ring is judged in
    bulk where that is sure to agree; the others are made and asked, ``VALIDITY_SLICE`` at a time (so many
    shapely geometries alive at once would have the garbage collector walk the whole heap)."""
    valid, decided = np.zeros(count, dtype=bool), np.zeros(count, dtype=bool)
    if kind == "Polygon":
        valid, decided = _simple_polygon_validity(coordinates, offsets[1], offsets[0])
    for first in range(0, count, VALIDITY_SLICE):
        low, high, sliced = first, min(first + VALIDITY_SLICE, count), []
        if decided[low:high].all():
            continue
        for members in offsets:
            part = members[low : high + 1]
            sliced.append(part - part[0])
            low, high = part[0], part[-1]
        shapes = shapely.from_ragged_array(_RAGGED[kind][0], coordinates[low:high], tuple(reversed(sliced)) or None)
        valid[first : first + len(shapes)] = shapely.is_valid(shapes)
    return valid


def _simple_polygon_validity(
    coordinates: np.ndarray, ring_offsets: np.ndarray, polygon_offsets: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``(valid, decided)``: GEOS's validity of the polygons that are one ring of at most ``SIMPLE_RING_MAX``
    vertices, where it is sure. Such a ring is valid if no two of its edges that do not follow each other cross;
    decided when every orientation that takes is certain and not collinear (no touching, no repeated point,
    no spike: those, and every other polygon, are for GEOS)."""
    count = len(polygon_offsets) - 1
    valid, decided = np.zeros(count, dtype=bool), np.zeros(count, dtype=bool)
    one_ring = np.diff(polygon_offsets) == 1
    ring_starts = ring_offsets[polygon_offsets[:-1]]
    vertices = np.diff(ring_offsets)[polygon_offsets[:-1]] - 1  # (the closing position repeats the first)
    for size in range(3, SIMPLE_RING_MAX + 1):  # (not np.unique: it imports numpy.ma, a third of a second)
        if not len(which := np.flatnonzero(one_ring & (vertices == size))):
            continue
        ring = coordinates[ring_starts[which][:, None] + np.arange(size)]  # (polygons, vertices, 2)
        valid[which], decided[which] = _simple_ring_validity(ring)
    return valid, decided


def _simple_ring_validity(ring: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(valid, decided)`` of closed rings given by their vertices, ``(rings, n, 2)``: see the caller."""
    size = ring.shape[1]
    decided, crossing = np.ones(len(ring), dtype=bool), np.zeros(len(ring), dtype=bool)
    for i in range(size):  # no vertex on the line of its neighbours (a spike, a repeated point)
        sign, certain = _orientation(ring[:, i - 1], ring[:, i], ring[:, (i + 1) % size])
        decided &= certain & (sign != 0)
    edge_pairs = [(i, j) for i in range(size) for j in range(i + 2, size) if (i, j) != (0, size - 1)]
    for i, j in edge_pairs:  # (the edges that do not follow each other)
        a, b, c, d = ring[:, i], ring[:, i + 1], ring[:, j], ring[:, (j + 1) % size]
        (ab_c, sure_c), (ab_d, sure_d) = _orientation(a, b, c), _orientation(a, b, d)
        (cd_a, sure_a), (cd_b, sure_b) = _orientation(c, d, a), _orientation(c, d, b)
        decided &= sure_a & sure_b & sure_c & sure_d & (ab_c != 0) & (ab_d != 0) & (cd_a != 0) & (cd_b != 0)
        crossing |= (ab_c != ab_d) & (cd_a != cd_b)
    return ~crossing, decided


def _orientation(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sign of the turn a -> b -> c, and whether the rounded determinant is sure to have the exact sign
    (Shewchuk's error bound for orient2d; not where the products could have lost precision to underflow)."""
    left = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1])
    right = (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    determinant, magnitude = left - right, np.abs(left) + np.abs(right)
    certain = (np.abs(determinant) > _ORIENTATION_BOUND * magnitude) & (magnitude > 1e-250) & np.isfinite(determinant)
    return np.sign(determinant), certain


# ISO WKB headers of each GeoJSON type, from the geometry down: (WKB type or None, whether a member count follows).
# The deepest one comes before each of its arrays' coordinates, the others before their first descendant's.
_WKB_HEADERS = {
    "Point": ((1, False),),
    "LineString": ((2, True),),
    "MultiPoint": ((4, True), (1, False)),
    "Polygon": ((3, True), (None, True)),
    "MultiLineString": ((5, True), (2, True)),
    "MultiPolygon": ((6, True), (3, True), (None, True)),
}


def _wkb(kind: str, coordinates: np.ndarray, offsets: list[np.ndarray]) -> pa.Array:
    """The little-endian ISO WKB of ragged geometries of ``kind`` (as GEOS writes it), built in bulk: the
    coordinates' bytes with each array's header inserted before them. ``offsets[d]``: where each array at depth
    d + 1 of "coordinates" starts among those at depth d + 2."""
    headers = _WKB_HEADERS[kind]
    deepest = len(headers)  # depth of the arrays whose coordinates follow their header directly
    count = len(offsets[deepest - 1]) - 1 if deepest <= len(offsets) else len(coordinates)
    first_position = offsets[deepest - 1][:-1] if deepest <= len(offsets) else np.arange(count)
    widths = [(5 if kind_code else 0) + (4 if counted else 0) for kind_code, counted in headers]
    record = np.zeros((count, sum(widths)), dtype=np.uint8)
    present = np.zeros((count, sum(widths)), dtype=bool)
    column = 0
    for depth, ((kind_code, counted), width) in enumerate(zip(headers, widths, strict=True), start=1):
        rows = np.arange(len(offsets[depth - 1]) - 1 if depth <= len(offsets) else count)
        for inner in range(depth, deepest):  # the first descendant at the deepest header depth
            rows = offsets[inner - 1][rows]
        if depth == 1:
            geometry_rows = rows
        at = column
        if kind_code:
            record[rows, at] = 1  # little-endian
            record[rows, at + 1 : at + 5] = np.frombuffer(np.uint32(kind_code).astype("<u4").tobytes(), np.uint8)
            at += 5
        if counted:
            members = np.diff(offsets[depth - 1]).astype("<u4")
            record[rows, at : at + 4] = members.view(np.uint8).reshape(-1, 4)
        present[rows, column : column + width] = True
        column += width
    sizes = present.sum(axis=1)
    headers = record[present]
    points = coordinates.astype("<f8").view(np.uint8).ravel()
    wkb = np.empty(len(points) + len(headers), dtype=np.uint8)
    header_at = np.repeat(first_position * 16, sizes) + np.arange(len(headers))  # (each byte before its point)
    wkb[header_at] = headers
    is_point = np.ones(len(wkb), dtype=bool)
    is_point[header_at] = False
    wkb[is_point] = points
    before = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(sizes, out=before[1:])
    starts = np.append(first_position[geometry_rows] * 16 + before[geometry_rows], len(wkb))
    return pa.Array.from_buffers(pa.large_binary(), len(geometry_rows), [None, pa.py_buffer(starts), pa.py_buffer(wkb)])


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
