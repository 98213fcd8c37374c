"""The exchange: published datasets and the government resource catalog that lists them.

Each publication writes a new versioned table ``<dataset>__v<n>``, repoints the ``<dataset>`` view
that departments query, and upserts the dataset's catalog entry, all in one transaction: readers
see the old version or the new one, never a mix, and a failure leaves the previous version live.
Personal data is pseudonymised or masked on the way in (``citybase.pii``); the HMAC key is bound
to a Python UDF and never appears in SQL or logs.

DuckDB does the work for both kinds of exchange: an embedded DuckDB file, or PostgreSQL (production)
attached through DuckDB's postgres extension, so there is one publication path to test.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
from sqlalchemy.engine import make_url

from citybase.duckdb_extensions import attach_server, load_extension, sql_literal
from citybase.pii import MASKS, PSEUDONYM_SUFFIX, arrow_udf, mask_id_number, pseudonym
from citybase.warehouse import MartSpec

SHARING_TYPES = {"unconditional": "无条件共享", "conditional": "有条件共享", "not_shared": "不予共享"}
KEEP_VERSIONS = 3

_SCHEMA_DDL = """
create table if not exists {schema}.catalog (
    resource_code varchar primary key,
    dataset varchar not null unique,
    title varchar not null,
    provider varchar not null,
    sharing_type varchar not null,
    update_cycle varchar not null,
    version integer not null,
    row_count bigint not null,
    published_at timestamptz not null,
    description varchar,
    columns json,
    lineage json,
    quality_report varchar
);
create table if not exists {schema}.publication_log (
    dataset varchar not null,
    version integer,
    outcome varchar not null,
    reason varchar,
    row_count bigint,
    logged_at timestamptz not null,
    quality_report varchar
);
"""


class PublicationError(RuntimeError):
    """A dataset could not be published; the previous version stays live."""


@dataclass(frozen=True)
class CatalogEntry:
    resource_code: str
    dataset: str
    title: str
    provider: str
    sharing_type: str
    update_cycle: str
    version: int
    row_count: int
    published_at: dt.datetime
    description: str
    columns: list
    lineage: dict
    quality_report: str | None


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


class Exchange:
    """The exchange database: a DuckDB file of its own (embedded) or a PostgreSQL schema."""

    def __init__(self, url: str):
        parsed = make_url(url)
        self.backend = parsed.get_backend_name()
        self.display_url = parsed.render_as_string(hide_password=True)
        self._url = parsed
        if self.backend == "duckdb":
            self.path: Path | None = Path(parsed.database or "")
            self.db_schema = "main"
        elif self.backend == "postgresql":
            self.path = None
            self.db_schema = str(parsed.query.get("schema", "exchange"))
        else:
            raise PublicationError(f"exchange URL {self.display_url}: use duckdb:///<file> or postgresql://...")
        self.schema = f"xc.{_quote(self.db_schema)}"

    def _exists(self) -> bool:
        return self.path is None or self.path.exists()

    def _connect(self, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        connection = duckdb.connect()
        if self.backend == "postgresql":
            load_extension(connection, "postgres_scanner")
        elif not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            if self.backend == "postgresql":  # the password in a secret: never in the statement or its errors
                attach_server(connection, self._url, "xc", read_only=read_only)
            else:
                connection.execute(f"attach {sql_literal(self.path)} as xc{' (read_only)' if read_only else ''}")
        except duckdb.Error as exc:
            raise PublicationError(f"exchange {self.display_url} cannot be opened: {exc}") from None
        if not read_only:
            connection.execute(f"create schema if not exists {self.schema}")
            connection.execute(_SCHEMA_DDL.format(schema=self.schema))
        return connection

    def _has_catalog(self, connection: duckdb.DuckDBPyConnection) -> bool:
        return (
            connection.execute(
                "select count(*) from duckdb_tables() where database_name = 'xc' and schema_name = ? "
                "and table_name = 'catalog'",
                [self.db_schema],
            ).fetchone()[0]
            > 0
        )

    def catalog(self) -> list[CatalogEntry]:
        if not self._exists():
            return []
        with self._connect(read_only=True) as connection:
            if not self._has_catalog(connection):
                return []
            cursor = connection.execute(f"select * from {self.schema}.catalog order by resource_code")
            names = [d[0] for d in cursor.description]
            rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        for row in rows:
            row["columns"] = json.loads(row["columns"] or "[]")
            row["lineage"] = json.loads(row["lineage"] or "{}")
            row["published_at"] = row["published_at"].astimezone(dt.UTC)
        return [CatalogEntry(**row) for row in rows]

    def entry(self, dataset: str) -> CatalogEntry | None:
        return next((e for e in self.catalog() if e.dataset == dataset), None)

    def publication_log(self) -> list[dict]:
        if not self._exists():
            return []
        with self._connect(read_only=True) as connection:
            if not self._has_catalog(connection):
                return []
            cursor = connection.execute(f"select * from {self.schema}.publication_log order by logged_at")
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def record_blocked(self, dataset: str, reason: str, quality_report: str | None) -> None:
        """Log a publication the gate refused; the live version is untouched."""
        with self._connect() as connection:
            connection.execute(
                f"insert into {self.schema}.publication_log values (?, null, 'blocked', ?, null, ?, ?)",
                [dataset, reason, dt.datetime.now(dt.UTC), quality_report],
            )

    def publish(
        self,
        mart: MartSpec,
        warehouse_path: Path,
        pseudonym_key: bytes,
        *,
        lineage: dict | None = None,
        quality_report: str | None = None,
    ) -> CatalogEntry:
        """Copy ``mart`` from the warehouse as a new version, applying the PII policy, atomically."""
        meta = mart.exchange
        missing = [
            k for k in ("resource_code", "title_zh", "provider", "sharing_type", "update_cycle") if k not in meta
        ]
        if missing:
            raise PublicationError(f"{mart.name}: meta.exchange lacks {', '.join(missing)} in its dbt YAML")
        if meta["sharing_type"] not in SHARING_TYPES:
            raise PublicationError(f"{mart.name}: sharing_type {meta['sharing_type']!r} not in {list(SHARING_TYPES)}")
        if meta["sharing_type"] == "not_shared":
            raise PublicationError(f"{mart.name}: sharing_type not_shared datasets are listed, never published")
        select_list, published_columns = self._published_columns(mart)
        with self._connect() as connection:
            connection.create_function(
                "citybase_pseudonym",
                arrow_udf(lambda v: pseudonym(v, pseudonym_key)),
                ["VARCHAR"],
                "VARCHAR",
                type="arrow",
            )
            connection.create_function(
                "citybase_mask_id", arrow_udf(mask_id_number), ["VARCHAR"], "VARCHAR", type="arrow"
            )
            for kind, mask in MASKS.items():
                connection.create_function(
                    f"citybase_mask_{kind}", arrow_udf(mask), ["VARCHAR"], "VARCHAR", type="arrow"
                )
            connection.execute(f"attach {sql_literal(warehouse_path)} as wh (read_only)")
            previous = connection.execute(
                f"select coalesce(max(version), 0) from {self.schema}.publication_log where dataset = ?",
                [mart.name],
            ).fetchone()[0]
            version = previous + 1
            table, view = f"{mart.name}__v{version}", f"{self.schema}.{_quote(mart.name)}"
            # The view's text is stored in the exchange database itself, so it names the table as that
            # database sees it: unqualified in a DuckDB file (which may be opened under any alias), schema-
            # qualified in PostgreSQL (where DuckDB passes CREATE VIEW through).
            view_target = _quote(table) if self.backend == "duckdb" else f"{_quote(self.db_schema)}.{_quote(table)}"
            now = dt.datetime.now(dt.UTC)
            connection.execute("begin transaction")
            try:
                connection.execute(
                    f"create table {self.schema}.{_quote(table)} as select {select_list} "
                    f"from wh.{_quote(mart.schema)}.{_quote(mart.identifier)}"
                )
                rows = connection.execute(f"select count(*) from {self.schema}.{_quote(table)}").fetchone()[0]
                connection.execute(f"drop view if exists {view}")
                connection.execute(f"create view {view} as select * from {view_target}")
                connection.execute(f"delete from {self.schema}.catalog where dataset = ?", [mart.name])
                connection.execute(
                    f"insert into {self.schema}.catalog values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        meta["resource_code"], mart.name, meta["title_zh"], meta["provider"], meta["sharing_type"],
                        meta["update_cycle"], version, rows, now, mart.description,
                        json.dumps(published_columns, ensure_ascii=False), json.dumps(lineage or {}), quality_report,
                    ],
                )  # fmt: skip
                connection.execute(
                    f"insert into {self.schema}.publication_log values (?, ?, 'published', null, ?, ?, ?)",
                    [mart.name, version, rows, now, quality_report],
                )
                connection.execute("commit")
            except Exception as exc:
                connection.execute("rollback")
                raise PublicationError(f"{mart.name}: publication of version {version} rolled back: {exc}") from exc
            self._drop_old_versions(connection, mart.name, version)
        entry = self.entry(mart.name)
        assert entry is not None
        return entry

    @staticmethod
    def _published_columns(mart: MartSpec) -> tuple[str, list[dict]]:
        expressions, published = [], []
        for column in mart.columns:
            source = _quote(column.name)
            if column.pii == "id_number":
                outputs = [
                    (
                        f"citybase_pseudonym({source})",
                        column.name + PSEUDONYM_SUFFIX,
                        "keyed HMAC-SHA256 pseudonym",
                    ),
                    (f"citybase_mask_id({source})", column.name + "_masked", "masked for display"),
                ]
            elif column.pii in MASKS:
                outputs = [(f"citybase_mask_{column.pii}({source})", column.name, "masked")]
            elif column.pii:
                raise PublicationError(f"{mart.name}.{column.name}: no exchange policy for pii kind {column.pii!r}")
            else:
                outputs = [(source, column.name, None)]
            for expression, name, treatment in outputs:
                expressions.append(f"{expression} as {_quote(name)}")
                description = column.description + (f" ({treatment})" if treatment else "")
                published.append({"name": name, "description": description.strip(), "pii_treatment": treatment})
        if not expressions:
            raise PublicationError(f"{mart.name}: the dbt manifest documents no columns")
        return ", ".join(expressions), published

    def _drop_old_versions(self, connection: duckdb.DuckDBPyConnection, dataset: str, current: int) -> None:
        """Keep the last few versions for rollback; older ones go."""
        tables = connection.execute(
            "select table_name from duckdb_tables() where database_name = 'xc' and schema_name = ? "
            "and starts_with(table_name, ?)",
            [self.db_schema, f"{dataset}__v"],
        ).fetchall()
        for (name,) in tables:
            suffix = name.removeprefix(f"{dataset}__v")
            if suffix.isdigit() and int(suffix) <= current - KEEP_VERSIONS:
                connection.execute(f"drop table {self.schema}.{_quote(name)}")
