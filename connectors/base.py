"""One shape for every connector kind (sql, file_drop, rest, geojson).

A source is asked for one table at a time, with that table's state from the last complete run
(a watermark, the files already landed, ...). It answers with an ``Extraction``: an Arrow schema,
a lazy stream of record batches in that schema, and, once the stream is exhausted, the new state
and the input it refused. Refused input is never silently dropped: each ``Rejection`` names the
source, file, row and rule, and is kept in the run's manifest.

Importing this module (every connector does) makes jemalloc the process's Arrow memory pool, unless
``ARROW_DEFAULT_MEMORY_POOL`` already chose one. Arrow's default, mimalloc, returns freed memory to the
system at once, so each batch faults fresh transparent huge pages in, which the kernel zeroes: on a 1.27 M-row
GB18030 file drop that was a fifth of the CPU, and with jemalloc, which keeps freed pages for the next batch,
it landed 1.3x faster. (Not in the package's ``__init__``: DAG files import the registry, without Arrow.)
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pyarrow as pa

from connectors.registry import TableSpec

if "ARROW_DEFAULT_MEMORY_POOL" not in os.environ:
    with contextlib.suppress(NotImplementedError):  # a pyarrow built without jemalloc keeps its default
        pa.set_memory_pool(pa.jemalloc_memory_pool())


@dataclass(frozen=True)
class Rejection:
    source: str
    table: str
    file: str | None
    row: int | None
    rule: str
    message: str

    def __str__(self) -> str:
        where = ":".join(str(p) for p in (self.file, self.row) if p is not None)
        return f"{self.source}/{self.table}{' ' + where if where else ''}: {self.rule}: {self.message}"


@dataclass
class Extraction:
    """One table's data for one run. ``state`` and ``rejections`` are final once ``batches`` is exhausted.

    An incremental extraction (only rows changed since the last run) also says what was deleted, one
    of two ways: ``keys``, the primary keys of every row the system holds now, from which the landing
    zone finds the deletes by diffing with the previous run (SQL systems); or ``deletes``, the primary
    keys the system reports deleted since the last run (tombstones, REST systems), read by the landing
    zone once ``batches`` is exhausted and carrying the key columns' schema even when empty.
    """

    schema: pa.Schema
    batches: Iterator[pa.RecordBatch]
    state: dict = field(default_factory=dict)
    rejections: list[Rejection] = field(default_factory=list)
    keys: Iterator[pa.RecordBatch] | None = None
    deletes: Iterator[pa.RecordBatch] | None = None


class Source(Protocol):
    """A department system. ``name`` (``<department>/<system>``) appears in every error it raises."""

    name: str

    def extract(self, table: TableSpec, state: dict) -> Extraction: ...

    def close(self) -> None: ...


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks: manifests, and telling a re-delivered file from a new one."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
