"""A GX fluent datasource for DuckDB that works.

GX's ``SqlAlchemyExecutionEngine.execute_query`` returns a live cursor result *after* leaving the
connection's ``with`` block. Most drivers have buffered the rows by then; DuckDB has not, and the
rollback SQLAlchemy issues when the connection is released discards the pending result, so every
metric comes back empty and each expectation fails with ``IndexError`` (GX upstream #10738/#11579).
The fix is to buffer the rows while the connection is still open. The queries are GX's own
aggregate metrics, so what is buffered is a handful of rows, never a table.
"""

from __future__ import annotations

from typing import Literal

import sqlalchemy as sa
from great_expectations.datasource.fluent import SQLDatasource
from great_expectations.execution_engine import SqlAlchemyExecutionEngine


class DuckDBExecutionEngine(SqlAlchemyExecutionEngine):
    def execute_query(self, query: sa.Selectable | sa.TextClause) -> sa.Result:
        with self.get_connection() as connection:
            result = self._execute_query_with_recovery(connection, query)
            return result.freeze()()  # materialise while the DuckDB result is still alive

    def execute_query_in_transaction(self, query: sa.Selectable) -> sa.Result:
        with self.get_connection() as connection, connection.begin():
            return self._execute_query_with_recovery(connection, query).freeze()()


class DuckDBDatasource(SQLDatasource):
    """``context.data_sources.add_duckdb(name=..., connection_string="duckdb:///path")``."""

    type: Literal["duckdb"] = "duckdb"  # type: ignore[assignment]  # GX discriminates datasources by this field

    @property
    def execution_engine_type(self) -> type[SqlAlchemyExecutionEngine]:
        return DuckDBExecutionEngine
