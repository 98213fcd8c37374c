"""SQL department systems, streamed as Arrow record batches with memory bounded by a few batches.

Two paths, one result. For SQLite, PostgreSQL and MySQL/MariaDB, DuckDB's scanner extensions read
the table in C++ and hand Arrow batches over directly (``bench/extract`` measures the gain). Any
other SQLAlchemy URL goes through a server-side cursor (``stream_results``) in ``batch_size``
partitions. Either way the table is reflected first, so a missing table or an unreachable server
fails with a message naming the source, and passwords never reach a message.

MySQL/MariaDB: DuckDB's scanner compresses the protocol unless told otherwise, so the server deflates every
row it sends and this process inflates it: 1.27 M persons from a local MariaDB took 7.8 s compressed and
2.4 s plain (``bench/extract_servers``). Like the MySQL clients, the connector asks for compression only
when the URL does (``?compress=true``), for a slow link to a remote department.

SQLite's column types are advice, not constraints: an INTEGER column may hold '2001-01-01'. So a
SQLite system lands every column as text, exactly as stored, and typing is left to dbt, where a bad
value is quarantined instead of failing the extraction.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from citybase.duckdb_extensions import attach_server, load_extension, sql_literal
from connectors.base import Extraction
from connectors.registry import TableSpec

DEFAULT_BATCH_SIZE = 122_880  # DuckDB's row-group size: native batches arrive whole
# SQLAlchemy backends DuckDB can scan natively, with the extension that does it.
SCANNERS = {"sqlite": "sqlite_scanner", "postgresql": "postgres_scanner", "mysql": "mysql_scanner"}


class SourceUnavailableError(RuntimeError):
    """The department system cannot be reached; the message names the source."""


def _tracking_watermark(batches: Iterator[pa.RecordBatch], cursor: str, state: dict) -> Iterator[pa.RecordBatch]:
    """Pass the batches through, keeping ``state["watermark"]`` at the largest cursor value seen."""
    highest = None
    for batch in batches:
        value = pc.max(batch.column(cursor)).as_py()
        if value is not None and (highest is None or value > highest):
            highest = value
            state["watermark"] = str(highest)
        yield batch


def _as_text(rows: list, schema: pa.Schema) -> pa.RecordBatch:
    """Rows of a SQLite table as stored, every value as its text."""
    columns = ([None if value is None else str(value) for value in values] for values in zip(*rows, strict=True))
    return pa.RecordBatch.from_arrays([pa.array(values, type=pa.string()) for values in columns], schema=schema)


def _arrow_type(column_type: sa.types.TypeEngine) -> pa.DataType:
    """Arrow type for a reflected column; text stays text (conforming types is dbt's job)."""
    try:
        python_type = column_type.python_type
    except NotImplementedError:
        return pa.string()
    if python_type is bool:
        return pa.bool_()
    if python_type is int:
        return pa.int64()
    if python_type is float:
        return pa.float64()
    if python_type is decimal.Decimal:
        scale = getattr(column_type, "scale", None)
        precision = getattr(column_type, "precision", None)
        return pa.decimal128(precision, scale) if precision and scale is not None else pa.float64()
    if python_type is dt.datetime:
        return pa.timestamp("us")
    if python_type is dt.date:
        return pa.date32()
    if python_type is bytes:
        return pa.binary()
    return pa.string()


class SqlSource:
    """One SQL department system; ``name`` is used in every error message."""

    def __init__(self, name: str, url: str, batch_size: int = DEFAULT_BATCH_SIZE, *, native: bool = True):
        self.name = name
        given = make_url(url)
        mysql = given.get_backend_name() == "mysql"
        self.compress = mysql and str(given.query.get("compress", "")).lower() in ("1", "true")
        self.url = given.difference_update_query(["compress"]) if mysql else given  # the scanner's, not PyMySQL's
        self.batch_size = batch_size
        self.native = native and self.url.get_backend_name() in SCANNERS
        self._engine: sa.Engine | None = None

    @property
    def display_url(self) -> str:
        return self.url.render_as_string(hide_password=True)

    def _connect(self) -> sa.Connection:
        if self.url.get_backend_name() == "sqlite" and not Path(self.url.database or "").is_file():
            raise SourceUnavailableError(f"source {self.name}: database file {self.url.database} does not exist")
        if self._engine is None:
            self._engine = sa.create_engine(self.url, pool_pre_ping=True)
        try:
            return self._engine.connect()
        except sa.exc.SQLAlchemyError as exc:
            raise SourceUnavailableError(f"source {self.name} at {self.display_url} is unreachable: {exc}") from exc

    @property
    def _untyped(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    def schema(self, table: str) -> tuple[sa.Table, pa.Schema]:
        with self._connect() as connection:
            try:
                reflected = sa.Table(table, sa.MetaData(), autoload_with=connection)
            except sa.exc.NoSuchTableError as exc:
                raise SourceUnavailableError(f"source {self.name}: table {table!r} does not exist") from exc
        fields = [
            pa.field(c.name, pa.string() if self._untyped else _arrow_type(c.type), nullable=c.nullable)
            for c in reflected.columns
        ]
        return reflected, pa.schema(fields)

    def read_batches(
        self,
        table: str,
        order_by: tuple[str, ...] = (),
        *,
        columns: tuple[str, ...] | None = None,
        since: tuple[str, str] | None = None,
    ) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
        """The table's Arrow schema and a lazy stream of its rows (``columns`` only; rows whose
        ``since[0]`` column is past ``since[1]`` only) as record batches."""
        reflected, schema = self.schema(table)
        if columns is not None:
            schema = pa.schema([schema.field(name) for name in columns])

        def stream() -> Iterator[pa.RecordBatch]:
            if self._untyped:  # raw stored values: no type processor may choke on a mistyped one
                column = sa.column
                query = sa.select(*(column(f.name) for f in schema)).select_from(sa.table(table))
            else:
                column = reflected.c.__getitem__
                query = sa.select(*(column(f.name) for f in schema))
            if since is not None:
                query = query.where(column(since[0]) > since[1])
            query = query.order_by(*(column(name) for name in order_by))
            row_type = pa.struct(list(schema))
            with self._connect() as connection:
                result = connection.execution_options(stream_results=True, yield_per=self.batch_size).execute(query)
                for rows in result.partitions(self.batch_size):
                    if self._untyped:
                        yield _as_text(rows, schema)
                    else:  # rows straight into one struct array: about half the work of transposing them first
                        yield pa.RecordBatch.from_struct_array(pa.array(list(map(tuple, rows)), type=row_type))

        return schema, stream()

    def read_batches_native(
        self, table: str, *, columns: tuple[str, ...] | None = None, since: tuple[str, str] | None = None
    ) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
        """The table through DuckDB's scanner, in the source's storage order (filtered as ``read_batches``)."""
        self.schema(table)  # reflect first: missing tables and unreachable servers fail here, named
        connection = duckdb.connect()
        load_extension(connection, SCANNERS[self.url.get_backend_name()])
        if self._untyped:
            connection.execute("set sqlite_all_varchar = true")
        try:
            if self.url.get_backend_name() == "sqlite":
                connection.execute(f"attach {sql_literal(self.url.database)} as source (type sqlite, read_only)")
            else:
                attach_server(connection, self.url, "source", read_only=True, compress=self.compress)
        except duckdb.Error as exc:  # the password is in a secret, never in the statement its errors repeat
            raise SourceUnavailableError(f"source {self.name} at {self.display_url}: {exc}") from None
        schema_name = "main" if self.url.get_backend_name() == "sqlite" else None
        qualified = ".".join(f'"{p}"' for p in ("source", schema_name, table) if p)
        if self.url.get_backend_name() == "postgresql":
            qualified = f'source."public"."{table}"'
        selected = ", ".join(f'"{name}"' for name in columns) if columns else "*"
        # the watermark quoted, not bound: a first bound parameter makes DuckDB's client import pandas (~1 s)
        where = f' where "{since[0]}" > {sql_literal(since[1])}' if since else ""
        reader = connection.execute(f"select {selected} from {qualified}{where}").to_arrow_reader(self.batch_size)

        def stream() -> Iterator[pa.RecordBatch]:
            try:
                yield from reader
            finally:
                connection.close()

        return reader.schema, stream()

    def _read(self, table: TableSpec, **filters) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
        if self.native:
            return self.read_batches_native(table.name, **filters)
        return self.read_batches(table.name, order_by=table.primary_key, **filters)

    def extract(self, table: TableSpec, state: dict) -> Extraction:
        """A full snapshot, or with ``options.mode: incremental`` and a watermark from the last run, the
        rows whose cursor moved past it plus the table's current keys (so the landing zone can tell
        which rows were deleted). Natively scanned where DuckDB can, else in primary-key order."""
        incremental = table.options.get("mode") == "incremental" and table.cursor and state.get("watermark")
        since = (table.cursor, state["watermark"]) if incremental else None
        schema, batches = self._read(table, since=since)
        new_state = {"mode": "incremental" if incremental else "full_snapshot", "watermark": state.get("watermark")}
        if table.cursor:
            batches = _tracking_watermark(batches, table.cursor, new_state)
        keys = self._read(table, columns=table.primary_key)[1] if incremental else None
        return Extraction(schema, batches, new_state, keys=keys)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
