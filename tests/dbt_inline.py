"""Compiling inline SQL with the project's macros, for tests that evaluate macros outside a model."""

from __future__ import annotations

from pathlib import Path

import pytest
from dbt.cli.main import dbtRunner

PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"


def compile_inline(sql: str, tmp: Path, target: str = "duckdb") -> str:
    """``sql`` as dbt compiles it for ``target``: every macro expanded, nothing run."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("CITYBASE_WAREHOUSE_PATH", str(tmp / "warehouse.duckdb"))  # the profile needs it
        result = dbtRunner().invoke(
            ["compile", "--inline", sql, "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR),
             "--target", target, "--target-path", str(tmp / target), "--log-path", str(tmp / "logs"), "--quiet"]
        )  # fmt: skip
    assert result.success, result.exception
    [compiled] = [r for r in result.result.results if r.node.resource_type == "sql_operation"]
    return compiled.node.compiled_code
