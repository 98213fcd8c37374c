"""The Airflow Assets that chain the stages: landing -> warehouse -> exchange."""

from __future__ import annotations

from airflow.sdk import Asset

from citybase.settings import Settings
from connectors.registry import SourceSpec, TableSpec


def gated_datasets(settings: Settings | None = None) -> list[str]:
    """Datasets with a gate suite (``expectations/<dataset>.py``): exactly those the exchange publishes."""
    settings = settings or Settings.from_env()
    return sorted(p.stem for p in settings.expectations_dir.glob("*.py") if not p.stem.startswith("_"))


def landing_asset(source: SourceSpec, table: TableSpec) -> Asset:
    return Asset(
        name=f"landing.{source.department}.{source.system}.{table.name}",
        uri=f"citybase://landing/{source.key}/{table.name}",
        group="landing",
    )


def warehouse_asset(dataset: str) -> Asset:
    return Asset(name=f"warehouse.{dataset}", uri=f"citybase://warehouse/{dataset}", group="warehouse")


def exchange_asset(dataset: str) -> Asset:
    return Asset(name=f"exchange.{dataset}", uri=f"citybase://exchange/{dataset}", group="exchange")
