"""One dirty simulated city for the dirt tests: every system extracted twice (a second run after two days
of evolution, so incremental SQL/REST runs and new daily files are merged), landed once per test worker.
``dirty_city.build(*select)`` builds the selected dbt models (and their parents) from the landed chains,
as ``build_warehouse`` does, into a warehouse of their own, once per selection.

Each ``test_<department>.py`` here checks, against the simulator's ground truth, that every defect
planted in its systems ends landed and standardised, quarantined with its reason, or rejected at
landing with file, row and rule.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest

from citybase.pipeline import landing_chains
from citybase.settings import Settings
from citybase.simulator import simulate
from citybase.simulator.api_server import start_api_server
from citybase.simulator.evolution import evolve
from citybase.warehouse import landing_vars, run_dbt
from connectors.extract import extract_source
from connectors.landing import RunManifest
from connectors.registry import load_registry

SCALE, DENSE_SCALE, SEED = 0.002, 0.01, 21
RUNS = ("20251231T000000-first", "20260102T000000-second")


@dataclass(frozen=True)
class Warehouse:
    path: Path

    def query(self, sql: str, parameters: list | None = None) -> list[tuple]:
        with duckdb.connect(str(self.path)) as connection:  # dbt's connection may still be open: same config
            return connection.execute(sql, parameters or []).fetchall()


@dataclass
class DirtyCity:
    home: Path
    city: Path
    landing: Path
    manifests: dict[str, list[RunManifest]] = field(default_factory=dict)  # source key -> its runs
    _built: dict[tuple[str, ...], Warehouse] = field(default_factory=dict)

    def build(self, *select: str) -> Warehouse:
        """``dbt build --select +<each>``: the models, their parents and their tests (a failing test fails it)."""
        if select not in self._built:
            home = self.home / f"build-{len(self._built)}"
            settings = Settings.from_env(
                {
                    "CITYBASE_HOME": str(home),
                    "CITYBASE_LANDING_DIR": str(self.landing),
                    "CITYBASE_CITY_DIR": str(self.city),
                }
            )
            run_dbt(
                ["build", "--select", *(f"+{s}" for s in select)],
                settings,
                landing_vars(settings, landing_chains(settings)),
            )
            self._built[select] = Warehouse(settings.warehouse_path)
        return self._built[select]

    def defects(self, table_key: str) -> list[dict[str, str]]:
        """The ground truth's planted defects of ``<department>/<system>/<table>``."""
        department, system, table = table_key.split("/")
        found = []
        for path in sorted((self.city / "ground_truth").glob("defects*.csv")):
            with path.open(encoding="utf-8", newline="") as handle:
                found += [
                    row
                    for row in csv.DictReader(handle)
                    if (row["department"], row["system"], row["table"]) == (department, system, table)
                ]
        return found

    def rejections(self, table_key: str) -> list[dict]:
        """Input the connector refused while landing ``table_key``, over every run (file, row, rule)."""
        department, system, table = table_key.split("/")
        return [
            rejection
            for run in self.manifests[f"{department}/{system}"]
            if table in run.tables
            for rejection in run.tables[table].rejections
        ]


def land_dirty_city(home: Path, scale: float, defect_rate: float) -> DirtyCity:
    settings = Settings.from_env({"CITYBASE_HOME": str(home)})
    built = DirtyCity(home, settings.city_dir, settings.landing_dir)
    simulate(settings.city_dir, scale=scale, seed=SEED, defect_rate=defect_rate)
    for number, run_id in enumerate(RUNS):
        if number:
            evolve(settings.city_dir, 2)
        with start_api_server(settings.city_dir, rate_limit=10_000):
            for source in load_registry():
                manifest = extract_source(source, run_id, city_dir=settings.city_dir, landing_dir=settings.landing_dir)
                built.manifests.setdefault(source.key, []).append(manifest)
    return built


@pytest.fixture(scope="session")
def dirty_city(tmp_path_factory) -> DirtyCity:
    """The simulator's usual dirt (2 % of records) in a small city."""
    return land_dirty_city(tmp_path_factory.mktemp("dirty_city"), SCALE, defect_rate=0.02)


@pytest.fixture(scope="session")
def dense_dirty_city(tmp_path_factory) -> DirtyCity:
    """A larger city with 30 % of records spoiled, for systems too small to get every kind of dirt otherwise
    (a few dozen certificates a day, a few hundred dishonest debtors)."""
    return land_dirty_city(tmp_path_factory.mktemp("dense_dirty_city"), DENSE_SCALE, defect_rate=0.3)
