"""The city day by day: each change is real in the systems, in the ground truth, and picked up by extraction."""

import csv
import datetime as dt
import hashlib
import re
import sqlite3
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from citybase.codes import id_number_problem, uscc_problem
from citybase.simulator import SimulationResult, courts, simulate, social_security
from citybase.simulator.api_server import start_api_server
from citybase.simulator.evolution import evolve
from connectors.extract import extract_source, extract_table
from connectors.landing import LandingZone
from connectors.registry import get_source

DAYS = 40
REST = {  # source -> table -> primary key
    "hr_social_security/social_insurance": {
        "insured_persons": "insured_id",
        "contributions": "contribution_id",
        "arrears": "arrears_id",
    },
    "courts/dishonest_debtors": {"dishonest_debtors": "case_id"},
}
DROPS = {  # source -> table -> the columns of its record key, as changes.csv joins them with '|'
    "health/vital_records": {"births": ["出生证编号"], "deaths": ["死亡证明编号"]},
    "environment/air_quality": {"readings": ["监测点编码", "监测时间"]},
    "transport/bus_network": {"ridership": ["日期", "线路编号", "站点编号"]},
}


@pytest.fixture(scope="module")
def evolved(tmp_path_factory):
    """A small city extracted (hukou persons, the property registry, the REST and drop systems), then
    evolved a month, with its API server running throughout."""
    city, landing = tmp_path_factory.mktemp("city"), tmp_path_factory.mktemp("landing")
    simulate(city, scale=0.005, seed=9)
    zone = LandingZone(landing)
    before = {}
    with start_api_server(city, rate_limit=10_000):
        for key, table in (
            ("public_security/hukou", "persons"),
            ("housing/property_registry", "property_registrations"),
        ):
            first = extract_table(get_source(key), table, "r1", city_dir=city, landing_dir=landing)
            zone.complete_run(key, "r1", "2026-01-01T00:00:00", [first])
            before[table] = first
        for key in [*REST, *DROPS]:
            extract_source(get_source(key), "r1", city_dir=city, landing_dir=landing)
        counts = evolve(city, DAYS)
        with (city / "ground_truth" / "changes.csv").open(encoding="utf-8") as handle:
            changes = list(csv.DictReader(handle))
        yield city, zone, before, counts, changes


@pytest.fixture(scope="module")
def extracted_again(evolved):
    """The REST and drop systems extracted after the month (r2), then once more over the same interval (r3)."""
    city, zone = evolved[:2]
    return {
        key: [extract_source(get_source(key), run, city_dir=city, landing_dir=zone.root) for run in ("r2", "r3")]
        for key in [*REST, *DROPS]
    }


def _system(city, name: str) -> sqlite3.Connection:
    return sqlite3.connect(city / f"{name}.sqlite")


def test_each_recorded_change_is_true_in_the_systems(evolved):
    city, _, _, counts, changes = evolved
    assert sum(counts.values()) == len(changes)
    assert {c["detail"] for c in changes} >= {
        "birth", "death: record cancelled", "moved", "new entity", "penalty decided"
    }  # fmt: skip
    with (
        _system(city, "public_security/hukou") as hukou,
        _system(city, "market_regulation/business_registry") as registry,
    ):
        for change in (c for c in changes if c["system"] in ("hukou", "business_registry")):
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
            elif change["detail"] == "penalty decided":
                decided_on, number, status = registry.execute(
                    "select p.decided_on, p.decision_no, e.status from penalties p join enterprises e using (uscc) "
                    "where p.penalty_id = ?",
                    (key,),
                ).fetchone()
                assert decided_on == day
                assert number.startswith(f"郑市监罚〔{day[:4]}〕")
                assert status in ("存续", "在业", "注销")  # a real entity, live when penalised (it may close later)
        decisions = [n for (n,) in registry.execute("select decision_no from penalties where decided_on >= '2026'")]
        assert len(decisions) == len(set(decisions))  # numbered on from the year's last decision, never twice


