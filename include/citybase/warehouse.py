"""The warehouse: dbt builds it; everything downstream learns its shape from dbt's manifest."""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field

from citybase.duckdb_extensions import extension_path
from citybase.settings import Settings


class BuildError(RuntimeError):
    """dbt build failed; the message lists the failing nodes and why."""


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    data_type: str
    description: str
    pii: str | None


@dataclass(frozen=True)
class MartSpec:
    """A dbt model as the gate and the exchange see it."""

    name: str
    schema: str
    identifier: str
    description: str
    columns: tuple[ColumnSpec, ...]
    exchange: dict = field(default_factory=dict)


def dbt_paths(settings: Settings) -> list[str]:
    """Project, profiles, target and log paths: runtime output stays out of the source tree."""
    return [
        "--project-dir", str(settings.dbt_project_dir),
        "--profiles-dir", str(settings.dbt_project_dir),
        "--target-path", str(settings.home / "dbt" / "target"),
        "--log-path", str(settings.home / "dbt" / "logs"),
    ]  # fmt: skip


@contextlib.contextmanager
def _environment(values: dict[str, str]):
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_dbt(command: list[str], settings: Settings, dbt_vars: dict | None = None):
    """Run a dbt command in-process; raise ``BuildError`` naming each failed node."""
    from dbt.cli.main import dbtRunner

    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    args = [*command, *dbt_paths(settings), "--target", "duckdb"]
    if dbt_vars is not None:
        args += ["--vars", json.dumps(dbt_vars)]
    profile_environment = {
        "CITYBASE_WAREHOUSE_PATH": str(settings.warehouse_path),  # profiles.yml
        "CITYBASE_DUCKDB_SPATIAL": str(extension_path("spatial")),  # macro load_duckdb_extensions
    }
    with _environment(profile_environment):  # only for this invocation: later settings must not see it
        result = dbtRunner().invoke(args)
    if not result.success:
        failures = []
        for node in getattr(result.result, "results", None) or []:
            if str(node.status) in {"error", "fail"}:
                failures.append(f"{node.node.unique_id}: {node.status}: {node.message}")
        detail = "; ".join(failures) or str(result.exception)
        raise BuildError(f"dbt {command[0]} failed: {detail}")
    return result


def landing_vars(settings: Settings, landing_runs: dict[str, dict[str, list[str]]]) -> dict:
    return {"landing_root": str(settings.landing_dir), "landing_runs": landing_runs}


def load_manifest(settings: Settings) -> dict:
    path = settings.home / "dbt" / "target" / "manifest.json"
    if not path.exists():
        raise BuildError(f"no dbt manifest at {path}: build the warehouse first")
    return json.loads(path.read_text("utf-8"))


def mart_spec(manifest: dict, name: str) -> MartSpec:
    node = next((n for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["name"] == name), None)
    if node is None:
        raise KeyError(f"dbt manifest has no model {name!r}")
    columns = tuple(
        ColumnSpec(c["name"], c.get("data_type") or "", c.get("description", ""), (c.get("meta") or {}).get("pii"))
        for c in node["columns"].values()
    )
    meta = node.get("meta") or node["config"].get("meta") or {}
    return MartSpec(
        name=name,
        schema=node["schema"],
        identifier=node.get("alias") or name,
        description=node.get("description", ""),
        columns=columns,
        exchange=meta.get("exchange", {}),
    )


def published_marts(manifest: dict) -> list[str]:
    """Models that declare ``meta.exchange``: the datasets the gate checks and the exchange publishes."""
    names = []
    for node in manifest["nodes"].values():
        meta = node.get("meta") or node.get("config", {}).get("meta") or {}
        if node["resource_type"] == "model" and "exchange" in meta:
            names.append(node["name"])
    return sorted(names)


def upstream_landing_tables(manifest: dict, name: str) -> dict[str, set[str]]:
    """The landed tables, by ``<department>/<system>``, that model ``name`` is built from: its lineage."""
    nodes = {**manifest["nodes"], **manifest["sources"]}
    model = next(
        key for key, node in manifest["nodes"].items() if node["resource_type"] == "model" and node["name"] == name
    )
    found: dict[str, set[str]] = {}
    pending, seen = [model], set()
    while pending:
        key = pending.pop()
        if key in seen or key not in nodes:
            continue
        seen.add(key)
        node = nodes[key]
        if node["resource_type"] == "source":
            system = (node.get("source_meta") or {}).get("landing_system") or (node.get("meta") or {}).get(
                "landing_system"
            )
            if system:  # a table's deletes belong to the table itself
                found.setdefault(system, set()).add(node["name"].removesuffix("_deletes"))
        pending.extend(node.get("depends_on", {}).get("nodes", []))
    return found
