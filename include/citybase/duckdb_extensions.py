"""Load DuckDB extensions from their PyPI packages: nothing may be downloaded at run time.

Each ``duckdb-extension-<name>`` wheel ships ``extensions/v<duckdb version>/<name>.duckdb_extension``.
DuckDB derives an extension's entry point from its file name, so the wheels used here are the ones
named after the canonical extension (``postgres_scanner``, not ``postgres``).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:
    from sqlalchemy.engine import URL


def extension_path(name: str) -> Path:
    try:
        package = importlib.import_module(f"duckdb_extension_{name}")
    except ImportError as exc:
        wheel = name.replace("_", "-")
        raise RuntimeError(f"DuckDB extension {name!r} is not installed: add duckdb-extension-{wheel}") from exc
    shipped = Path(package.__file__).parent / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if not shipped.exists():
        raise RuntimeError(f"the {name} extension package has no build for DuckDB {duckdb.__version__} ({shipped})")
    return shipped


def sql_literal(text: str | Path) -> str:
    """``text`` (e.g. a path) as a single-quoted SQL string, for the statements that take no parameters
    (``ATTACH``, ``COPY``)."""
    return "'" + str(text).replace("'", "''") + "'"


def load_extension(connection: duckdb.DuckDBPyConnection, name: str) -> None:
    connection.execute(f"load {sql_literal(extension_path(name))}")


def attach_server(
    connection: duckdb.DuckDBPyConnection, url: URL, alias: str, *, read_only: bool = False, compress: bool = False
) -> None:
    """Attach the PostgreSQL or MySQL database ``url`` names as ``alias``, through DuckDB's scanner. The
    credentials go into a temporary secret as quoted SQL strings, not into the attach string: no character
    of a password can break a statement, and the scanners' errors, which repeat the attach string, cannot
    show it. (Not as bound parameters: a process's first bound parameter makes DuckDB's Python client
    import pandas, a second of a task's time.) The MySQL protocol stays uncompressed unless ``compress``:
    DuckDB's scanner would compress by default, and the server then deflates every row it sends."""
    kind = "mysql" if url.get_backend_name() == "mysql" else "postgres"
    fields = {"host": url.host, "port": url.port, "user": url.username, "password": url.password}
    given = {name: value for name, value in {**fields, "database": url.database}.items() if value is not None}
    secret = f"{alias}_credentials"
    settings = ", ".join(f"{name} {sql_literal(value)}" for name, value in given.items())
    connection.execute(f"create or replace temporary secret {secret} (type {kind}, {settings})")
    dsn = f"compress={int(compress)}" if kind == "mysql" else ""  # everything else comes from the secret
    options = ", ".join([f"type {kind}", f"secret {secret}", *(["read_only"] if read_only else [])])
    connection.execute(f"attach {sql_literal(dsn)} as {alias} ({options})")
