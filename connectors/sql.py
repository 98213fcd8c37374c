"""SQL department systems, streamed as Arrow record batches with memory bounded by a few batches.

Two paths, one result. For SQLite, PostgreSQL and MySQL/MariaDB, DuckDB's scanner extensions read
the table in C++ and hand Arrow batches over directly (``bench/extract`` measures the gain). Any
other SQLAlchemy URL goes through a server-side cursor (``stream_results``) in ``batch_size``
partitions. Either way the table is reflected first, so a missing table or an unreachable server
fails with a message naming the source, and passwords never reach a message.

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
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from citybase.duckdb_extensions import load_extension
from connectors.base import Extraction
from connectors.registry import TableSpec

DEFAULT_BATCH_SIZE = 122_880  # DuckDB's row-group size: native batches arrive whole
# SQLAlchemy backends DuckDB can scan natively, with the extension that does it.
SCANNERS = {"sqlite": "sqlite_scanner", "postgresql": "postgres_scanner", "mysql": "mysql_scanner"}


class SourceUnavailableError(RuntimeError):
    """The department system cannot be reached; the message names the source."""


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
        self.url = make_url(url)
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

    def read_batches(self, table: str, order_by: tuple[str, ...] = ()) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
        """The table's Arrow schema and a lazy stream of its rows as record batches."""
        reflected, schema = self.schema(table)

        def stream() -> Iterator[pa.RecordBatch]:
            if self._untyped:  # raw stored values: no type processor may choke on a mistyped one
                columns = [sa.column(c.name) for c in reflected.columns]
                query = sa.select(*columns).select_from(sa.table(table)).order_by(*(sa.column(n) for n in order_by))
            else:
                query = sa.select(reflected).order_by(*(reflected.c[name] for name in order_by))
            with self._connect() as connection:
                result = connection.execution_options(stream_results=True, yield_per=self.batch_size).execute(query)
                for rows in result.partitions(self.batch_size):
                    columns = list(zip(*rows, strict=True))
                    if self._untyped:
                        columns = [[None if v is None else str(v) for v in values] for values in columns]
                    arrays = [pa.array(values, type=field.type) for values, field in zip(columns, schema, strict=True)]
                    yield pa.RecordBatch.from_arrays(arrays, schema=schema)

        return schema, stream()

    def _scanner_attach(self) -> str:
        """The ATTACH statement for DuckDB's scanner of this backend (password inline: never logged)."""
        backend, url = self.url.get_backend_name(), self.url
        if backend == "sqlite":
            return f"attach '{url.database}' as source (type sqlite, read_only)"
        parts = {"host": url.host, "port": url.port, "user": url.username, "password": url.password}
        parts["dbname" if backend == "postgresql" else "database"] = url.database
        dsn = " ".join(f"{k}={v}" for k, v in parts.items() if v is not None)
        return f"attach '{dsn}' as source (type {'postgres' if backend == 'postgresql' else 'mysql'}, read_only)"

    def read_batches_native(self, table: str) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
        """The whole table through DuckDB's scanner, in the source's storage order."""
        self.schema(table)  # reflect first: missing tables and unreachable servers fail here, named
        connection = duckdb.connect()
        load_extension(connection, SCANNERS[self.url.get_backend_name()])
        if self._untyped:
            connection.execute("set sqlite_all_varchar = true")
        try:
            connection.execute(self._scanner_attach())
        except duckdb.Error as exc:
            message = str(exc).replace(self.url.password, "***") if self.url.password else str(exc)
            raise SourceUnavailableError(f"source {self.name} at {self.display_url}: {message}") from None
        schema_name = "main" if self.url.get_backend_name() == "sqlite" else None
        qualified = ".".join(f'"{p}"' for p in ("source", schema_name, table) if p)
        if self.url.get_backend_name() == "postgresql":
            qualified = f'source."public"."{table}"'
        reader = connection.execute(f"select * from {qualified}").fetch_record_batch(self.batch_size)

        def stream() -> Iterator[pa.RecordBatch]:
            try:
                yield from reader
            finally:
                connection.close()

        return reader.schema, stream()

    def extract(self, table: TableSpec, state: dict) -> Extraction:
        """A full snapshot of ``table``: natively scanned where DuckDB can, else in primary-key order."""
        if self.native:
            schema, batches = self.read_batches_native(table.name)
        else:
            schema, batches = self.read_batches(table.name, order_by=table.primary_key)
        return Extraction(schema, batches, state={"mode": "full_snapshot"})

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
