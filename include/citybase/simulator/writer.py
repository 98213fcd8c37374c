"""Writing the department systems (SQLite files) and the ground truth (Parquet, CSV) in chunks.

Rows are rendered to text a chunk at a time, so memory stays flat however large the city; the
same true text goes to the ground truth before the planted defects overwrite it for the system.
"""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from citybase.simulator.defects import Defects

CHUNK_ROWS = 200_000  # rows rendered at once; a chunk's true rows make one row group of the ground truth
BATCH_ROWS = 50_000  # rows of a chunk turned into Python objects at once, for one executemany
DEFECT_COLUMNS = ("department", "system", "table", "record_key", "defect_kind", "column", "detail")

Render = Callable[[np.ndarray], dict[str, np.ndarray]]


@dataclass(frozen=True)
class Table:
    """A table of a department system: its DDL, integer or text key, and the other columns in order."""

    name: str
    ddl: str
    key: str
    columns: tuple[str, ...]
    indexes: tuple[str, ...] = ()  # columns to index after loading, e.g. the incremental cursor


@dataclass(frozen=True)
class Truth:
    """Where a table's true records go, and which of their columns besides the key."""

    path: Path
    columns: tuple[str, ...]


@contextmanager
def sqlite_database(path: Path) -> Iterator[sqlite3.Connection]:
    """A fresh SQLite file tuned for one bulk load: no rollback journal, no fsync until closed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA journal_mode = OFF")
        connection.execute("PRAGMA synchronous = OFF")
        yield connection
        connection.commit()


def write_rows(
    connection: sqlite3.Connection, table: Table, count: int, render: Render, *, on_chunk: Callable[[int], None]
) -> None:
    """Load ``count`` rows whose key ``render`` produces like any other column: no defects, no ground truth."""
    connection.execute(table.ddl)
    insert = _insert_statement(table)
    for start in range(0, count, CHUNK_ROWS):
        rows = np.arange(start, min(start + CHUNK_ROWS, count))
        columns = render(rows)
        for batch in _batches(len(rows)):
            values = (columns[column][batch].tolist() for column in (table.key, *table.columns))
            connection.executemany(insert, zip(*values, strict=True))
        on_chunk(len(rows))
    _create_indexes(connection, table)


def write_numbered_rows(
    connection: sqlite3.Connection,
    table: Table,
    render: Render,
    defects: Defects,
    truth: Truth,
    *,
    on_chunk: Callable[[int], None],
) -> None:
    """Load a table keyed 1, 2, 3... by position, with its defects, writing the true records alongside."""
    connection.execute(table.ddl)
    insert = _insert_statement(table)
    schema = pa.schema([*((column, pa.string()) for column in truth.columns), (table.key, pa.int64())])
    with pq.ParquetWriter(truth.path, schema) as truth_writer:
        for start in range(0, defects.table_rows, CHUNK_ROWS):
            stop = min(start + CHUNK_ROWS, defects.table_rows)
            columns = render(defects.source_rows(start, stop))
            true_rows = max(0, min(stop, defects.rows) - start)
            if true_rows:
                truth_writer.write_table(_truth_chunk(schema, truth, start, true_rows, columns))
            for batch in _batches(stop - start):
                first, last = start + batch.start, start + batch.stop
                values = {column: columns[column][batch].tolist() for column in table.columns}
                for column, (positions, replacements) in defects.overrides.items():
                    _overwrite(values[column], positions, replacements, first, last)
                keys = range(first + 1, last + 1)
                connection.executemany(insert, zip(keys, *(values[column] for column in table.columns), strict=True))
            on_chunk(stop - start)
    _create_indexes(connection, table)


def write_defects_csv(path: Path, tables: list[tuple[str, str, str, Defects]]) -> None:
    """ground_truth/defects.csv: one line per planted defect, for (department, system, table, defects)."""
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(DEFECT_COLUMNS)
        for department, system, table, defects in tables:
            writer.writerows(
                (department, system, table, record.record_key, record.kind, record.column, record.detail)
                for record in defects.records
            )


def _insert_statement(table: Table) -> str:
    names = (table.key, *table.columns)
    return f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})"


def _create_indexes(connection: sqlite3.Connection, table: Table) -> None:
    for column in table.indexes:
        connection.execute(f"CREATE INDEX {table.name}_{column} ON {table.name} ({column})")


def _overwrite(values: list, positions: np.ndarray, replacements: list, start: int, stop: int) -> None:
    first, last = np.searchsorted(positions, [start, stop])
    for position, replacement in zip(positions[first:last].tolist(), replacements[first:last], strict=True):
        values[position - start] = replacement


def _batches(rows: int) -> Iterator[slice]:
    """A chunk's rows in ``BATCH_ROWS`` slices: a chunk's Python objects at once would cost hundreds of MB."""
    return (slice(start, min(start + BATCH_ROWS, rows)) for start in range(0, rows, BATCH_ROWS))


def _truth_chunk(schema: pa.Schema, truth: Truth, start: int, count: int, columns: dict[str, np.ndarray]) -> pa.Table:
    """The first ``count`` rendered rows, before any defect touches them, straight from NumPy."""
    arrays = [pa.array(columns[column][:count]) for column in truth.columns]
    keys = pa.array(np.arange(start + 1, start + count + 1, dtype=np.int64))
    return pa.Table.from_arrays([*arrays, keys], schema=schema)
