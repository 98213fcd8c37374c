"""Extraction: one source system's tables into one landing-zone run."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pyarrow as pa

from connectors.base import Rejection, Source
from connectors.connections import source_api, source_directory, source_url
from connectors.file_drop import FileDropSource
from connectors.geojson import GeoJsonSource
from connectors.landing import LandingZone, RunManifest, TableLanding
from connectors.registry import SourceSpec
from connectors.rest import RestSource
from connectors.sql import DEFAULT_BATCH_SIZE, SqlSource

log = logging.getLogger(__name__)


def extract_table(
    source: SourceSpec,
    table: str,
    run_id: str,
    *,
    city_dir: Path,
    landing_dir: Path,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> TableLanding:
    spec = next((t for t in source.tables if t.name == table), None)
    if spec is None:
        raise KeyError(f"source {source.key} declares no table {table!r}")
    zone = LandingZone(landing_dir)
    previous = zone.latest_landing(source.key, table)
    reader = open_source(source, city_dir, batch_size=batch_size)
    try:
        extraction = reader.extract(spec, previous.state if previous else {})
        changes = schema_changes(source.key, table, previous.columns if previous else {}, extraction.schema)
        landing = zone.land_table(source.key, table, run_id, extraction, changes)
    finally:
        reader.close()
    for change in changes:
        log.warning("schema of %s/%s changed: %s", source.key, table, change)
    log.info("landed %s/%s run %s: %d rows in %d batches", source.key, table, run_id, landing.rows, landing.batches)
    for rejection in landing.rejections:
        log.warning("rejected %s", Rejection(**rejection))
    return landing


class SchemaDriftError(RuntimeError):
    """A column was dropped, renamed or retyped: the source fails and nothing of it is landed."""


def schema_changes(source: str, table: str, previous: dict[str, str], schema: pa.Schema) -> list[str]:
    """Additive changes (new columns), which land and are reported; raise on anything else.

    A rename shows as one column missing and one new: it is refused, because downstream models
    would silently read NULLs from the old name.
    """
    if not previous:
        return []
    current = {f.name: str(f.type) for f in schema}
    missing = [name for name in previous if name not in current]
    retyped = [f"{n} {previous[n]} -> {current[n]}" for n in previous if n in current and current[n] != previous[n]]
    added = [f"added column {n} ({t})" for n, t in current.items() if n not in previous]
    if missing or retyped:
        problems = [f"column {n} dropped or renamed" for n in missing] + [f"column {r}" for r in retyped]
        new = f"; new columns: {', '.join(n for n in current if n not in previous)}" if added else ""
        raise SchemaDriftError(
            f"source {source} table {table}: {'; '.join(problems)}{new}. Nothing was landed; "
            "update the source's staging model for the new schema before extracting again."
        )
    return added


def open_source(source: SourceSpec, city_dir: Path, *, batch_size: int = DEFAULT_BATCH_SIZE) -> Source:
    """The connector for the source's kind, pointed at its system."""
    if source.kind == "sql":
        return SqlSource(source.key, source_url(source, city_dir), batch_size=batch_size)
    if source.kind == "geojson":
        return GeoJsonSource(source.key, source_directory(source, city_dir))
    if source.kind == "file_drop":
        return FileDropSource(source.key, source_directory(source, city_dir))
    if source.kind == "rest":
        base_url, token = source_api(source, city_dir)
        return RestSource(source.key, base_url, token)
    raise ValueError(f"source {source.key}: no connector for kind {source.kind!r}")


def extract_source(
    source: SourceSpec,
    run_id: str,
    *,
    city_dir: Path,
    landing_dir: Path,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> RunManifest:
    """Every table of ``source`` into run ``run_id``, then mark the run complete."""
    started_at = dt.datetime.now(dt.UTC).isoformat()
    landings = [
        extract_table(source, t.name, run_id, city_dir=city_dir, landing_dir=landing_dir, batch_size=batch_size)
        for t in source.tables
    ]
    return LandingZone(landing_dir).complete_run(source.key, run_id, started_at, landings)
