"""The source registry (``connectors/sources.yml``) as typed objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

REGISTRY_PATH = Path(__file__).with_name("sources.yml")
SOURCE_KINDS = ("sql", "file_drop", "rest", "geojson")
PII_KINDS = ("id_number", "name", "address", "phone")


class RegistryError(ValueError):
    """The registry file is inconsistent; the message names the entry and the field."""


@dataclass(frozen=True)
class TableSpec:
    name: str
    primary_key: tuple[str, ...]
    cursor: str | None
    pii: dict[str, str]
    options: dict = field(default_factory=dict)  # kind-specific: file pattern, endpoint, page size, ...


@dataclass(frozen=True)
class SourceSpec:
    department: str
    department_zh: str
    system: str
    system_zh: str
    kind: str
    connection: str
    schedule: str
    owner: str
    tables: tuple[TableSpec, ...]
    warehouse: bool = False  # dbt builds the base databases from it: the warehouse build waits for it

    @property
    def key(self) -> str:
        """``<department>/<system>``: the landing-zone prefix and the dbt ``landing_runs`` key."""
        return f"{self.department}/{self.system}"

    @property
    def dag_id(self) -> str:
        return f"extract__{self.department}__{self.system}"


def _table(entry: dict, where: str) -> TableSpec:
    pii = dict(entry.get("pii") or {})
    for column, kind in pii.items():
        if kind not in PII_KINDS:
            raise RegistryError(f"{where}: pii column {column!r} has kind {kind!r}, expected one of {PII_KINDS}")
    if not entry.get("primary_key"):
        raise RegistryError(f"{where}: primary_key is required")
    return TableSpec(
        entry["name"], tuple(entry["primary_key"]), entry.get("cursor"), pii, dict(entry.get("options") or {})
    )


def parse_registry(document: dict, origin: str = "sources.yml") -> tuple[SourceSpec, ...]:
    sources, seen = [], set()
    for index, entry in enumerate(document.get("sources") or []):
        where = f"{origin}: sources[{index}] ({entry.get('department')}/{entry.get('system')})"
        missing = [f for f in ("department", "system", "kind", "connection", "owner", "tables") if not entry.get(f)]
        if missing:
            raise RegistryError(f"{where}: missing {', '.join(missing)}")
        if entry["kind"] not in SOURCE_KINDS:
            raise RegistryError(f"{where}: kind {entry['kind']!r} is not one of {SOURCE_KINDS}")
        spec = SourceSpec(
            department=entry["department"],
            department_zh=entry.get("department_zh", entry["department"]),
            system=entry["system"],
            system_zh=entry.get("system_zh", entry["system"]),
            kind=entry["kind"],
            connection=entry["connection"],
            schedule=entry.get("schedule", "@daily"),
            owner=entry["owner"],
            tables=tuple(_table(t, f"{where} table {t.get('name')}") for t in entry["tables"]),
            warehouse=bool(entry.get("warehouse", False)),
        )
        if spec.key in seen:
            raise RegistryError(f"{where}: {spec.key} is declared twice")
        seen.add(spec.key)
        sources.append(spec)
    return tuple(sources)


@cache
def load_registry(path: Path = REGISTRY_PATH) -> tuple[SourceSpec, ...]:
    """The registry, read once per process (DAG files call this at parse time)."""
    with path.open(encoding="utf-8") as handle:
        return parse_registry(yaml.safe_load(handle), origin=str(path))


def get_source(key: str) -> SourceSpec:
    for source in load_registry():
        if source.key == key:
            return source
    raise KeyError(f"no source {key!r} in {REGISTRY_PATH}; known: {[s.key for s in load_registry()]}")