def test_days_continue_where_the_last_evolution_stopped(evolved):
    city, _, _, _, changes = evolved
    assert SimulationResult.load(city).days_evolved == DAYS
    days = sorted({c["day"] for c in changes})
    assert (days[0], days[-1]) == ("2026-01-01", "2026-02-09")


def _evolved_digest(city) -> tuple[int, str]:
    """The evolved days' drop files and the REST stores, as bytes and SQL."""
    digest, files = hashlib.sha256(), sorted(city.glob("*/*/*/*_2026*.csv"))
    for path in files:
        digest.update(path.read_bytes())
    for store in ("hr_social_security/social_insurance.sqlite", "courts/dishonest_debtors.sqlite"):
        with sqlite3.connect(city / store) as connection:
            for line in connection.iterdump():
                digest.update(line.encode())
    return len(files), digest.hexdigest()


def test_the_same_seed_evolves_the_same_way(tmp_path):
    runs = []
    for name in ("a", "b"):
        simulate(tmp_path / name, scale=0.001, seed=4)
        evolve(tmp_path / name, 5)
        runs.append(
            ((tmp_path / name / "ground_truth" / "changes.csv").read_text("utf-8"), _evolved_digest(tmp_path / name))
        )
    assert runs[0] == runs[1]
    assert runs[0][1][0] == 5 * 4  # births, deaths, readings and ridership files for each of the five days


def test_a_full_snapshot_after_evolution_reflects_births_and_deaths(evolved):
    city, zone, before, _, changes = evolved
    key = "public_security/hukou"
    source = get_source(key)
    snapshot = replace(source, tables=tuple(replace(t, options={}) for t in source.tables))  # whatever sources.yml says
    after = extract_table(snapshot, "persons", "r2", city_dir=city, landing_dir=zone.root)
    assert after.state["mode"] == "full_snapshot"
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


def _last_changes(changes: list[dict], system: str) -> dict[tuple[str, str], str]:
    """(table, record_key) -> the record's last change in the interval (insert, update or delete)."""
    return {(c["table"], c["record_key"]): c["change"] for c in changes if c["system"] == system}


def test_rest_systems_land_exactly_the_changes_and_their_deletes_once(evolved, extracted_again):
    city, zone, _, _, changes = evolved
    seen = set()
    for key, tables in REST.items():
        second, third = extracted_again[key]
        last = _last_changes(changes, key.split("/")[1])
        for table, primary_key in tables.items():
            upserts = sorted(int(k) for (t, k), change in last.items() if t == table and change != "delete")
            deletes = sorted(int(k) for (t, k), change in last.items() if t == table and change == "delete")
            seen |= {(table, c) for (t, _), c in last.items() if t == table}
            landed = zone.read(key, table, "r2").sort_by(primary_key)
            assert landed.column(primary_key).to_pylist() == upserts, table
            with sqlite3.connect(city / f"{key}.sqlite") as connection:
                connection.row_factory = sqlite3.Row
                now = connection.execute(
                    f"select * from {table} where {primary_key} in ({','.join('?' * len(upserts))}) "
                    f"order by {primary_key}",
                    upserts,
                ).fetchall()
            assert landed.to_pylist() == [dict(row) for row in now], table  # as the system holds them now
            gone = pq.read_table(Path(second.tables[table].path) / "deletes.parquet")
            assert gone.column_names == [primary_key]
            assert gone.column(primary_key).to_pylist() == deletes, table
            assert second.tables[table].deleted == len(deletes)
            assert (third.tables[table].rows, third.tables[table].deleted) == (0, 0), table
    assert seen >= {
        ("insured_persons", "insert"), ("insured_persons", "update"), ("contributions", "insert"),
        ("arrears", "insert"), ("arrears", "update"), ("arrears", "delete"),
        ("dishonest_debtors", "insert"), ("dishonest_debtors", "delete"),
    }  # fmt: skip


