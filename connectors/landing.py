"""The landing zone: append-only Parquet batches, each with a manifest.

Layout: ``<root>/<department>/<system>/<table>/run=<run_id>/batch-<n>.parquet`` plus
``batch-<n>.manifest.json``; an incremental run also lands ``deletes.parquet``: the primary-key
columns only, one row per key deleted since the previous run. SQL sources find them by diffing
keys (the run also lands ``keys.parquet``, every key the system holds now, for the next diff);
REST sources report them as tombstones. Either way the file has the same shape, and a key deleted
in a run is gone even if the same run also landed a version of it.
``_table.json`` marks a table's landing complete and
``<root>/<department>/<system>/_runs/<run_id>.json`` marks the whole run complete. Downstream reads
only complete runs. Nothing is ever overwritten: files are created with a hard link that fails if
the name exists, then made read-only; a failed attempt's partial output is moved aside to
``_failed/`` rather than deleted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import queue
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from citybase.duckdb_extensions import sql_literal
from connectors.base import Extraction, file_sha256

READ_ONLY = 0o444
QUEUED_BATCHES = 2  # batches read ahead of the Parquet writers
WRITERS = 2  # batches encoded at once
# Landed values are mostly text with many distinct values (ID numbers, names, addresses): dictionary
# encoding hashes every value, only to fall back to plain pages. Measured on 1.27 M hukou rows, plain
# pages (snappy-compressed, as by default) take 0.75x the writer's CPU and ~7 % less disk.
PARQUET_OPTIONS = {"use_dictionary": False, "compression": "snappy"}


def _statistics_columns(schema: pa.Schema) -> list[str]:
    """Columns worth min/max statistics: not text or bytes. Landed text is read whole, never pruned by value,
    and its statistics cost ~15 % of the writer's CPU (1.27 M hukou rows)."""
    textual = (pa.types.is_string, pa.types.is_large_string, pa.types.is_binary, pa.types.is_large_binary)
    return [f.name for f in schema if not any(test(f.type) for test in textual)]


