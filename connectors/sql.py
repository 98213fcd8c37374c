"""SQL department systems through SQLAlchemy, streamed as Arrow record batches.

Rows come from a server-side cursor (``stream_results``) in ``batch_size`` partitions, so memory is
bounded by a few batches whatever the table size.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from connectors.base import Extraction
from connectors.registry import TableSpec

DEFAULT_BATCH_SIZE = 50_000


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

    def __init__(self, name: str, url: str, batch_size: int = DEFAULT_BATCH_SIZE):
        self.name = name
        self.url = make_url(url)
        self.batch_size = batch_size
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

    def schema(self, table: str) -> tuple[sa.Table, pa.Schema]:
        with self._connect() as connection:
            try:
                reflected = sa.Table(table, sa.MetaData(), autoload_with=connection)
            except sa.exc.NoSuchTableError as exc:
                raise SourceUnavailableError(f"source {self.name}: table {table!r} does not exist") from exc
        fields = [pa.field(c.name, _arrow_type(c.type), nullable=c.nullable) for c in reflected.columns]
        return reflected, pa.schema(fields)

    def read_batches(self, table: str, order_by: tuple[str, ...] = ()) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
        """The table's Arrow schema and a lazy stream of its rows as record batches."""
        reflected, schema = self.schema(table)

        def stream() -> Iterator[pa.RecordBatch]:
            query = sa.select(reflected).order_by(*(reflected.c[name] for name in order_by))
            with self._connect() as connection:
                result = connection.execution_options(stream_results=True, yield_per=self.batch_size).execute(query)
                for rows in result.partitions(self.batch_size):
                    columns = list(zip(*rows, strict=True))
                    arrays = [pa.array(values, type=field.type) for values, field in zip(columns, schema, strict=True)]
                    yield pa.RecordBatch.from_arrays(arrays, schema=schema)

        return schema, stream()

    def extract(self, table: TableSpec, state: dict) -> Extraction:
        """A full snapshot of ``table`` in primary-key order."""
        schema, batches = self.read_batches(table.name, order_by=table.primary_key)
        return Extraction(schema, batches, state={"mode": "full_snapshot"})

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
