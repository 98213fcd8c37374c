"""What a run did, stage by stage: the demo summary and the stewards' HTML quality report."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from citybase.exchange import Exchange
from citybase.quality.verdict import GateVerdict
from citybase.settings import Settings
from citybase.warehouse import load_manifest
from connectors.landing import LandingZone
from connectors.registry import load_registry


@dataclass
class RunSummary:
    landed: dict[str, int] = field(default_factory=dict)  # "<source>/<table>" -> rows of the latest run
    modelled: dict[str, int] = field(default_factory=dict)  # mart -> rows in the warehouse
    quarantined: dict[str, dict[str, int]] = field(default_factory=dict)  # source table -> reason -> rows
    verdicts: dict[str, GateVerdict] = field(default_factory=dict)
    published: dict[str, tuple[int, int]] = field(default_factory=dict)  # dataset -> (version, rows)


def collect(settings: Settings) -> RunSummary:
    summary = RunSummary()
    zone = LandingZone(settings.landing_dir)
    for source in load_registry():
        latest = zone.latest_run(source.key)
        for table in latest.tables.values() if latest else []:
            summary.landed[f"{source.key}/{table.table}"] = table.rows
    if settings.warehouse_path.exists():
        manifest = load_manifest(settings)
        models = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as warehouse:
            for node in models:
                relation = f'"{node["schema"]}"."{node.get("alias") or node["name"]}"'
                meta = node.get("meta") or {}
                if node["name"].startswith("quarantine_"):
                    rows = warehouse.execute(
                        f"select source_table, rejection_reason, count(*) from {relation} group by all order by 3 desc"
                    ).fetchall()
                    for source_table, reason, count in rows:
                        summary.quarantined.setdefault(source_table, {})[reason] = count
                elif "exchange" in meta:
                    summary.modelled[node["name"]] = warehouse.execute(f"select count(*) from {relation}").fetchone()[0]
    for dataset_dir in sorted((settings.reports_dir / "gate").glob("*")):
        reports = sorted(dataset_dir.glob("*.json"))
        if reports:
            summary.verdicts[dataset_dir.name] = GateVerdict.load(reports[-1])
    for entry in Exchange(settings.exchange_url).catalog():
        summary.published[entry.dataset] = (entry.version, entry.row_count)
    return summary


def _bar_chart(title: str, values: dict[str, int], colour: str) -> str:
    """A horizontal SVG bar chart: no plotting library needed to read the report."""
    if not values:
        return f"<p><em>{html.escape(title)}: nothing to show</em></p>"
    width, bar, gap, label = 760, 18, 6, 320
    peak = max(values.values()) or 1
    height = len(values) * (bar + gap) + 30
    bars = []
    for i, (name, value) in enumerate(values.items()):
        y = 24 + i * (bar + gap)
        length = (width - label - 60) * value / peak
        bars.append(
            f'<text x="{label - 6}" y="{y + 13}" text-anchor="end">{html.escape(name)}</text>'
            f'<rect x="{label}" y="{y}" width="{length:.1f}" height="{bar}" fill="{colour}"/>'
            f'<text x="{label + length + 4:.1f}" y="{y + 13}">{value:,}</text>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-size="12" '
        f'font-family="sans-serif"><text x="0" y="14" font-weight="bold">{html.escape(title)}</text>'
        f"{''.join(bars)}</svg>"
    )


def write_quality_report(settings: Settings, summary: RunSummary) -> Path:
    """``<reports>/quality.html``: rows per stage, rejections by rule, gate outcomes per dataset."""
    sections = [
        _bar_chart("Rows landed (latest run)", summary.landed, "#4C78A8"),
        _bar_chart("Rows in the base marts", summary.modelled, "#54A24B"),
    ]
    quarantined = dict(sorted(summary.quarantined.items()))
    sections.append(
        _bar_chart(
            "Records quarantined, by source table", {t: sum(r.values()) for t, r in quarantined.items()}, "#E45756"
        )
    )
    if quarantined:
        rows = "".join(
            f"<tr><td>{html.escape(table)}</td><td>{html.escape(reason)}</td><td>{count:,}</td></tr>"
            for table, reasons in quarantined.items()
            for reason, count in reasons.items()
        )
        sections.append(
            "<h2>Quarantined records by rule</h2><p>Each record is in its <code>quarantine_*</code> model with the "
            "rule's detail and the run it came from.</p>"
            f"<table><tr><th>source table</th><th>rule</th><th>records</th></tr>{rows}</table>"
        )
    for dataset, verdict in summary.verdicts.items():
        status = "passed" if verdict.passed else "BLOCKED"
        rows = "".join(
            f"<tr class={'ok' if o.success else o.severity}><td>{html.escape(o.expectation)}</td>"
            f"<td>{html.escape(o.column or '')}</td><td>{o.severity}</td><td>{'pass' if o.success else 'FAIL'}</td>"
            f"<td>{html.escape(o.observed)}</td><td>{html.escape(o.why)}</td></tr>"
            for o in verdict.outcomes
        )
        sections.append(
            f"<h2>{html.escape(dataset)}: {status}</h2><p>checked {verdict.checked_at}; "
            f"<a href='{html.escape(verdict.data_docs or verdict.report)}'>full GX results</a></p>"
            "<table><tr><th>expectation</th><th>column</th><th>severity</th><th>result</th><th>observed</th>"
            f"<th>why</th></tr>{rows}</table>"
        )
    page = (
        "<!doctype html><meta charset='utf-8'><title>citybase quality report</title><style>"
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
        "padding:3px 6px;font-size:13px}.critical{background:#fdd}.warning{background:#ffd}</style>"
        f"<h1>citybase quality report</h1>{''.join(sections)}"
    )
    path = settings.reports_dir / "quality.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, "utf-8")
    return path