FILES = {"births": "births/births_{}.csv", "deaths": "deaths/deaths_{}.csv", "readings": "readings/aqi_{}.csv",
         "ridership": "ridership/ridership_{}.csv"}  # fmt: skip


def test_each_new_drop_lands_exactly_once(evolved, extracted_again):
    _, zone, _, _, changes = evolved
    days = [dt.date(2026, 1, 1) + dt.timedelta(days=n) for n in range(DAYS)]
    for key, tables in DROPS.items():
        second, third = extracted_again[key]
        for table, columns in tables.items():
            expected = {
                c["record_key"]: c["detail"].rsplit(" in ", 1)[-1]  # the file the record was sent in
                for c in changes
                if c["system"] == key.split("/")[1] and c["table"] == table
            }
            assert expected, table
            landed = zone.read(key, table, "r2")
            keys = pc.binary_join_element_wise(*[landed.column(c) for c in columns], "|").to_pylist()
            assert len(keys) == len(set(keys)) == len(expected), table
            assert dict(zip(keys, landed.column("_source_file").to_pylist(), strict=True)) == expected
            assert second.tables[table].state["last_run"]["landed"] == [
                FILES[table].format(f"{d:%Y%m%d}") for d in days
            ]
            assert second.tables[table].rejections == []
            assert third.tables[table].rows == 0, table
            assert third.tables[table].state["last_run"]["landed"] == []


def test_vital_records_are_the_people_the_registry_gained_and_lost(evolved, extracted_again):
    city, zone, _, _, changes = evolved
    registry = {(c["record_key"], c["change"]): c["day"] for c in changes if c["system"] == "hukou"}
    truth = _true_persons(city)  # certificates copy the ID card, whatever dirt the registry holds
    by_person = {str(r["person_id"]): r for r in truth}
    by_id_number = {r["id_number"]: r for r in truth}
    with sqlite3.connect(city / "public_security" / "hukou.sqlite") as connection:
        now = {
            str(r[0]): r
            for r in connection.execute("select person_id, name, birth_date, id_number, household_id from persons")
        }
    source = "health/vital_records"
    births = {r["出生证编号"]: r for r in zone.read(source, "births", "r2").to_pylist()}
    deaths = {r["死亡证明编号"]: r for r in zone.read(source, "deaths", "r2").to_pylist()}
    born = [c for c in changes if c["system"] == "vital_records" and c["table"] == "births"]
    died = [c for c in changes if c["system"] == "vital_records" and c["table"] == "deaths"]
    assert born
    assert died
    for change in born:
        person, day = re.match(r"person_id (\d+) in ", change["detail"])[1], change["day"]
        certificate = births[change["record_key"]]
        assert registry[(person, "insert")] == day == certificate["出生日期"] == certificate["签发日期"]
        mother = by_id_number[certificate["母亲证件号码"]]  # a resident before the month began
        assert certificate["父亲身份证号"] in by_id_number
        if person in now:  # not among the few who died within the month
            _, name, birth_date, id_number, household = now[person]
            assert (name, birth_date, household) == (certificate["姓名"], day, mother["household_id"])
            assert id_number[6:14] == day.replace("-", "")
    for change in died:
        person, day = re.match(r"person_id (\d+) in ", change["detail"])[1], change["day"]
        record = deaths[change["record_key"]]
        assert registry[(person, "delete")] == day == record["报告日期"]
        assert record["死亡日期"] <= day
        assert person not in now
        if person in by_person:
            assert (record["身份证号"], record["姓名"]) == (by_person[person]["id_number"], by_person[person]["name"])


def _true_persons(city: Path) -> list[dict]:
    return pq.read_table(city / "ground_truth" / "persons.parquet").to_pylist()


