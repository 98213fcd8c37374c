"""The city day by day: each change is real in the systems, in the ground truth, and picked up by extraction."""

import csv
import datetime as dt
import sqlite3

import pytest

from citybase.codes import id_number_problem, uscc_problem
from citybase.simulator import SimulationResult, simulate
from citybase.simulator.evolution import evolve
from connectors.extract import extract_table
from connectors.landing import LandingZone
from connectors.registry import get_source

DAYS = 30


@pytest.fixture(scope="module")
def evolved(tmp_path_factory):
    city, landing = tmp_path_factory.mktemp("city"), tmp_path_factory.mktemp("landing")
    simulate(city, scale=0.005, seed=9)
    zone = LandingZone(landing)
    before = {}
    for key, table in (("public_security/hukou", "persons"), ("housing/property_registry", "property_registrations")):
        first = extract_table(get_source(key), table, "r1", city_dir=city, landing_dir=landing)
        zone.complete_run(key, "r1", "2026-01-01T00:00:00", [first])
        before[table] = first
    counts = evolve(city, DAYS)
    with (city / "ground_truth" / "changes.csv").open(encoding="utf-8") as handle:
        changes = list(csv.DictReader(handle))
    return city, zone, before, counts, changes


def _system(city, name: str) -> sqlite3.Connection:
    return sqlite3.connect(city / f"{name}.sqlite")


def test_each_recorded_change_is_true_in_the_systems(evolved):
    city, _, _, counts, changes = evolved
    assert sum(counts.values()) == len(changes)
    assert {c["detail"] for c in changes} >= {"birth", "death: record cancelled", "moved", "new entity"}
    with (
        _system(city, "public_security/hukou") as hukou,
        _system(city, "market_regulation/business_registry") as registry,
    ):
        for change in changes:
            key, day = int(change["record_key"]), change["day"]
            if change["detail"] == "birth":
                id_number, birth_date, updated = hukou.execute(
                    "select id_number, birth_date, updated_at from persons where person_id = ?", (key,)
                ).fetchone()
                assert (birth_date, updated[:10]) == (day, day)
                assert id_number_problem(id_number, today=dt.date(2027, 1, 1)) is None
                assert id_number[6:14] == day.replace("-", "")
            elif change["detail"].startswith("death"):
                assert hukou.execute("select count(*) from persons where person_id = ?", (key,)).fetchone() == (0,)
            elif change["detail"] == "new entity":
                (uscc,) = registry.execute("select uscc from enterprises where enterprise_id = ?", (key,)).fetchone()
                assert uscc_problem(uscc) is None
            elif change["detail"].startswith("closed"):
                status = registry.execute("select status from enterprises where enterprise_id = ?", (key,)).fetchone()
                assert status == ("注销",)


def test_days_continue_where_the_last_evolution_stopped(evolved):
    city, _, _, _, changes = evolved
    assert SimulationResult.load(city).days_evolved == DAYS
    days = sorted({c["day"] for c in changes})
    assert (days[0], days[-1]) == ("2026-01-01", "2026-01-30")


def test_the_same_seed_evolves_the_same_way(tmp_path):
    runs = []
    for name in ("a", "b"):
        simulate(tmp_path / name, scale=0.001, seed=4)
        evolve(tmp_path / name, 5)
        runs.append((tmp_path / name / "ground_truth" / "changes.csv").read_text("utf-8"))
    assert runs[0] == runs[1]


def test_a_full_snapshot_after_evolution_reflects_births_and_deaths(evolved):
    city, zone, before, _, changes = evolved
    key = "public_security/hukou"
    after = extract_table(get_source(key), "persons", "r2", city_dir=city, landing_dir=zone.root)
    births = sum(c["detail"] == "birth" for c in changes)
    deaths = sum(c["detail"].startswith("death") for c in changes)
    assert after.rows == before["persons"].rows + births - deaths


def test_incremental_extraction_picks_up_exactly_the_changes_and_the_deletes(evolved):
    city, zone, _, _, changes = evolved
    key, table = "housing/property_registry", "property_registrations"
    landing = extract_table(get_source(key), table, "r2", city_dir=city, landing_dir=zone.root)
    changed = {c["record_key"] for c in changes if c["table"] == table and c["change"] != "delete"}
    deleted = {c["record_key"] for c in changes if c["table"] == table and c["change"] == "delete"}
    assert changed
    assert deleted  # a month of a few thousand registrations sees transfers and cancellations
    assert landing.state["mode"] == "incremental"
    assert set(zone.read(key, table, "r2").column("registration_id").to_pylist()) == changed
    assert landing.deleted == len(deleted)
    zone.complete_run(key, "r2", "2026-02-01T00:00:00", [landing])
    again = extract_table(get_source(key), table, "r3", city_dir=city, landing_dir=zone.root)
    assert (again.rows, again.deleted) == (0, 0)  # the same interval again lands nothing