def _parquet(table: pa.Table) -> pa.Buffer:
    """One batch as a Parquet file's bytes: hashed for the manifest without reading the file back."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, write_statistics=_statistics_columns(table.schema), **PARQUET_OPTIONS)
    return sink.getvalue()


class LandingError(RuntimeError):
    """A landing would overwrite or contradict what is already landed."""


@dataclass(frozen=True)
class BatchManifest:
    source: str
    table: str
    run_id: str
    batch: int
    file: str
    rows: int
    sha256: str
    schema_fingerprint: str
    extracted_at: str


@dataclass(frozen=True)
class TableLanding:
    source: str
    table: str
    run_id: str
    rows: int
    batches: int
    schema_fingerprint: str
    path: str
    state: dict = field(default_factory=dict)  # the source's extraction state after this run
    rejections: list[dict] = field(default_factory=list)  # input refused, with file, row and rule
    columns: dict[str, str] = field(default_factory=dict)  # name -> Arrow type, to detect schema drift
    schema_changes: list[str] = field(default_factory=list)  # additive changes since the previous run
    deleted: int = 0  # keys deleted since the previous run (incremental runs: key diff or tombstones)


@dataclass(frozen=True)
class RunManifest:
    source: str
    run_id: str
    started_at: str
    completed_at: str
    tables: dict[str, TableLanding]

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables.values())


def new_run_id(now: dt.datetime | None = None) -> str:
    """Sortable and unique: UTC timestamp plus a random suffix."""
    now = now or dt.datetime.now(dt.UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def schema_fingerprint(schema: pa.Schema) -> str:
    """Names and types only: metadata changes are not schema changes."""
    described = ";".join(f"{f.name}:{f.type}" for f in schema)
    return hashlib.sha256(described.encode()).hexdigest()[:16]


def _create_once(final: Path, write) -> None:
    """Write through a temporary name and link it into place; fails if ``final`` exists."""
    temporary = final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}.tmp")
    write(temporary)
    try:
        os.link(temporary, final)
    except FileExistsError as exc:
        raise LandingError(f"refusing to overwrite landed file {final}") from exc
    finally:
        temporary.unlink()
    final.chmod(READ_ONLY)


def _write_json(final: Path, document: dict) -> None:
    _create_once(final, lambda p: p.write_text(json.dumps(document, ensure_ascii=False, indent=2), "utf-8"))


class _BatchWriter:
    """Writes batches (Parquet file, then manifest) in ``writers`` threads, so the connector reads the next
    batch while earlier ones are encoded and hashed: DuckDB, Arrow and hashlib release the GIL. Encoding
    Parquet is one core's work per batch and often a connector's largest cost, so several batches are encoded
    at once. At most ``QUEUED_BATCHES`` wait besides those being written, so memory stays a few batches
    whatever the table's size. The first writer error is raised in the caller's thread, and a batch taken
    after it is not written; when the caller fails, what it had read is still written (a failed attempt is
    kept for forensics)."""

    def __init__(self, write: Callable[[int, pa.RecordBatch], None], writers: int = WRITERS):
        self._write = write
        self._queue: queue.Queue = queue.Queue(maxsize=QUEUED_BATCHES)
        self._error: BaseException | None = None
        self._error_lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._run, name=f"landing-writer-{n}", daemon=True) for n in range(writers)
        ]
        for thread in self._threads:
            thread.start()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is None:  # after a failure, drain without writing
                try:
                    self._write(*item)
                except BaseException as exc:  # re-raised in the caller's thread
                    with self._error_lock:
                        self._error = self._error or exc

    def put(self, number: int, batch: pa.RecordBatch) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put((number, batch))

    def __enter__(self) -> _BatchWriter:
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join()
        if exc_type is None and self._error is not None:
            raise self._error


class LandingZone:
    def __init__(self, root: Path):
        self.root = Path(root)

    def table_dir(self, source: str, table: str, run_id: str) -> Path:
        return self.root / source / table / f"run={run_id}"

    def _runs_dir(self, source: str) -> Path:
        return self.root / source / "_runs"

    def land_table(
        self, source: str, table: str, run_id: str, extraction: Extraction, schema_changes: Iterable[str] = ()
    ) -> TableLanding:
        """Write the extraction as one run of ``table``; one Parquet file and manifest per batch."""
        schema, batches = extraction.schema, extraction.batches
        if extraction.keys is not None and extraction.deletes is not None:
            raise LandingError(
                f"{source}/{table}: an extraction gives its deletes by key diff or as tombstones, not both"
            )
        directory = self.table_dir(source, table, run_id)
        if (directory / "_table.json").exists():
            raise LandingError(f"{source}/{table} run {run_id} is already landed at {directory}")
        if directory.exists():  # a failed earlier attempt: keep its files for forensics, out of the way
            failed = self.root / source / table / "_failed" / f"{directory.name}-{uuid.uuid4().hex[:8]}"
            failed.parent.mkdir(parents=True, exist_ok=True)
            directory.rename(failed)
        directory.mkdir(parents=True)
        fingerprint = schema_fingerprint(schema)

        def write_batch(number: int, batch: pa.RecordBatch) -> None:
            parquet = directory / f"batch-{number:05d}.parquet"
            content = _parquet(pa.Table.from_batches([batch]))
            _create_once(parquet, lambda p: p.write_bytes(content))
            manifest = BatchManifest(
                source=source,
                table=table,
                run_id=run_id,
                batch=number,
                file=parquet.name,
                rows=batch.num_rows,
                sha256=hashlib.sha256(content).hexdigest(),
                schema_fingerprint=fingerprint,
                extracted_at=dt.datetime.now(dt.UTC).isoformat(),
            )
            _write_json(directory / f"batch-{number:05d}.manifest.json", asdict(manifest))

        rows = count = 0
        with _BatchWriter(write_batch) as writer:
            for count, batch in enumerate(batches, start=1):
                if batch.schema.remove_metadata() != schema.remove_metadata():
                    raise LandingError(f"{source}/{table}: batch {count} schema {batch.schema} differs from {schema}")
                writer.put(count, batch)
                rows += batch.num_rows
        if count == 0:  # an empty table still lands a (schema-carrying) empty file, so readers see its columns
            _create_once(directory / "batch-00000.parquet", lambda p: pq.write_table(schema.empty_table(), p))
        deleted = 0
        if extraction.keys is not None:
            deleted = self._land_deletes(source, table, directory, extraction.keys)
        elif extraction.deletes is not None:
            deleted = self._land_tombstones(source, table, directory, schema, extraction.deletes)
        landing = TableLanding(
            source, table, run_id, rows, count, fingerprint, str(directory),
            state=extraction.state, rejections=[asdict(r) for r in extraction.rejections],
            columns={f.name: str(f.type) for f in schema}, schema_changes=list(schema_changes), deleted=deleted,
        )  # fmt: skip
        _write_json(directory / "_table.json", asdict(landing))
        return landing

    def _land_deletes(self, source: str, table: str, directory: Path, keys: Iterator[pa.RecordBatch]) -> int:
        """Land the current keys, and as deletes the previous run's keys that are gone; DuckDB does the
        anti-join, so even a city's worth of keys never has to fit in memory at once."""
        batches = iter(keys)
        first = next(batches, None)
        if first is None:
            raise LandingError(f"{source}/{table}: an incremental extraction came without the table's keys")

        def write_keys(path: Path) -> None:
            with pq.ParquetWriter(path, first.schema) as writer:
                writer.write_batch(first)
                for batch in batches:
                    writer.write_batch(batch)

        _create_once(directory / "keys.parquet", write_keys)
        previous = self.latest_landing(source, table)
        if previous is None:
            raise LandingError(f"{source}/{table}: an incremental run needs a previous run to compare keys with")
        previous_dir = Path(previous.path)
        before = (
            previous_dir / "keys.parquet"
            if (previous_dir / "keys.parquet").exists()
            else previous_dir / "batch-*.parquet"
        )
        names = ", ".join(f'"{name}"' for name in first.schema.names)
        query = (
            f"select {names} from read_parquet({sql_literal(before)}, union_by_name = true) "
            f"except select {names} from read_parquet({sql_literal(directory / 'keys.parquet')})"
        )
        with duckdb.connect() as connection:
            _create_once(
                directory / "deletes.parquet",
                lambda p: connection.execute(f"copy ({query}) to {sql_literal(p)} (format parquet)"),
            )
            return connection.execute(
                f"select count(*) from read_parquet({sql_literal(directory / 'deletes.parquet')})"
            ).fetchone()[0]

    def _land_tombstones(
        self, source: str, table: str, directory: Path, schema: pa.Schema, deletes: Iterator[pa.RecordBatch]
    ) -> int:
        """Land the keys the source reports deleted, once each, in key order. Tombstones are changes
        only (a day's deletes, not a city's keys), so they are handled in memory."""
        batches = list(deletes)
        if not batches:
            raise LandingError(f"{source}/{table}: tombstones came without even an empty batch naming the key columns")
        keys = pa.Table.from_batches(batches)
        unknown = [name for name in keys.column_names if name not in schema.names]
        if unknown:
            raise LandingError(f"{source}/{table}: tombstone columns {unknown} are not columns of the table")
        names = keys.column_names
        distinct = keys.group_by(names).aggregate([]).select(names).sort_by([(name, "ascending") for name in names])
        _create_once(directory / "deletes.parquet", lambda p: pq.write_table(distinct, p))
        return distinct.num_rows

    def complete_run(self, source: str, run_id: str, started_at: str, tables: Iterable[TableLanding]) -> RunManifest:
        """Mark the run complete: from now on it is what downstream may read."""
        manifest = RunManifest(
            source=source,
            run_id=run_id,
            started_at=started_at,
            completed_at=dt.datetime.now(dt.UTC).isoformat(),
            tables={t.table: t for t in tables},
        )
        self._runs_dir(source).mkdir(parents=True, exist_ok=True)
        _write_json(self._runs_dir(source) / f"{run_id}.json", asdict(manifest))
        return manifest

    def runs(self, source: str) -> list[RunManifest]:
        """Complete runs of ``source``, oldest first."""
        manifests = []
        for path in sorted(self._runs_dir(source).glob("*.json")):
            document = json.loads(path.read_text("utf-8"))
            document["tables"] = {k: TableLanding(**v) for k, v in document["tables"].items()}
            manifests.append(RunManifest(**document))
        return sorted(manifests, key=lambda m: m.completed_at)

    def latest_run(self, source: str) -> RunManifest | None:
        runs = self.runs(source)
        return runs[-1] if runs else None

    def latest_landing(self, source: str, table: str) -> TableLanding | None:
        """The table as landed by the last complete run that landed it."""
        for run in reversed(self.runs(source)):
            if table in run.tables:
                return run.tables[table]
        return None

    def latest_state(self, source: str, table: str) -> dict:
        """The table's extraction state after the last complete run that landed it ({} if none)."""
        latest = self.latest_landing(source, table)
        return latest.state if latest else {}

    def read(self, source: str, table: str, run_id: str) -> pa.Table:
        """A landed table as one Arrow table (for inspection and tests; pipelines read it with dbt)."""
        files = sorted(self.table_dir(source, table, run_id).glob("batch-*.parquet"))
        return pa.concat_tables([pq.read_table(f) for f in files])

    def verify_table(self, source: str, table: str, run_id: str) -> list[str]:
        """Problems with a landed table (missing file, checksum or row-count mismatch); empty if intact."""
        directory = self.table_dir(source, table, run_id)
        problems = []
        for manifest_path in sorted(directory.glob("batch-*.manifest.json")):
            manifest = BatchManifest(**json.loads(manifest_path.read_text("utf-8")))
            parquet = directory / manifest.file
            if not parquet.exists():
                problems.append(f"{parquet}: missing")
            elif file_sha256(parquet) != manifest.sha256:
                problems.append(f"{parquet}: sha256 differs from its manifest")
            elif pq.read_metadata(parquet).num_rows != manifest.rows:
                problems.append(f"{parquet}: row count differs from its manifest")
        return problems
