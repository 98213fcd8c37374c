"""Incremental landings merged back by dbt: a full snapshot plus incremental runs (changed rows and
deleted keys) must build exactly the table the department system holds at the last run."""

from __future__ import annotations

import json
import sqlite3

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from citybase.pipeline import table_chain
from citybase.simulator import simulate
from citybase.simulator.evolution import evolve
from connectors.extract import extract_source
from connectors.landing import LandingZone, RunManifest, TableLanding
from connectors.registry import get_source
from tests.test_dbt_project import LI_ID, PERSON_SCHEMA, ZHANG_ID, invoke_dbt, land, person, query

HUKOU = "public_security/hukou"
REGISTRY = "market_regulation/business_registry"
STAGING = ["stg_hukou__persons", "stg_hukou__households", "stg_business_registry__enterprises"]


def _build(tmp, landing, runs, monkeypatch, select=("stg_hukou__persons",)):
    variables = {"landing_root": str(landing), "landing_runs": runs}
    warehouse = tmp / "warehouse.duckdb"
    result = invoke_dbt(["run", "--select", *select, "--vars", json.dumps(variables)], tmp, warehouse, monkeypatch)
    assert result.success, [r.message for r in result.result.results]
    return {"warehouse": warehouse}


# ---------------------------------------------------------------- the merge rules, on a hand-made chain


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("chain")
    landing = tmp / "landing"

    def deletes(run, person_ids):
        folder = landing / HUKOU / "persons" / f"run={run}"
        keys = pa.table({"person_id": pa.array(person_ids, pa.int64())})
        pq.write_table(keys, folder / "deletes.parquet")

    def someone(person_id, name, updated):
        return person(person_id, ZHANG_ID if person_id % 2 else LI_ID, name, "1", "1985-03-12", updated=updated)

    land(landing, HUKOU, "persons", "r0", [someone(9, "更早的全量", "2025-01-01")], PERSON_SCHEMA)  # before the chain
    first = [someone(i, f"初始{i}", "2025-02-01") for i in (1, 2, 3, 4, 6)]
    land(landing, HUKOU, "persons", "r1", first, PERSON_SCHEMA)
    land(landing, HUKOU, "persons", "r2", [someone(2, "改名", "2025-02-02"), someone(5, "新生", "2025-02-02")],
         PERSON_SCHEMA)  # fmt: skip
    deletes("r2", [3, 6])
    land(landing, HUKOU, "persons", "r3", [someone(3, "恢复", "2025-02-03"), someone(4, "改了又删", "2025-02-03")],
         PERSON_SCHEMA)  # fmt: skip
    deletes("r3", [4])
    land(landing, HUKOU, "persons", "r4", [someone(1, "链外的新版本", "2025-02-04")], PERSON_SCHEMA)  # after the chain
    deletes("r4", [2])
    with pytest.MonkeyPatch.context() as monkeypatch:
        return _build(tmp, landing, {HUKOU: {"persons": ["r1", "r2", "r3"]}}, monkeypatch)


def test_each_key_has_its_newest_version_from_the_chain(chain):
    rows = query(chain, "select person_id, name, _loaded_from from stg_hukou__persons order by person_id")
    assert rows == [
        (1, "初始1", "r1"),  # unchanged since the full snapshot; r4 is past the chain
        (2, "改名", "r2"),  # updated; its delete in r4 is past the chain too
        (3, "恢复", "r3"),  # deleted in r2, registered again in r3
        (5, "新生", "r2"),  # new in r2
    ]  # 4: changed and deleted in the same run, so gone; 6: deleted; 9: only in a run before the chain


