"""Department systems that deliver files into a folder: daily CSV exports, monthly Excel workbooks.

``FileDropSource(name, directory)`` lands the files matching a table's ``options["pattern"]`` (a glob
relative to ``directory``), in name order, each exactly once. Options per table:

- ``pattern`` (required), ``format``: ``csv`` (default) or ``xlsx``;
- ``header_row``: 1-based row of the header (default 1), for workbooks with title rows above it;
- ``renames``: ``{old header: current header}`` for a column renamed during the history;
- ``columns``: the expected header (after renames); by default the header landed before, else the
  first readable file's; ``sheet``: the worksheet (default the first);
- ``min_age_seconds``: a file modified less than this long ago may still be being written (a department
  that uploads in place, not under a temporary name): it waits for a later run, listed in
  ``state["last_run"]["waiting"]`` (default 0: every file is taken as it is).

Every value lands as text (typing is dbt's job; an empty field or cell lands as null) under the
file's own (Chinese) header, plus ``_source_file`` (path relative to ``directory``) and
``_source_row`` (1-based position after the header, blank rows counted, so a workbook's sheet row is
``header_row + _source_row``).

**Exactly once.** ``state["files"]`` maps each landed file to its sha256. An unchanged file is
skipped; the same name with other content is a re-delivery, landed again and listed in
``state["last_run"]["redelivered"]`` (downstream keeps the latest delivery of each file). A rejected
file is not marked landed, so a corrected re-delivery is picked up; it is remembered in
``state["rejected"]`` with its sha256 and the options it was judged under, and is not reported again
until its content or those options change. A file whose size or modification time after its rows were
read differ from before it was first read changed while being landed (an upload in place): the run fails
(``RuntimeError``) rather than land rows its sha256 does not cover, and the next run reads it again.

**Encoding** (CSV). Decided from the whole file before anything of it lands:

1. a UTF-8 BOM means UTF-8; the rest must then decode strictly as UTF-8;
2. a file with only ASCII bytes is the same text in both encodings;
3. otherwise the file is decoded strictly as UTF-8 and as GB18030. If exactly one succeeds, that is the
   encoding. If both succeed the file is **ambiguous** and rejected: GB18030 text is almost never
   valid UTF-8 and UTF-8 Chinese text almost never valid GB18030 (a UTF-8 three-byte character
   leaves GB18030 out of step, and the following comma or ``0x80`` byte is illegal), so this only
   happens to very short files, where guessing would risk landing mojibake. If neither succeeds the
   file is rejected. Either way the rule is ``encoding``.

A file whose last bytes are an incomplete character of its encoding was cut short; it is decoded up
to that character and its last row is treated as truncated.

**Truncated files** (a failed transfer): the complete rows land and the broken last row is rejected
(rule ``truncated_row``, with the file and row). The last row is broken when the file does not end
with a line break and the row has fewer fields than the header, ends inside a quoted field or inside
a multi-byte character. Landing the complete rows rather than rejecting the file keeps the day's data
available, costs no extra pass or buffering, and loses nothing: a corrected re-delivery has another
sha256 and supersedes the partial file. (A cut exactly at a line break cannot be told from a complete
file; the sender's row counts would be needed.) A row with the wrong number of fields elsewhere is
rejected as ``malformed_row``.

**Schema drift**: a header that differs from the established one (beyond declared renames; order
does not matter) rejects the file (rule ``schema_drift``), naming the added and missing columns.
Other rules: ``empty_file`` (no header), ``unreadable`` (a workbook that cannot be opened or read to
its end). Nothing here raises on bad input; a missing directory raises ``FileNotFoundError``.

Memory: CSV files are streamed (byte chunks, rows through ``pyarrow.csv`` or ``csv``) into record
batches of ``batch_size`` rows, and read three times (hash and encoding check, header, rows), so that
nothing of a file that turns out to be bad has been emitted. A file Arrow cannot read exactly as the strict
``csv`` reader would (see ``_Run._csv_fast``) is read, from the rows not yet emitted, by ``csv``, so the
result is the same.

Workbooks: a sheet whose XML is at most ``LOADED_SHEET_MAX_BYTES`` (256 MiB; a month of the city's tax
ratings is 229 MB) is loaded whole by calamine (Rust), which is also the check that it reads to its end;
memory is then about 1.5 times that XML. A larger sheet, or one holding a cell calamine would render
otherwise, is streamed twice by read-only openpyxl (check, rows), about ten times slower. Either way the
cells become text column by column (``_texts``), as ``_cell_text`` says cell by cell (see ``_Workbook``).

GB18030 is decoded by the C library's iconv(3), called through ctypes a chunk at a time (``_Iconv``):
1.4 to 4 times faster than Python's codec (by machine), without the GIL, and its strict refusal of bad
input is the check. The encoding check runs it in two threads while this one checks the file, and its text
goes to a temporary UTF-8 file that Arrow then reads: the file is decoded once, and memory stays a few
chunks. Where iconv maps a code otherwise than Python's GB18030-2000 codec (some private-use
characters), or refuses the file, Python's codec decodes and judges the file as above (its text written
to that file instead), so what lands never depends on which did. (DuckDB's ``encodings`` extension was
measured too: its GB18030 decoding ran at 6 MB/s and refused valid four-byte characters.)
"""

from __future__ import annotations

import codecs
import contextlib
import copy
import csv
import ctypes
import datetime as dt
import errno
import functools
import hashlib
import io
import itertools
import json
import logging
import math
import posixpath
import queue
import re
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from connectors.base import Extraction, Rejection, file_sha256
from connectors.registry import TableSpec

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 50_000
CHUNK_BYTES = 1 << 20
SNIFF_CHUNK_BYTES = 8 << 20  # large chunks: decoding is cheaper per byte
ARROW_BLOCK_BYTES = 1 << 20
HEADER_PREFIX_BYTES = 1 << 20
LINEAGE_FILE, LINEAGE_ROW = "_source_file", "_source_row"
FORMATS = ("csv", "xlsx")
LOADED_SHEET_MAX_BYTES = 256 << 20  # a worksheet's XML, uncompressed, that calamine may load whole
SHEET_CHUNK_ROWS = 10_000  # sheet rows made Python values at a time, then columns: few at once, cheaper per row
_LONG_INTEGER = re.compile(rb"<v>(-?[0-9]{16,})</v>")  # a cell's integer literal that a double may not hold
_SPREADSHEET = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
UTF8, UTF8_BOM, GB18030 = "utf-8", "utf-8-sig", "gb18030"


class _FileRejectedError(Exception):
    """A whole file is refused; carries the rule and the message for its ``Rejection``."""

    def __init__(self, rule: str, message: str, row: int | None = None):
        super().__init__(message)
        self.rule, self.message, self.row = rule, message, row


@dataclass(frozen=True)
class Sniffed:
    """How a CSV file decodes: the encoding to read it with and how many bytes of it are whole characters."""

    encoding: str
    readable_bytes: int
    cut_character: bool  # the file ends inside a multi-byte character
    ends_with_newline: bool
    # Every quote opens or closes a quoted field as the csv module's strict reader reads it (no quote errors,
    # no quote left open at the end) and there is no NUL: the file may take the vectorised path.
    plain_quoting: bool = False
    quoted_line_breaks: bool = True  # some quoted field holds CR or LF (Arrow then parses more slowly)


