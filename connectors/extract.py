"""Extraction: one source system's tables into one landing-zone run."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from connectors.base import Rejection, Source
from connectors.connections import source_url
from connectors.landing import LandingZone, RunManifest, TableLanding
from connectors.registry import SourceSpec
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
    reader = open_source(source, city_dir, batch_size=batch_size)
    try:
        extraction = reader.extract(spec, zone.latest_state(source.key, table))
        landing = zone.land_table(source.key, table, run_id, extraction)
    finally:
        reader.close()
    log.info("landed %s/%s run %s: %d rows in %d batches", source.key, table, run_id, landing.rows, landing.batches)
    for rejection in landing.rejections:
        log.warning("rejected %s", Rejection(**rejection))
    return landing


def open_source(source: SourceSpec, city_dir: Path, *, batch_size: int = DEFAULT_BATCH_SIZE) -> Source:
    """The connector for the source's kind, pointed at its system."""
    if source.kind == "sql":
        return SqlSource(source.key, source_url(source, city_dir), batch_size=batch_size)
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
