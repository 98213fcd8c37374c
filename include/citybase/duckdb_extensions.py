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
    connection.execute(f"load '{extension_path(name)}'")


def scanner_dsn(url: URL, *, compress: bool = False) -> str:
    """The ``key=value`` connection string DuckDB's postgres and mysql scanners take for a SQLAlchemy URL (the
    password inline: never log it). The MySQL protocol stays uncompressed unless ``compress``: DuckDB's scanner
    would compress by default, and the server then deflates every row it sends."""
    mysql = url.get_backend_name() == "mysql"
    parts = {"host": url.host, "port": url.port, "user": url.username, "password": url.password}
    parts["database" if mysql else "dbname"] = url.database
    if mysql:
        parts["compress"] = int(compress)
    return " ".join(f"{k}={v}" for k, v in parts.items() if v is not None)