def sniff_encoding(path: Path) -> Sniffed:
    """The file's encoding by the rule in the module docstring; raises ``_FileRejectedError`` (rule encoding)."""
    return _sniff_file(path, None)


def _sniff_file(path: Path, sink, digest=None, use_iconv: bool = False) -> Sniffed | None:
    """``sniff_encoding``; when the file is GB18030, its text is also written to ``sink`` as UTF-8 (one decode).
    ``digest``, if given, is updated with every byte of a file that is not rejected.

    With ``use_iconv`` (and a ``sink``), a file that is not UTF-8 is checked and converted into ``sink`` by
    iconv(3) instead (``_IconvCheck``), in two threads while this one checks; None when iconv
    cannot vouch for the file (it refused it, or the file may hold a code iconv decodes otherwise than
    Python): decode it with Python then, into a new sink.
    """
    utf8 = codecs.getincrementaldecoder(UTF8)("strict")
    gb = codecs.getincrementaldecoder(GB18030)("strict")
    utf8_ok = gb_ok = True
    ascii_only, size, last, bom = True, 0, b"", False
    quotes, nul = _QuoteCheck(), False
    iconv: _IconvCheck | None = None
    with path.open("rb") as handle, contextlib.ExitStack() as cleanup:
        while chunk := handle.read(SNIFF_CHUNK_BYTES):
            if size == 0:
                bom = chunk.startswith(codecs.BOM_UTF8)
            before, size = size, size + len(chunk)
            if digest is not None:
                digest.update(chunk)
            last = chunk[-1:]
            ascii_only = ascii_only and chunk.isascii()
            nul = nul or b"\x00" in chunk
            quotes.feed(chunk)
            utf8_was_ok = utf8_ok
            utf8_ok = utf8_ok and _feeds(utf8, chunk)
            if bom:
                if not utf8_ok:
                    break  # rejected whatever the rest holds
                continue  # a BOM settles UTF-8: GB18030 does not matter
            if use_iconv and iconv is None and gb_ok and not utf8_ok:
                iconv = cleanup.enter_context(_IconvCheck(sink))
                iconv.feed_prefix(handle, before)
            if iconv is not None:
                iconv.feed(chunk)
                continue
            if gb_ok and sink is not None and not utf8_ok:
                if utf8_was_ok and before:  # the text so far was written nowhere: decode it again into the sink
                    gb = _decode_prefix_into(handle, before, sink)
                gb_ok = _feeds(gb, chunk, sink)
            else:
                gb_ok = gb_ok and _feeds(gb, chunk)
            if not utf8_ok and not gb_ok:
                break
        if iconv is not None and not iconv.vouches():
            return None
    utf8_pending = _pending(utf8) if utf8_ok else 0
    gb_pending = _pending(gb) if gb_ok and iconv is None else 0
    if bom:
        if not utf8_ok:
            raise _FileRejectedError("encoding", "starts with a UTF-8 byte order mark but is not valid UTF-8")
        encoding, pending = UTF8_BOM, utf8_pending
    elif ascii_only:
        encoding, pending = UTF8, 0
    elif utf8_ok and gb_ok:
        raise _FileRejectedError(
            "encoding", "ambiguous: decodes both as UTF-8 and as GB18030; re-deliver in GB18030 or with a UTF-8 BOM"
        )
    elif utf8_ok:
        encoding, pending = UTF8, utf8_pending
    elif gb_ok:
        encoding, pending = GB18030, gb_pending
    else:
        raise _FileRejectedError("encoding", "neither UTF-8 nor GB18030")
    plain = quotes.consistent() and not nul
    return Sniffed(
        encoding, size - pending, pending > 0, pending == 0 and last in (b"\n", b"\r"), plain,
        quotes.line_breaks_inside,
    )  # fmt: skip


def _decode_prefix_into(handle, limit: int, sink) -> codecs.IncrementalDecoder:
    """A GB18030 decoder fed the first ``limit`` bytes of ``handle`` (known to decode), their text in ``sink``."""
    decoder = codecs.getincrementaldecoder(GB18030)("strict")
    for chunk in _reread(handle, limit):
        sink.write(decoder.decode(chunk).encode(UTF8))
    return decoder


def _reread(handle, limit: int) -> Iterator[bytes]:
    """The first ``limit`` bytes of ``handle`` again, in sniffing chunks; then back to where it was."""
    position = handle.tell()
    handle.seek(0)
    while limit > 0:
        chunk = handle.read(min(SNIFF_CHUNK_BYTES, limit))
        limit -= len(chunk)
        yield chunk
    handle.seek(position)