def test_evolution_copies_identities_from_id_cards_not_the_registrys_dirt(evolved):
    """Every person an evolved day writes into another system (a parent, the deceased, a new employee, a
    debtor, a buyer) carries their true name and ID number: the dirt planted in the household registry
    stays there, and evolution plants none of its own."""
    city, zone, _, _, changes = evolved
    true_names = {r["id_number"]: r["name"] for r in _true_persons(city)}
    with closing(sqlite3.connect(city / "public_security" / "hukou.sqlite")) as hukou:
        true_names |= {  # born while the city evolved: registered clean
            number: name
            for number, name, person in hukou.execute("select id_number, name, person_id from persons")
            if (str(person), "insert") in {(c["record_key"], c["change"]) for c in changes if c["system"] == "hukou"}
        }
    dirty_ids = {number for number in true_names if id_number_problem(number)}
    assert not dirty_ids
    evolved_keys = {(c["system"], c["table"]): set() for c in changes}
    for c in changes:  # records an evolved day wrote a person into (not status updates of older ones)
        if c["change"] == "insert" or c["detail"] == "transferred":
            evolved_keys[(c["system"], c["table"])].add(c["record_key"])

    def people(connection: sqlite3.Connection, sql: str, system: str, table: str) -> list[tuple]:
        return [row[1:] for row in connection.execute(sql) if str(row[0]) in evolved_keys[(system, table)]]

    source = "health/vital_records"
    births = [
        r
        for r in zone.read(source, "births", "r2").to_pylist()
        if r["出生证编号"] in evolved_keys[("vital_records", "births")]
    ]
    deaths = [
        r
        for r in zone.read(source, "deaths", "r2").to_pylist()
        if r["死亡证明编号"] in evolved_keys[("vital_records", "deaths")]
    ]
    copied = [(r["母亲证件号码"], r["母亲姓名"]) for r in births] + [(r["父亲身份证号"], r["父亲姓名"]) for r in births]
    copied += [(r["身份证号"], r["姓名"]) for r in deaths]
    with closing(sqlite3.connect(social_security.store_path(city))) as store:
        copied += people(
            store, "select insured_id, id_number, name from insured_persons", "social_insurance", "insured_persons"
        )
    with closing(sqlite3.connect(courts.store_path(city))) as store:
        copied += [
            p
            for p in people(
                store,
                "select case_id, id_number, name from dishonest_debtors",
                "dishonest_debtors",
                "dishonest_debtors",
            )
            if p[0] is not None  # a person debtor, not an entity
        ]
    with closing(sqlite3.connect(city / "housing" / "property_registry.sqlite")) as store:
        copied += people(
            store, "select registration_id, owner_id_number, owner_name from property_registrations",
            "property_registry", "property_registrations",
        )  # fmt: skip
    assert len(copied) > 50
    wrong = [(number, name) for number, name in copied if true_names.get(number) != name or not name]
    assert not wrong, f"{len(wrong)} of {len(copied)} copied identities are not a person's true one: {wrong[:5]}"


def test_a_registry_key_is_never_given_to_a_second_person(tmp_path):
    """Keys come from a sequence that survives between evolutions: when the newest person's record is
    cancelled, the next birth must not inherit the key, or downstream would take the child for them."""
    simulate(tmp_path, scale=0.002, seed=12)
    hukou = tmp_path / "public_security" / "hukou.sqlite"
    evolve(tmp_path, 3)
    with closing(sqlite3.connect(hukou)) as connection, connection:
        (newest,) = connection.execute("select max(person_id) from persons").fetchone()
        connection.execute("delete from persons where person_id = ?", (newest,))
    evolve(tmp_path, 30)
    with (tmp_path / "ground_truth" / "changes.csv").open(encoding="utf-8") as handle:
        born = [int(c["record_key"]) for c in csv.DictReader(handle) if c["detail"] == "birth"]
    later = born[born.index(newest) + 1 :] if newest in born else born
    assert later, "thirty days of a small city bring births"
    assert min(later) > newest
    assert len(born) == len(set(born))
