"""The work each Airflow task does, as plain functions: DAG files stay thin and tests call these directly.

Every function reads its configuration from the environment (``Settings.from_env``), so the same
call works in ``dag.test()``, under the scheduler, and from the CLI.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import asdict
from pathlib import Path

from citybase.exchange import Exchange
from citybase.settings import Settings
from citybase.warehouse import landing_vars, load_manifest, mart_spec, run_dbt, upstream_landing_tables
from connectors.extract import extract_table
from connectors.landing import LandingZone, RunManifest, TableLanding, new_run_id
from connectors.registry import get_source, load_registry

log = logging.getLogger(__name__)


class GateBlockedError(RuntimeError):
    """A critical expectation failed: the dataset is not published and the live version stays."""


class MissingLandingError(RuntimeError):
    """A source has no complete landing run yet, so the warehouse cannot be built."""


def start_run() -> dict:
    return {"run_id": new_run_id(), "started_at": dt.datetime.now(dt.UTC).isoformat()}


def land_table(source_key: str, table: str, run_id: str) -> dict:
    settings = Settings.from_env()
    landing = extract_table(
        get_source(source_key), table, run_id, city_dir=settings.city_dir, landing_dir=settings.landing_dir
    )
    return asdict(landing)


def complete_run(source_key: str, run_id: str, started_at: str, landings: list[dict]) -> dict:
    settings = Settings.from_env()
    manifest = LandingZone(settings.landing_dir).complete_run(
        source_key, run_id, started_at, [TableLanding(**landing) for landing in landings]
    )
    return {"source": source_key, "run_id": run_id, "rows": manifest.rows}


def table_chain(runs: list[RunManifest], table: str) -> list[str]:
    """The runs dbt reads for one table of a source whose complete ``runs`` (oldest first) are given:
    its latest full snapshot, then every incremental run after it (macro landing_current merges them
    and applies their deletes); for a file drop, every run (each landed only files new to it). A run that
    found a snapshot file unchanged is skipped: the snapshot an earlier run landed is the table."""
    chain = []
    for run in reversed(runs):
        landing = run.tables.get(table)
        if landing is None or landing.state.get("mode") == "unchanged":
            continue
        chain.append(run.run_id)
        if landing.state.get("mode") not in {"incremental", "new_files"}:
            break
    return chain[::-1]


def landing_chains(settings: Settings) -> dict[str, dict[str, list[str]]]:
    """For every table of every source the warehouse is built from, the runs that make up its state
    at the newest complete run: what dbt reads, and the lineage published with each dataset."""
    zone, chains, missing = LandingZone(settings.landing_dir), {}, []
    for source in (s for s in load_registry() if s.warehouse):
        runs = zone.runs(source.key)  # read once: every table's chain comes from the same manifests
        if not runs:
            missing.append(source.key)
        else:
            chains[source.key] = {t.name: table_chain(runs, t.name) for t in source.tables}
    if missing:
        raise MissingLandingError(f"no complete landing run for {', '.join(missing)}: run their extract DAGs first")
    return chains


def build_warehouse() -> dict:
    """``dbt build`` over the landed runs up to the newest; tests failing at error severity fail the build."""
    settings = Settings.from_env()
    runs = landing_chains(settings)
    run_dbt(["build"], settings, landing_vars(settings, runs))
    (settings.home / "dbt" / "landing_runs.json").write_text(json.dumps(runs, indent=2), "utf-8")
    return {"landing_runs": runs}


def _relations(manifest: dict) -> dict[str, str]:
    return {
        node["name"]: f'"{node["schema"]}"."{node.get("alias") or node["name"]}"'
        for node in manifest["nodes"].values()
        if node["resource_type"] in {"model", "seed", "snapshot"}
    }


def gate(dataset: str) -> dict:
    """Validate ``dataset``; on a critical failure log the block on the exchange and raise."""
    from citybase.quality.gate import run_gate  # Great Expectations takes seconds to import: only here

    settings = Settings.from_env()
    manifest = load_manifest(settings)
    exchange = Exchange(settings.exchange_url)
    live = exchange.entry(dataset)
    verdict = run_gate(settings, mart_spec(manifest, dataset), _relations(manifest), live.row_count if live else None)
    if not verdict.passed:
        exchange.record_blocked(dataset, verdict.reason(), verdict.report)
        live_note = f"version {live.version} stays live" if live else "nothing was published before"
        raise GateBlockedError(f"{dataset} blocked at the gate ({live_note}): {verdict.reason()}")
    return {"dataset": dataset, "passed": True, "report": verdict.report}


def publish(dataset: str, report: str) -> dict:
    """Publish a dataset whose gate verdict (``report``) passed."""
    from citybase.quality.verdict import GateVerdict

    settings = Settings.from_env()
    verdict = GateVerdict.load(Path(report))
    if not verdict.passed or verdict.dataset != dataset:
        raise GateBlockedError(f"{dataset}: verdict {report} does not allow publication")
    manifest = load_manifest(settings)
    built_from = json.loads((settings.home / "dbt" / "landing_runs.json").read_text("utf-8"))
    upstream = upstream_landing_tables(manifest, dataset)
    landing_runs = {
        system: {table: runs for table, runs in tables.items() if table in upstream[system]}
        for system, tables in built_from.items()
        if system in upstream
    }
    lineage = {"landing_runs": landing_runs, "gate_report": report}
    entry = Exchange(settings.exchange_url).publish(
        mart_spec(manifest, dataset),
        settings.warehouse_path,
        settings.pseudonym_key(),
        lineage=lineage,
        quality_report=verdict.data_docs or report,
    )
    return {"dataset": dataset, "version": entry.version, "rows": entry.row_count}