@functools.cache
def _libc_iconv() -> tuple | None:
    """The C library's ``iconv_open``, ``iconv`` and ``iconv_close`` through ctypes, or None."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)  # the process's own symbols: the C library is among them
        iconv_open, iconv, iconv_close = libc.iconv_open, libc.iconv, libc.iconv_close
    except (OSError, AttributeError):
        return None
    iconv_open.restype, iconv_open.argtypes = ctypes.c_void_p, [ctypes.c_char_p, ctypes.c_char_p]
    buffer_p, size_p = ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(ctypes.c_size_t)
    iconv.restype, iconv.argtypes = ctypes.c_size_t, [ctypes.c_void_p, buffer_p, size_p, buffer_p, size_p]
    iconv_close.restype, iconv_close.argtypes = ctypes.c_int, [ctypes.c_void_p]
    return iconv_open, iconv, iconv_close


class _Iconv:
    """GB18030 to UTF-8 by the C library's iconv(3): four times the speed of Python's codec, in this process
    (ctypes releases the GIL during the call), a chunk at a time. An incomplete character at the end of a
    chunk waits for the next; ``refused`` is set at a code iconv refuses, and nothing after it is converted.
    """

    def __init__(self):
        functions = _libc_iconv()
        if functions is None:
            raise OSError("no iconv(3) in the C library")
        iconv_open, self._iconv, self._close = functions
        self._cd = iconv_open(UTF8.encode(), GB18030.encode())
        if self._cd is None or self._cd == ctypes.c_void_p(-1).value:
            raise OSError(f"iconv(3) cannot convert GB18030: errno {ctypes.get_errno()}")
        self._out = ctypes.create_string_buffer(0)
        self.pending = b""  # an incomplete character at the end of the input so far
        self.refused = False

    def convert(self, chunk: bytes) -> bytes:
        """The UTF-8 of ``chunk`` after what was pending."""
        if self.refused:
            return b""
        data = self.pending + chunk if self.pending else chunk
        capacity = 2 * len(data) + 16  # UTF-8 takes at most 3 bytes for GB18030's 2 and 4 for its 4
        if len(self._out) < capacity:
            self._out = ctypes.create_string_buffer(capacity)
        source, source_left = ctypes.c_char_p(data), ctypes.c_size_t(len(data))  # points into ``data``: no copy
        target, target_left = ctypes.cast(self._out, ctypes.c_char_p), ctypes.c_size_t(capacity)
        result = self._iconv(self._cd, source, source_left, target, target_left)  # byref, by the argtypes
        self.pending = b""
        if result == ctypes.c_size_t(-1).value:
            if ctypes.get_errno() == errno.EINVAL:  # an incomplete character at the end: wait for the rest
                self.pending = data[len(data) - source_left.value :]
            else:  # EILSEQ: a code iconv refuses
                self.refused = True
        return ctypes.string_at(self._out, capacity - target_left.value)

    def close(self) -> None:
        if self._cd is not None:
            self._close(self._cd)
            self._cd = None

    def __enter__(self) -> _Iconv:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _iconv_text(data: bytes) -> str | None:
    """``data`` decoded by iconv(3), or None where it refuses it or ends inside a character."""
    with _Iconv() as iconv:
        text = iconv.convert(data)
        return None if iconv.refused or iconv.pending else text.decode(UTF8)


@functools.cache
def _iconv_differences() -> tuple[np.ndarray, bytes, frozenset[str]] | None:
    """The GB18030 codes the C library's iconv(3) decodes otherwise than Python's codec, found once per process.

    glibc follows GB18030-2005/2022 where Python keeps GB18030-2000 (some private-use mappings moved to
    standard characters), so a file holding such a code must be decoded by Python. Every 2-byte code and the
    4-byte codes of the BMP (and two leads of the supplementary planes) go through both; returns the leading
    byte pairs of the codes that differ (as a table of the 65,536 pairs, and as a ``bytes.translate`` table
    classing each byte as a pair's first byte (1), second byte (2) or both), and Python's characters for
    those codes; None without an iconv(3) that refuses what Python refuses.
    """
    if _libc_iconv() is None:
        return None
    codes = _probe_codes()  # a code per row, NUL-padded to 4 bytes
    lengths = np.where(codes[:, 2] == 0, 2, 4)
    # one decode of all the codes, a line each: a refused code's replacement never swallows the line break
    python = _first_characters(_joined_lines(codes, lengths).decode(GB18030, "replace").split("\n")[:-1])
    valid = np.flatnonzero((python[1] == 1) & (python[0] != ord("\ufffd")))
    try:
        glibc = _first_characters(_iconv_lines(_joined_lines(codes[valid], lengths[valid]), lengths[valid] + 1))
        lenient = any(_iconv_text(code) is not None for code in _NOT_GB18030)
    except (OSError, UnicodeDecodeError) as error:
        log.warning("iconv(3) unusable, GB18030 is decoded by Python: %s", error)
        return None
    if lenient or len(glibc[0]) != len(valid):
        return None  # lenient where Python's codec refuses, or out of step: not a check of the encoding
    differing = valid[(glibc[1] != 1) | (glibc[0] != python[0][valid])]
    pairs, classes = np.zeros(1 << 16, dtype=bool), bytearray(256)
    for first, second in codes[differing, :2].tolist():
        pairs[first << 8 | second] = True
        classes[first] |= 1
        classes[second] |= 2
    return pairs, bytes(classes), frozenset(chr(character) for character in python[0][differing].tolist())


def _probe_codes() -> np.ndarray:
    """Every 2-byte GB18030 code, then the 4-byte codes of leads 0x81-0x84, 0x90 and 0xE3 (the BMP's, and two
    leads of the supplementary planes), as rows of 4 bytes (a 2-byte code's last two are NUL)."""
    seconds = np.array([*range(0x40, 0x7F), *range(0x80, 0xFF)], dtype=np.uint8)
    leads = np.arange(0x81, 0xFF, dtype=np.uint8)
    digits, highs = np.arange(0x30, 0x3A, dtype=np.uint8), np.arange(0x81, 0xFF, dtype=np.uint8)
    two = np.stack(np.meshgrid(leads, seconds, indexing="ij"), axis=-1).reshape(-1, 2)
    four_leads = np.array([0x81, 0x82, 0x83, 0x84, 0x90, 0xE3], dtype=np.uint8)
    four = np.stack(np.meshgrid(four_leads, digits, highs, digits, indexing="ij"), axis=-1).reshape(-1, 4)
    return np.concatenate([np.pad(two, ((0, 0), (0, 2))), four])


def _joined_lines(codes: np.ndarray, lengths: np.ndarray) -> bytes:
    """The codes, each followed by a line break."""
    lines = np.concatenate([codes, np.full((len(codes), 1), ord("\n"), dtype=np.uint8)], axis=1)
    keep = np.arange(5) < lengths[:, None]  # the code's own bytes
    keep[:, 4] = True  # and its line break
    return lines[keep].tobytes()


def _first_characters(lines: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Each line's first code point (0 for an empty line) and its length in characters."""
    text = np.array(lines)
    return text.view(np.uint32).reshape(len(lines), -1)[:, 0], np.char.str_len(text)


def _iconv_lines(data: bytes, sizes: np.ndarray) -> list[str]:
    """Each line of ``data`` (``sizes``: its lines' byte counts, line break included) decoded by iconv(3) ("" where
    it refuses it), converting them in one call and resuming after the line of each refused one."""
    starts = np.concatenate([[0], np.cumsum(sizes)])
    decoded: list[str] = []
    while len(decoded) < len(sizes):
        with _Iconv() as iconv:
            text = iconv.convert(data[starts[len(decoded)] :]).decode(UTF8)
        decoded += text.split("\n")[:-1]  # the complete lines; after a refusal, the refused code's line is not
        if iconv.refused:
            decoded.append("")
    return decoded


# Bytes Python's GB18030 codec refuses: a single 0x80 or 0xFF, a bad second byte, an unassigned or cut code.
_NOT_GB18030 = (b"\x80", b"\xff", b"\x81\x20", b"\x81\x7f", b"\x81\x30\x20\x30", b"\x85\x30\x81\x30", b"\x81")


class _IconvCheck:
    """Whether iconv(3) converts a GB18030 file exactly as Python's codec would, fed the file chunk by chunk:
    it takes every byte, ends on a character boundary, and no code it decodes otherwise than Python occurs.
    The text it converts goes to ``sink``: used only when it vouches.

    iconv runs in two threads (ctypes releases the GIL), each converting half of the chunk, while ``feed``
    looks through it for such a code. The halves meet at a line break, which is never inside a GB18030
    character, so each converter starts on a character boundary; only the second half's unfinished last
    character waits, and the next chunk's first half takes it over.
    A leading byte pair of one (see ``_iconv_differences``) may also be the end of one character and the
    start of the next; the line holding it is then decoded by Python to see which (line breaks never occur
    inside a GB18030 character). Either way a few hundred lines of a large file at most.
    """

    def __init__(self, sink):
        self.pairs, self.classes, self.characters = _iconv_differences()
        self._sink = sink
        self._converters = (_Iconv(), _Iconv())
        self._threads = ThreadPoolExecutor(2, thread_name_prefix="file_drop-iconv")
        self._converting: list[Future] = []
        self.last = -1  # the previous chunk's last byte
        self.suspect = False  # whether Python must decode the file
        # reused for every chunk: numpy asks for huge pages for a large array, and a fresh one per chunk had the
        # kernel zero them, a tenth of a GB18030 drop's CPU
        self._pairs_at = np.empty(0, dtype=np.uint8)

    def feed_prefix(self, handle, size: int) -> None:
        """Feed the first ``size`` bytes of ``handle``, read again (they looked like UTF-8 until now)."""
        for chunk in _reread(handle, size):
            self.feed(chunk)

    def feed(self, chunk: bytes) -> None:
        self._collect()
        first, second = self._converters
        first.pending, second.pending = first.pending + second.pending, b""  # one of them is empty
        half = chunk.find(b"\n", len(chunk) // 2) + 1 or chunk.rfind(b"\n", 0, len(chunk) // 2) + 1 or len(chunk)
        self._converting = [self._threads.submit(first.convert, chunk[:half])]
        if half < len(chunk):
            self._converting.append(self._threads.submit(second.convert, chunk[half:]))
        self._watch(chunk)

    def _collect(self) -> None:
        """Wait for the chunk being converted; its text goes to the sink in order."""
        for converting in self._converting:
            self._sink.write(converting.result())
        self._converting = []

    def _watch(self, chunk: bytes) -> None:
        """Look through the next chunk; a suspect pair whose line crosses into another chunk counts as found."""
        if self.suspect or not chunk:
            return
        if self.last >= 0 and self.pairs[self.last << 8 | chunk[0]]:
            self.suspect = True
            return
        self.last = chunk[-1]
        classes = np.frombuffer(chunk.translate(self.classes), dtype=np.uint8)
        if self._pairs_at.size < classes.size - 1:
            self._pairs_at = np.empty(classes.size - 1, dtype=np.uint8)
        # a pair's first byte, then a second: 0 or 1, viewed as bool (nonzero is many times faster on bool)
        pairs_at = np.right_shift(classes[1:], 1, out=self._pairs_at[: classes.size - 1])
        candidates = np.flatnonzero(np.bitwise_and(pairs_at, classes[:-1], out=pairs_at).view(bool))
        data = np.frombuffer(chunk, dtype=np.uint8)
        pairs = data[candidates].astype(np.uint16) << 8 | data[candidates + 1]
        for at in candidates[self.pairs[pairs]].tolist():
            start, end = chunk.rfind(b"\n", 0, at), chunk.find(b"\n", at)
            if start < 0 or end < 0:
                self.suspect = True
                return
            line = chunk[start + 1 : end].decode(GB18030, "replace")
            if any(character in line for character in self.characters):
                self.suspect = True
                return

    def vouches(self) -> bool:
        """Whether iconv took every byte fed, ending on a character boundary, and no suspect code occurred."""
        self._collect()
        return not (self.suspect or any(c.refused or c.pending for c in self._converters))

    def __enter__(self) -> _IconvCheck:
        return self

    def __exit__(self, *exc) -> None:
        self._threads.shutdown(wait=True)
        for converter in self._converters:
            converter.close()


class _BackgroundWriter:
    """A binary file written, and a sha256 fed, by a thread, so that the disk and the hash work while the next
    chunk decodes (both release the GIL); at most a few chunks are queued."""

    def __init__(self, path: Path):
        self._handle = path.open("wb")
        self.sha256 = hashlib.sha256()
        self._queue: queue.Queue[tuple[bool, bytes] | None] = queue.Queue(maxsize=4)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="file_drop-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            hashed, data = item
            if self._error is None:
                try:
                    if hashed:
                        self.sha256.update(data)
                    else:
                        self._handle.write(data)
                except BaseException as error:  # reported to the writer's owner on close
                    self._error = error

    def write(self, data: bytes) -> None:
        self._queue.put((False, data))

    def update(self, data: bytes) -> None:
        """Feed the sha256 (in the thread)."""
        self._queue.put((True, data))

    def __enter__(self) -> _BackgroundWriter:
        return self

    def __exit__(self, *exc) -> None:
        self._queue.put(None)
        self._thread.join()
        self._handle.close()
        if self._error is not None and exc[0] is None:
            raise self._error


class _QuoteCheck:
    """Whether every double quote of a CSV is one the strict ``csv`` reader and Arrow's parser read alike.

    Counting quotes from the start of the file, an odd one must open a quoted field (after a delimiter, a
    line break, the start of the file or the quote before it: a doubled quote) and an even one must close
    it (before a delimiter, a line break, the end of the file or the next quote); the count must end even.
    Quote, comma, CR and LF bytes never occur inside a multi-byte character of UTF-8 or GB18030.
    ``line_breaks_inside``: whether a CR or LF falls inside a quoted field (Arrow must then look for them).
    """

    OPEN_AFTER = np.array([ord(","), ord("\r"), ord("\n"), ord('"')], dtype=np.int16)

    def __init__(self):
        self.count, self.previous, self.closing_at_end, self.ok = 0, -1, False, True
        self.line_breaks_inside = False

    def feed(self, chunk: bytes) -> None:
        if not self.ok:
            return
        if self.closing_at_end and chunk[:1] not in (b",", b"\r", b"\n", b'"'):
            self.ok = False
            return
        self.closing_at_end = False
        if b'"' not in chunk:
            if self.count % 2 and (b"\n" in chunk or b"\r" in chunk):
                self.line_breaks_inside = True  # the whole chunk is inside a quoted field
        else:
            data = np.frombuffer(chunk, dtype=np.uint8)
            at = np.flatnonzero(data == ord('"'))
            if not self.line_breaks_inside:
                breaks = np.flatnonzero((data == ord("\n")) | (data == ord("\r")))
                quotes_before = self.count + np.searchsorted(at, breaks)
                self.line_breaks_inside = bool(np.any(quotes_before % 2))
            opening = (self.count + np.arange(at.size)) % 2 == 0
            before = np.where(at > 0, data[at - 1].astype(np.int16), self.previous)
            after = data[np.minimum(at + 1, data.size - 1)].astype(np.int16)
            last = at == data.size - 1
            open_ok = np.isin(before, self.OPEN_AFTER) | (before == -1)
            close_ok = np.isin(after, self.OPEN_AFTER) | last
            if not (np.all(open_ok[opening]) and np.all(close_ok[~opening])):
                self.ok = False
                return
            self.count += at.size
            self.closing_at_end = bool(last[-1] and not opening[-1])
        self.previous = chunk[-1]

    def consistent(self) -> bool:
        return self.ok and self.count % 2 == 0


def _feeds(decoder: codecs.IncrementalDecoder, chunk: bytes, sink=None) -> bool:
    try:
        text = decoder.decode(chunk)
    except UnicodeDecodeError:
        return False
    if sink is not None:
        sink.write(text.encode(UTF8))
    return True


def _pending(decoder: codecs.IncrementalDecoder) -> int:
    """Bytes of an unfinished character at the end of the input (0 if it ended on a character boundary)."""
    return len(decoder.getstate()[0])


class _Prefix(io.RawIOBase):
    """The first ``limit`` bytes of a binary file, as a raw stream (to drop a cut-off last character)."""

    def __init__(self, handle, limit: int):
        self._handle, self._left = handle, limit

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._handle.close()
        super().close()

    def readinto(self, buffer) -> int:
        if self._left <= 0:
            return 0
        view = memoryview(buffer)[: self._left]
        count = self._handle.readinto(view)
        self._left -= count
        return count


def _cell_text(value) -> str | None:
    """A workbook cell as text: whole numbers without '.0', midnight datetimes as dates, empty as null."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer() and abs(value) <= 2**53:  # every integer up to 2**53 is exact
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _texts(values: tuple) -> pa.Array:
    """``_cell_text`` of each value, as a string array; the kinds of column a sheet mostly has (text, whole
    numbers, dates) are converted in bulk."""
    kinds = set(map(type, values))
    if kinds <= {str, type(None)}:
        texts = pa.array(values, pa.string())
        return pc.if_else(pc.equal(texts, ""), pa.scalar(None, pa.string()), texts)
    if kinds == {float}:
        numbers = pa.array(values, pa.float64())
        if pc.all(pc.and_(pc.equal(pc.floor(numbers), numbers), pc.less_equal(pc.abs(numbers), 2.0**53))).as_py():
            return pc.cast(pc.cast(numbers, pa.int64()), pa.string())
    if kinds == {dt.date}:
        return pc.cast(pa.array(values, pa.date32()), pa.string())
    return pa.array([_cell_text(value) for value in values], pa.string())


def _with_last(items: Iterable) -> Iterator[tuple[object, bool]]:
    """Each item with whether it is the last one."""
    iterator = iter(items)
    try:
        previous = next(iterator)
    except StopIteration:
        return
    for item in iterator:
        yield previous, False
        previous = item
    yield previous, True


class FileDropSource:
    """A folder of file drops from one department system; ``name`` is ``<department>/<system>``."""

    def __init__(self, name: str, directory: Path, batch_size: int = DEFAULT_BATCH_SIZE):
        self.name = name
        self.directory = Path(directory)
        self.batch_size = batch_size

    def close(self) -> None:
        """Nothing stays open between files."""

    def extract(self, table: TableSpec, state: dict) -> Extraction:
        """The table's new and re-delivered files as string batches; see the module docstring."""
        if not self.directory.is_dir():
            raise FileNotFoundError(f"source {self.name}: drop directory {self.directory} does not exist")
        options = table.options
        pattern = options.get("pattern")
        file_format = options.get("format", "csv")
        if not pattern or file_format not in FORMATS:
            raise ValueError(
                f"source {self.name} table {table.name}: options need a pattern and a format in {FORMATS}, "
                f"got pattern={pattern!r} format={file_format!r}"
            )
        min_age = options.get("min_age_seconds", 0)
        if isinstance(min_age, bool) or not isinstance(min_age, int | float) or not 0 <= min_age < math.inf:
            raise ValueError(
                f"source {self.name} table {table.name}: options.min_age_seconds must be a number of seconds "
                f">= 0, got {min_age!r}"
            )
        run = _Run(self, table, copy.deepcopy(state or {}))
        schema = pa.schema(
            [*(pa.field(c, pa.string()) for c in run.columns), (LINEAGE_FILE, pa.string()), (LINEAGE_ROW, pa.int64())]
        )
        return Extraction(schema, run.batches(schema), state=run.state, rejections=run.rejections)


class _Run:
    """One extraction of one table: the files to read, the header to hold them to, the state it leaves."""

    def __init__(self, source: FileDropSource, table: TableSpec, state: dict):
        self.source, self.table = source, table
        options = table.options
        self.format = options.get("format", "csv")
        self.header_row = int(options.get("header_row", 1))
        self.renames = dict(options.get("renames") or {})
        self.sheet = options.get("sheet")
        self.state = state
        self.state["mode"] = "new_files"  # a run lands only files no earlier run landed: dbt reads them all
        self.state.setdefault("files", {})
        self.state.setdefault("rejected", {})
        self.state["last_run"] = {"landed": [], "redelivered": [], "rejected": [], "unchanged": 0, "waiting": []}
        self.rejections: list[Rejection] = []
        delivered = sorted(
            (p for p in source.directory.glob(options["pattern"]) if p.is_file() and not _is_temporary(p)),
            key=lambda p: p.relative_to(source.directory).as_posix(),
        )
        # size and mtime before anything of a file is read: its last read compares them
        self._stats = {path: _size_and_mtime(path) for path in delivered}
        self.paths = self._settled(delivered, options.get("min_age_seconds", 0))
        self._hashes: dict[Path, str] = {}
        self._sniffed: dict[Path, Sniffed] = {}
        self._copies: dict[Path, Path] = {}  # GB18030 files' text as UTF-8, converted while sniffing
        self._workbooks: dict[Path, _Workbook] = {}  # workbooks opened for their header, until their rows are read
        self._scratch: tempfile.TemporaryDirectory | None = None
        declared = options.get("columns")
        self.columns: list[str] = [self.renames.get(c, c) for c in declared] if declared else state.get("columns", [])
        if not self.columns:
            self.columns = self._first_header()
        if self.columns:
            self.state["columns"] = list(self.columns)

    # -- which files -------------------------------------------------------------------------------

    def _relative(self, path: Path) -> str:
        return path.relative_to(self.source.directory).as_posix()

    def _settled(self, paths: list[Path], min_age: float) -> list[Path]:
        """The files last modified at least ``min_age`` seconds ago; the others are listed as waiting."""
        if not min_age:
            return paths
        now, settled = time.time(), []
        for path in paths:
            age = now - self._stats[path][1] / 1e9
            if age >= min_age:
                settled.append(path)
                continue
            log.info("%s/%s: %s was modified %.0f s ago, less than min_age_seconds=%s: it waits for a later run",
                     self.source.name, self.table.name, self._relative(path), age, min_age)  # fmt: skip
            self.state["last_run"]["waiting"].append(self._relative(path))
        return settled

    def _hash(self, path: Path) -> str:
        if path not in self._hashes:
            self._hashes[path] = file_sha256(path)
        return self._hashes[path]

    def _unchanged_since_first_read(self, path: Path, name: str) -> None:
        """Raise if the file changed since it was listed, before its first read: its rows may not be the
        content its sha256 records. The landing then fails and keeps nothing; the next run reads
        the file again."""
        if _size_and_mtime(path) != self._stats[path]:
            raise RuntimeError(
                f"source {self.source.name} table {self.table.name}: {name} changed while being landed (a "
                "department writing it in place? see min_age_seconds); nothing of this run is kept, the next "
                "run lands it again"
            )

    def _config(self) -> str:
        """What a rejection was judged under: a file rejected under other options deserves another look."""
        described = json.dumps([self.format, self.header_row, self.renames, self.columns, self.sheet], sort_keys=True)
        return hashlib.sha256(described.encode()).hexdigest()[:16]

    def _pending(self, path: Path) -> bool:
        """Whether the file has content not yet landed, nor already refused under the same options."""
        name = self._relative(path)
        if name not in self.state["files"] and name not in self.state["rejected"]:
            return True  # new: its sha256 is taken while its encoding is checked
        sha = self._hash(path)
        if self.state["files"].get(name) == sha:
            return False
        refused = self.state["rejected"].get(name)
        return not (refused and refused["sha256"] == sha and refused["config"] == self._config())

    def _first_header(self) -> list[str]:
        """The header of the first pending file that has a usable one (no state, no declared columns)."""
        for path in self.paths:
            if not self._pending(path):
                continue
            try:
                header = self._read_header(path)
            except _FileRejectedError:
                continue  # reported when the file's turn comes
            if header and len(set(header)) == len(header) and all(header):
                return header  # its workbook stays open for its rows
            self._close_workbook(path)
        return []

    def _sniff(self, path: Path) -> Sniffed:
        if path not in self._sniffed:
            if self.format != "csv":
                self._sniffed[path] = sniff_encoding(path)
                return self._sniffed[path]
            if self._scratch is None:
                self._scratch = tempfile.TemporaryDirectory(prefix="file_drop-")
            copy_path = Path(self._scratch.name) / f"{len(self._sniffed)}.csv"
            try:
                hashed = path in self._hashes
                with _BackgroundWriter(copy_path) as sink:
                    sniffed = _sniff_file(path, sink, None if hashed else sink, _iconv_differences() is not None)
                if not hashed:  # read whole: only a rejected file stops the sniff early
                    self._hashes[path] = sink.sha256.hexdigest()
                if sniffed is None:  # iconv cannot vouch for the file: Python decodes it
                    with _BackgroundWriter(copy_path) as sink:
                        sniffed = _sniff_file(path, sink)
            except BaseException:
                copy_path.unlink(missing_ok=True)
                raise
            if sniffed.encoding == GB18030:
                self._copies[path] = copy_path
            else:
                copy_path.unlink()
            self._sniffed[path] = sniffed
        return self._sniffed[path]

    def _close_workbook(self, path: Path) -> None:
        workbook = self._workbooks.pop(path, None)
        if workbook is not None:
            workbook.close()

    def _forget_copy(self, path: Path) -> None:
        """Let go of what was kept of a file for reading it: its UTF-8 copy, its open workbook."""
        self._close_workbook(path)
        copy_path = self._copies.pop(path, None)
        if copy_path is not None:
            copy_path.unlink(missing_ok=True)

    def _cleanup(self) -> None:
        for path in {*self._copies, *self._workbooks}:
            self._forget_copy(path)
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None

    def _workbook(self, path: Path) -> _Workbook:
        """The file's workbook, opened once per run: its header and its rows are read from the same load."""
        if path not in self._workbooks:
            self._workbooks[path] = _Workbook(path, self.sheet)
        return self._workbooks[path]

    def _read_header(self, path: Path) -> list[str]:
        if self.format == "xlsx":
            return self._header_of(self._workbook(path).rows())
        sniffed = self._sniff(path)
        with self._text(path, sniffed) as text:
            return self._header_of(csv.reader(text, strict=True))

    def _header_of(self, rows: Iterator) -> list[str]:
        """The header row after renames (cells stripped of blanks and BOMs; trailing empty cells dropped)."""
        header = None
        for _ in range(self.header_row):
            header = next(rows, None)
        return self._header_cells(header)

    def _header_cells(self, header) -> list[str]:
        cells = [(_cell_text(c) or "").strip().lstrip("\ufeff").strip() for c in header or ()]
        while cells and not cells[-1]:
            cells.pop()
        if not cells:
            raise _FileRejectedError("empty_file", f"no header in row {self.header_row}")
        return [self.renames.get(c, c) for c in cells]

    # -- reading -----------------------------------------------------------------------------------

    def batches(self, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
        try:
            yield from self._batches(schema)
        finally:
            self._cleanup()

    def _batches(self, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
        size = self.source.batch_size
        buffer: list[list] = []
        pieces: list[pa.RecordBatch] = []  # whole batches waiting to be cut into batches of ``size`` rows
        waiting = 0
        for path in self.paths:
            name = self._relative(path)
            if not self._pending(path):
                self.state["last_run"]["unchanged"] += 1
                continue
            try:
                rows = (self._csv_fast if self.format == "csv" else self._xlsx_rows)(path, name, schema)
                for row in rows:
                    if isinstance(row, pa.RecordBatch):
                        if buffer:
                            pieces.append(self._batch(schema, buffer))
                            buffer = []
                        pieces.append(row)
                        waiting += row.num_rows
                        while waiting >= size:
                            batch, pieces = _cut(schema, pieces, size)
                            waiting -= size
                            yield batch
                        continue
                    buffer.append(row)
                    waiting += 1
                    if waiting >= size:
                        if buffer:
                            pieces.append(self._batch(schema, buffer))
                            buffer = []
                        batch, pieces = _cut(schema, pieces, size)
                        waiting -= size
                        yield batch
                self._unchanged_since_first_read(path, name)
            except _FileRejectedError as refused:
                self._reject(name, refused.row, refused.rule, refused.message)
                self.state["rejected"][name] = {
                    "sha256": self._hash(path),
                    "rule": refused.rule,
                    "config": self._config(),
                }
                self.state["last_run"]["rejected"].append(name)
                continue
            finally:
                self._forget_copy(path)
            previous = self.state["files"].get(name)
            if previous is not None:
                log.warning("%s/%s: %s re-delivered with new content; landing it again", self.source.name,
                            self.table.name, name)  # fmt: skip
                self.state["last_run"]["redelivered"].append(name)
            self.state["files"][name] = self._hash(path)
            self.state["rejected"].pop(name, None)
            self.state["last_run"]["landed"].append(name)
        if buffer:
            pieces.append(self._batch(schema, buffer))
        if pieces:
            yield pa.Table.from_batches(pieces, schema=schema).combine_chunks().to_batches()[0]

    def _batch(self, schema: pa.Schema, rows: list[list]) -> pa.RecordBatch:
        columns = list(zip(*rows, strict=True))
        arrays = [pa.array(values, type=f.type) for values, f in zip(columns, schema, strict=True)]
        return pa.RecordBatch.from_arrays(arrays, schema=schema)

    def _reject(self, file: str, row: int | None, rule: str, message: str) -> None:
        rejection = Rejection(self.source.name, self.table.name, file, row, rule, message)
        log.warning("rejected %s", rejection)
        self.rejections.append(rejection)

    def _order(self, header: list[str]) -> list[int]:
        """Positions in the file's header of the established columns; raises ``_FileRejectedError`` on drift."""
        if not self.columns:  # only when no pending file had a usable header, so this one has none either
            raise _FileRejectedError("schema_drift", f"no usable header: {header}")
        duplicated = sorted({c for c in header if header.count(c) > 1})
        unnamed = [i + 1 for i, c in enumerate(header) if not c]
        added = [c for c in header if c and c not in self.columns]
        missing = [c for c in self.columns if c not in header]
        if duplicated or unnamed or added or missing:
            problems = [
                f"{label} {values}"
                for label, values in (
                    ("added columns", added),
                    ("missing columns", missing),
                    ("duplicated columns", duplicated),
                    ("unnamed columns at positions", unnamed),
                )
                if values
            ]
            hint = " (declare a rename in the table's options if a column was renamed)" if added and missing else ""
            raise _FileRejectedError("schema_drift", f"header differs from {self.columns}: {'; '.join(problems)}{hint}")
        return [header.index(c) for c in self.columns]

    def _text(self, path: Path, sniffed: Sniffed):
        raw = _Prefix(path.open("rb"), sniffed.readable_bytes)
        return io.TextIOWrapper(io.BufferedReader(raw, CHUNK_BYTES), encoding=sniffed.encoding, newline="")

    def _csv_fast(self, path: Path, name: str, schema: pa.Schema) -> Iterator[list | pa.RecordBatch]:
        """The file's rows as Arrow batches parsed by ``pyarrow.csv``, exactly as ``_csv_rows`` would give them.

        Arrow reads the file (or, for GB18030, its UTF-8 text written while sniffing) from just after the
        header, every column as text. What Arrow cannot tell apart from ``csv`` (a cut-off last character,
        odd quoting, NUL, a row with the wrong number of fields, a blank line, an over-long field) sends the
        file, from the first batch not yet emitted, to ``_csv_rows``: that yields the same rows.
        """
        sniffed = self._sniff(path)
        start = self._data_start(path, sniffed) if sniffed.plain_quoting and not sniffed.cut_character else None
        if start is None:
            yield from self._csv_rows(path, name)
            return
        offset, raw_width, order = start
        names = [str(i) for i in range(raw_width)]
        invalid: list[object] = []

        def refuse(row) -> str:
            invalid.append(row)
            return "skip"

        limit = csv.field_size_limit()
        emitted = 0
        file_bytes = name.encode()
        with self._utf8(path, sniffed, offset) as handle:
            try:
                reader = pa_csv.open_csv(
                    handle,
                    read_options=pa_csv.ReadOptions(column_names=names, block_size=ARROW_BLOCK_BYTES),
                    parse_options=pa_csv.ParseOptions(
                        newlines_in_values=sniffed.quoted_line_breaks,
                        ignore_empty_lines=False,
                        invalid_row_handler=refuse,
                    ),
                    convert_options=pa_csv.ConvertOptions(
                        # a GB18030 file's text is ours, written while sniffing: valid UTF-8 by construction (a
                        # delivered UTF-8 file is checked again: it was decoded strictly, but may have changed since)
                        check_utf8=sniffed.encoding != GB18030,
                        column_types=dict.fromkeys(names, pa.string()),
                        null_values=[""],
                        strings_can_be_null=True,
                        quoted_strings_can_be_null=True,
                    ),
                )
                with contextlib.closing(_read_ahead(reader)) as ahead:
                    for batch in ahead:
                        if invalid or not _same_as_csv_module(batch, len(order), limit):
                            break
                        rows = batch.num_rows
                        if not rows:
                            continue
                        files = pa.StringArray.from_buffers(
                            rows,
                            pa.py_buffer(np.arange(rows + 1, dtype=np.int32) * len(file_bytes)),
                            pa.py_buffer(file_bytes * rows),
                        )
                        numbers = pa.Array.from_buffers(  # not pa.array(ndarray): that imports pandas, for a second
                            pa.int64(),
                            rows,
                            [None, pa.py_buffer(np.arange(emitted + 1, emitted + rows + 1, dtype=np.int64))],
                        )
                        columns = [batch.column(i) for i in order]
                        yield pa.RecordBatch.from_arrays([*columns, files, numbers], schema=schema)
                        emitted += rows
                    else:
                        if not invalid:
                            return
            except (pa.ArrowException, OSError) as error:  # whatever Arrow does not take, ``csv`` judges
                log.debug("%s: arrow path stopped after %d rows: %s", name, emitted, error)
        yield from self._csv_rows(path, name, skip=emitted)

    def _utf8(self, path: Path, sniffed: Sniffed, offset: int):
        """The file as UTF-8 bytes from ``offset`` (after a BOM, if any), for Arrow: the file itself, or for
        GB18030 its text converted while sniffing."""
        handle = pa.OSFile(str(self._copies[path] if sniffed.encoding == GB18030 else path))
        handle.seek(offset)
        return handle

    def _data_start(self, path: Path, sniffed: Sniffed) -> tuple[int, int, list[int]] | None:
        """Where Arrow can read the rows of the UTF-8 text (``_utf8``): the byte offset after the header, the
        header's field count and the established columns' positions. None when the header is not plainly in
        the first bytes."""
        if sniffed.encoding == GB18030 and path not in self._copies:
            return None
        skip = len(codecs.BOM_UTF8) if sniffed.encoding == UTF8_BOM else 0
        with self._utf8(path, sniffed, skip) as handle:
            prefix = handle.read(HEADER_PREFIX_BYTES)
            whole = handle.read(1) == b""
        text = codecs.getincrementaldecoder(UTF8)("strict").decode(prefix, final=whole)
        consumed: list[int] = []

        def lines() -> Iterator[str]:
            for line in io.StringIO(text, newline=""):
                consumed.append(len(line))
                yield line

        reader = csv.reader(lines(), strict=True)
        record = None
        try:
            for _ in range(self.header_row):
                record = next(reader, None)
        except csv.Error:
            return None  # ``_csv_rows`` reports it as it always has
        used = sum(consumed)
        if record is None or used >= len(text):
            return None  # a header running to the end of the prefix: leave the corner cases to ``csv``
        order = self._order(self._header_cells(record))
        offset = skip + len(text[:used].encode(UTF8))
        if text[used:].startswith("\ufeff"):
            return None  # Arrow would drop a byte order mark at the start of what it reads
        return offset, len(record), order

    def _csv_rows(self, path: Path, name: str, skip: int = 0) -> Iterator[list]:
        """The file's rows through the ``csv`` module; records up to ``skip`` have landed already."""
        sniffed = self._sniff(path)
        with self._text(path, sniffed) as text:
            reader = csv.reader(text, strict=True)
            order = self._order(self._header_of(reader))
            width = len(order)  # trailing fields beyond the header's are allowed only when empty, as in the header
            number = 0
            for (record, error), is_last in _with_last(_records(reader)):
                number += 1
                if number <= skip:
                    continue
                if error is not None:
                    at_end = is_last and error == "unexpected end of data"
                    rule, why = (
                        ("truncated_row", "file ends inside a quoted field") if at_end else ("malformed_row", error)
                    )
                    self._reject(name, number, rule, why)
                    continue
                if not record:
                    continue
                if is_last and not sniffed.ends_with_newline and (len(record) < width or sniffed.cut_character):
                    why = "inside a multi-byte character" if sniffed.cut_character else f"after {len(record)} fields"
                    self._reject(name, number, "truncated_row", f"file ends {why} of {width}: an interrupted transfer?")
                    continue
                if len(record) < width or any(record[width:]):
                    self._reject(name, number, "malformed_row", f"{len(record)} fields where the header has {width}")
                    continue
                yield [*(record[i] or None for i in order), name, number]

    def _xlsx_rows(self, path: Path, name: str, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
        """The sheet's rows below the header as batches of the schema, ``batch_size`` sheet rows at a time."""
        book = self._workbook(path)
        if not book.loaded:  # a streamed sheet is read to its end first: nothing of an unreadable one lands
            for _ in book.rows():
                pass
        rows = book.rows()
        header = self._header_of(rows)
        order, width = self._order(header), len(header)
        rows, first = _changed_if_unreadable(rows, name), 1
        while chunk := list(itertools.islice(rows, SHEET_CHUNK_ROWS)):
            batch = self._sheet_batch(schema, chunk, first, order, width, name)
            first += len(chunk)
            if batch.num_rows:
                yield batch

    def _sheet_batch(
        self, schema: pa.Schema, rows: list, first: int, order: list[int], width: int, name: str
    ) -> pa.RecordBatch:
        """Sheet rows as a batch, column by column: blank rows left out, rows with values beyond the header's
        columns rejected (``first`` is the first row's number below the header)."""
        count, span = len(rows), max(map(len, rows))
        if min(map(len, rows)) != span:
            rows = [(*row, *(None,) * (span - len(row))) for row in rows]
        columns = [_texts(values) for values in zip(*rows, strict=True)]
        filled = [pc.is_valid(column) for column in columns]
        keep = functools.reduce(pc.or_, filled) if filled else pa.array(np.zeros(count, dtype=bool))
        if span > width:
            beyond = functools.reduce(pc.or_, filled[width:])
            for index in np.flatnonzero(beyond.to_numpy(zero_copy_only=False)):
                self._reject(name, first + int(index), "malformed_row", f"values beyond the header's {width} columns")
            keep = pc.and_(keep, pc.invert(beyond))
        arrays = [columns[i] if i < span else pa.nulls(count, pa.string()) for i in order]
        arrays += [pa.array([name] * count, pa.string()), pa.array(np.arange(first, first + count), pa.int64())]
        return pa.RecordBatch.from_arrays(arrays, schema=schema).filter(keep)


def _read_ahead(batches: Iterator[pa.RecordBatch], depth: int = 4) -> Iterator[pa.RecordBatch]:
    """``batches`` read by a thread up to ``depth`` ahead: Arrow parses without the GIL while the consumer
    works (lands the previous batch). The reader's errors are raised here, in order."""
    items: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: tuple[str, object]) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.05)
            except queue.Full:
                continue
            return True
        return False

    def run() -> None:
        try:
            for batch in batches:
                if not put(("batch", batch)):
                    return
        except BaseException as error:  # handed to the consumer
            put(("error", error))
            return
        put(("end", None))

    thread = threading.Thread(target=run, name="file_drop-reader", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = items.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        thread.join()


def _cut(schema: pa.Schema, pieces: list[pa.RecordBatch], size: int) -> tuple[pa.RecordBatch, list[pa.RecordBatch]]:
    """The first ``size`` rows of ``pieces`` as one batch, and the pieces left."""
    table = pa.Table.from_batches(pieces, schema=schema)
    head = table.slice(0, size).combine_chunks().to_batches()[0]
    return head, [b for b in table.slice(size).to_batches() if b.num_rows]


def _same_as_csv_module(batch: pa.RecordBatch, width: int, limit: int) -> bool:
    """Whether the strict ``csv`` reader would give these rows as they are: no blank line (a row of nulls to
    Arrow), nothing in the columns beyond the header's named ones, no field over ``csv.field_size_limit``."""
    if not batch.num_rows:
        return True
    columns = batch.columns
    if columns[0].null_count and all(c.null_count for c in columns):
        empty = pc.is_null(columns[0])
        for column in columns[1:]:
            empty = pc.and_(empty, pc.is_null(column))
        if pc.any(empty).as_py():
            return False
    if any(c.null_count != len(c) for c in columns[width:]):
        return False
    return all((pc.max(pc.binary_length(column)).as_py() or 0) <= limit for column in columns)


def _size_and_mtime(path: Path) -> tuple[int, int]:
    status = path.stat()
    return status.st_size, status.st_mtime_ns


def _changed_if_unreadable(rows: Iterator[tuple], name: str) -> Iterator[tuple]:
    """Rows of a workbook that read to its end a moment ago: failing now means it changed, not bad input."""
    try:
        yield from rows
    except _FileRejectedError as refused:
        raise RuntimeError(f"{name} changed while being landed: {refused.message}") from refused


def _records(reader) -> Iterator[tuple[list[str] | None, str | None]]:
    """CSV records, or the parser's complaint about one; the reader resumes after a bad record."""
    while True:
        try:
            yield next(reader), None
        except StopIteration:
            return
        except csv.Error as error:
            yield None, str(error)


def _is_temporary(path: Path) -> bool:
    """Partial uploads and editor lock files are not deliveries."""
    return path.name.startswith((".", "~$")) or path.suffix in (".tmp", ".part", ".partial")


class _Workbook:
    """A workbook's sheet, whose ``rows()`` (cell values) can be read more than once; any failure to open or
    read it is ``unreadable``.

    Two readers, one result. calamine (Rust) loads the sheet whole on opening, about ten times as fast as
    openpyxl, which streams it on each read. calamine reads the sheet when its XML is at most
    ``LOADED_SHEET_MAX_BYTES`` (memory stays bounded: about 1.5 times that) and holds no cell calamine renders
    otherwise than openpyxl: an error cell (``#DIV/0!``, which calamine reads as empty) or an integer literal
    past a double's precision (openpyxl keeps it exact). Otherwise openpyxl reads it. ``loaded`` says which:
    a loaded sheet has been read to its end, so reading its rows cannot fail."""

    def __init__(self, path: Path, sheet: str | None):
        name = _loadable_sheet(path, sheet)
        self.loaded, self._book = name is not None, None
        try:
            if self.loaded:
                from python_calamine import CalamineWorkbook

                self._book = CalamineWorkbook.from_path(str(path))
                self._sheet = self._book.get_sheet_by_name(name)
            else:
                import openpyxl

                self._book = openpyxl.load_workbook(path, read_only=True, data_only=True)
                self._sheet = self._book[sheet] if sheet else self._book.worksheets[0]
        except Exception as error:  # whatever a broken workbook raises, it is refused
            self.close()
            raise _FileRejectedError(
                "unreadable", f"cannot open the workbook: {type(error).__name__}: {error}"
            ) from error

    def rows(self) -> Iterator:
        """The sheet's rows from row 1, each as wide as the sheet's widest row."""
        if not self.loaded:
            return self._guarded(self._sheet.iter_rows(values_only=True))
        left = [""] * (self._sheet.start[1] if self._sheet.start else 0)  # calamine pads rows from row 1, not A
        return (left + row for row in self._sheet.iter_rows()) if left else self._sheet.iter_rows()

    @staticmethod
    def _guarded(rows: Iterator) -> Iterator:
        number = 0
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return
            except Exception as error:
                raise _FileRejectedError(
                    "unreadable", f"cannot read past sheet row {number}: {error}", number
                ) from error
            number += 1
            yield row

    def close(self) -> None:
        if self._book is not None:
            self._book.close()
            self._book = None


def _loadable_sheet(path: Path, sheet: str | None) -> str | None:
    """The name of the sheet (``sheet``, or the first worksheet) if calamine may read it (see ``_Workbook``),
    else None: then openpyxl reads it, or says why it cannot."""
    try:
        with zipfile.ZipFile(path) as book:
            name, part = _sheet_part(book, sheet)
            info = book.getinfo(part)
            if info.file_size > LOADED_SHEET_MAX_BYTES:
                return None
            with book.open(info) as xml:
                tail = b""
                while chunk := xml.read(CHUNK_BYTES):
                    text = tail + chunk
                    if b't="e"' in text or any(abs(int(n)) > 2**53 for n in _LONG_INTEGER.findall(text)):
                        return None
                    tail = text[-1024:]  # a cell that straddles two chunks is seen whole
            return name
    except Exception:  # not a workbook we can look into: openpyxl has the last word on it
        return None


def _sheet_part(book: zipfile.ZipFile, sheet: str | None) -> tuple[str, str]:
    """The sheet's name and its XML part in the package, from the workbook's sheet list and relationships."""
    workbook = ElementTree.fromstring(book.read("xl/workbook.xml"))
    sheets = [s for s in workbook.iter(f"{{{_SPREADSHEET}}}sheet") if sheet is None or s.get("name") == sheet]
    relationship = sheets[0].get(f"{{{_RELATIONSHIPS}}}id")
    links = ElementTree.fromstring(book.read("xl/_rels/workbook.xml.rels"))
    target = next(r.get("Target") for r in links if r.get("Id") == relationship)
    part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
    if not part.startswith("xl/worksheets/"):
        raise ValueError(f"{sheets[0].get('name')} is not a worksheet")  # a chart sheet, say
    return sheets[0].get("name"), part
