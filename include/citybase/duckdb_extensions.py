"""Load DuckDB extensions from their PyPI packages: nothing may be downloaded at run time.

The ``duckdb-extension-<name>`` wheels ship the binary as ``<name>.duckdb_extension``, but DuckDB
derives the entry point from the file name, and some extensions' canonical names differ
(``postgres`` is ``postgres_scanner``). A symlink under the canonical name bridges the two.
"""

from __future__ import annotations

import contextlib
import importlib
import tempfile
from pathlib import Path

import duckdb

CANONICAL_NAMES = {"postgres": "postgres_scanner", "mysql": "mysql_scanner", "sqlite": "sqlite_scanner"}


def extension_path(name: str) -> Path:
    try:
        package = importlib.import_module(f"duckdb_extension_{name}")
    except ImportError as exc:
        raise RuntimeError(f"DuckDB extension {name!r} is not installed: add duckdb-extension-{name}") from exc
    version = f"v{duckdb.__version__}"
    shipped = Path(package.__file__).parent / "extensions" / version / f"{name}.duckdb_extension"
    if not shipped.exists():
        raise RuntimeError(f"duckdb-extension-{name} has no build for DuckDB {version} at {shipped}")
    canonical = CANONICAL_NAMES.get(name, name)
    if canonical == name:
        return shipped
    link = Path(tempfile.gettempdir()) / f"citybase-duckdb-{version}" / f"{canonical}.duckdb_extension"
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.exists():
        with contextlib.suppress(FileExistsError):  # another process linked it first
            link.symlink_to(shipped)
    return link


def load_extension(connection: duckdb.DuckDBPyConnection, name: str) -> None:
    connection.execute(f"load '{extension_path(name)}'")