def test_a_chain_of_one_full_snapshot_reads_just_that_run(tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    land(landing, HUKOU, "persons", "r1", [person(1, ZHANG_ID, "甲", "1", "1985-03-12")], PERSON_SCHEMA)
    land(landing, HUKOU, "persons", "r2", [person(2, LI_ID, "乙", "1", "2019-02-28")], PERSON_SCHEMA)
    built = _build(tmp_path, landing, {HUKOU: {"persons": ["r2"]}}, monkeypatch)
    assert query(built, "select person_id, _loaded_from from stg_hukou__persons") == [(2, "r2")]


# ---------------------------------------------------------------- the law, on the simulated city


@pytest.fixture(scope="module")
def evolving_city(tmp_path_factory):
    """A small city extracted three times, evolving ten days between runs: a full snapshot, then two
    incremental runs carrying births, deaths, moves, new enterprises and closures."""
    tmp = tmp_path_factory.mktemp("evolving")
    city, landing = tmp / "city", tmp / "landing"
    simulate(city, scale=0.005, seed=11)
    zone = LandingZone(landing)
    manifests = []
    for number in range(3):
        if number:
            evolve(city, 10)
        for key in (HUKOU, REGISTRY):
            manifests.append(extract_source(get_source(key), f"r{number}", city_dir=city, landing_dir=landing))
    runs = {
        key: {table.name: table_chain(zone.runs(key), table.name) for table in get_source(key).tables}
        for key in (HUKOU, REGISTRY)
    }
    with pytest.MonkeyPatch.context() as monkeypatch:
        built = _build(tmp, landing, runs, monkeypatch, select=STAGING)
    return {**built, "city": city, "zone": zone, "runs": runs, "manifests": manifests}


def test_warehouse_tables_chain_a_full_snapshot_and_two_incremental_runs(evolving_city):
    for key in (HUKOU, REGISTRY):
        assert all(chain == ["r0", "r1", "r2"] for chain in evolving_city["runs"][key].values())
    zone = evolving_city["zone"]
    [full, *increments] = [zone.runs(HUKOU)[n].tables["persons"] for n in range(3)]
    assert full.state["mode"] == "full_snapshot"
    assert all(landing.state["mode"] == "incremental" for landing in increments)
    assert all(0 < landing.rows < full.rows / 10 for landing in increments)  # changes only, not the city
    assert sum(landing.deleted for landing in increments) > 0  # deaths


def _system_rows(city, system: str, sql: str) -> set[tuple]:
    with sqlite3.connect(city / f"{system}.sqlite") as connection:
        return set(connection.execute(sql).fetchall())


def test_merged_persons_are_exactly_the_registry_now(evolving_city):
    built = query(
        evolving_city,
        "select cast(person_id as varchar), id_number, name, division_code, address, birth_date_text, "
        "strftime(updated_at, '%Y-%m-%d %H:%M:%S') from stg_hukou__persons",
    )
    now = _system_rows(
        evolving_city["city"],
        HUKOU,
        "select cast(person_id as text), id_number, name, division_code, address, birth_date, updated_at from persons",
    )
    assert len(built) == len(set(built))
    assert set(built) == now


def test_merged_households_and_enterprises_are_exactly_the_systems_now(evolving_city):
    households = query(evolving_city, "select household_id, strftime(updated_at, '%Y-%m-%d %H:%M:%S') "
                       "from stg_hukou__households")  # fmt: skip
    assert set(households) == _system_rows(
        evolving_city["city"], HUKOU, "select cast(household_id as text), updated_at from households"
    )
    enterprises = query(evolving_city, "select enterprise_id, uscc, status from stg_business_registry__enterprises")
    assert set(enterprises) == _system_rows(
        evolving_city["city"], REGISTRY, "select enterprise_id, uscc, status from enterprises"
    )


# ---------------------------------------------------------------- which runs make up a table's chain


def _run(run_id: str, **modes: str) -> RunManifest:
    tables = {
        table: TableLanding("s/x", table, run_id, 0, 0, "", "", state={"mode": mode}) for table, mode in modes.items()
    }
    return RunManifest("s/x", run_id, "", "", tables)


def test_the_chain_is_the_latest_snapshot_and_what_came_after():
    runs = [
        _run("r1", t="full_snapshot"),
        _run("r2", t="incremental"),
        _run("r3", t="full_snapshot"),
        _run("r4", t="incremental"),
        _run("r5"),  # the table was not extracted in this run
        _run("r6", t="incremental"),
    ]
    assert table_chain(runs, "t") == ["r3", "r4", "r6"]


def test_a_file_drop_chain_is_every_run_and_an_unchanged_snapshot_is_skipped():
    drops = [_run(f"r{i}", t="new_files") for i in range(1, 4)]
    assert table_chain(drops, "t") == ["r1", "r2", "r3"]
    layer = [_run("r1", t="full_snapshot"), _run("r2", t="full_snapshot"), _run("r3", t="unchanged")]
    assert table_chain(layer, "t") == ["r2"]  # r3 found the file as r2 landed it: r2 is the layer
