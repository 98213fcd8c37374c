"""Civil affairs (marriages, standard addresses) and the registry events added to hukou and the business
registry: spouses who are real adults of opposite sex, events consistent with the registries, every
planted defect where the ground truth says it is, and tables the SQL connector extracts whole."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import sqlite3
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from citybase.codes import ZHENGZHOU_DIVISIONS, id_number_problem, uscc_problem
from citybase.simulator import simulate
from citybase.simulator.civil_affairs import (
    CITY_BOUNDS,
    STALE_DIVISION_CODE,
    TRUTH_FILE,
    write_civil_registry,
)
from citybase.simulator.civil_affairs import DEFECTS_FILE as CIVIL_DEFECTS
from citybase.simulator.defects import HOMOPHONE_NAME
from citybase.simulator.market import MARKET_ENTITIES, simulate_enterprises
from citybase.simulator.population import RESIDENTS, simulate_population
from citybase.simulator.registry_events import DEFECTS_FILE as EVENT_DEFECTS
from citybase.simulator.registry_events import write_registry_events
from connectors.registry import TableSpec
from connectors.sql import SqlSource
from tests.test_homophones import explains_homophone_typo

SCALE = 0.002
SEED = 7
AS_OF = dt.date(2025, 12, 31)
DEFECT_RATE = 0.05
ADULT_DAYS = 6575
CIVIL = ("civil_affairs", "civil_registry.sqlite")
HUKOU = ("public_security", "hukou.sqlite")
BUSINESS = ("market_regulation", "business_registry.sqlite")
EVENT_TABLES = {
    CIVIL: {"marriage_registrations": "registration_id", "standard_addresses": "address_id"},
    HUKOU: {"moves": "move_id", "name_changes": "change_id"},
    BUSINESS: {"annual_reports": "report_id", "licences": "licence_id", "penalties": "penalty_id"},
}


def _generate(out_dir: Path, people, households, enterprises) -> tuple:
    arguments = {"seed": SEED, "scale": SCALE, "as_of": AS_OF, "defect_rate": DEFECT_RATE, "truth_dir": out_dir / "t"}
    civil = write_civil_registry(out_dir, people, households, **arguments)
    events = write_registry_events(out_dir, people, households, enterprises, **arguments)
    return civil, events


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("civil")
    simulate(out_dir, scale=SCALE, seed=SEED, as_of=AS_OF, defect_rate=DEFECT_RATE)
    people, households = simulate_population(max(1, round(RESIDENTS * SCALE)), AS_OF, SEED)
    enterprises = simulate_enterprises(max(1, round(MARKET_ENTITIES * SCALE)), people, AS_OF, SEED)
    civil, events = _generate(out_dir, people, households, enterprises)
    return out_dir, people, households, enterprises, civil, events


def _rows(out_dir: Path, system: tuple[str, str], table: str) -> list[sqlite3.Row]:
    with sqlite3.connect(out_dir.joinpath(*system)) as connection:
        connection.row_factory = sqlite3.Row
        key = EVENT_TABLES[system][table]
        return connection.execute(f"SELECT * FROM {table} ORDER BY {key}").fetchall()


def _defects(path: Path) -> dict[tuple[str, str], list[dict]]:
    by_kind = defaultdict(list)
    with path.open(encoding="utf-8") as file:
        for record in csv.DictReader(file):
            by_kind[record["table"], record["defect_kind"]].append(record)
    return by_kind


def _spoiled(path: Path, table: str) -> set[int]:
    return {int(r["record_key"]) for rs in _defects(path).values() for r in rs if r["table"] == table}


def _digest(directory: Path) -> dict[str, str]:
    return {
        str(path.relative_to(directory)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def test_same_seed_same_output(tmp_path, city):
    out_dir, people, households, enterprises, *_ = city
    for system in (HUKOU, BUSINESS):  # the events need the registries' files to add to
        target = tmp_path.joinpath(*system)
        target.parent.mkdir(parents=True, exist_ok=True)
        sqlite3.connect(target).close()
    _generate(tmp_path, people, households, enterprises)
    for system, tables in EVENT_TABLES.items():
        for table in tables:
            first, second = _rows(out_dir, system, table), _rows(tmp_path, system, table)
            assert [tuple(r) for r in first] == [tuple(r) for r in second], table
    assert _digest(out_dir / "t") == _digest(tmp_path / "t")


def test_spouses_are_adult_residents_of_opposite_sex(city):
    out_dir, people, *_ = city
    truth = pq.read_table(out_dir / "t" / TRUTH_FILE).to_pydict()
    husband = np.array(truth["husband_person_id"]) - 1
    wife = np.array(truth["wife_person_id"]) - 1
    day = np.array(truth["registered_on"], dtype="datetime64[D]").astype(np.int64)
    assert 0.07 * 1.3 < len(husband) / len(people) < 0.07 * 1.45  # 7 per 1000 a year for ten years, 40 % divorces
    assert people.male[husband].all()
    assert not people.male[wife].any()
    assert (people.birth[husband] <= day - ADULT_DAYS).all()
    assert (people.birth[wife] <= day - ADULT_DAYS).all()
    assert list(people.id_numbers(husband)) == truth["husband_id_number"]
    assert list(people.names(wife)) == truth["wife_name"]
    assert all(id_number_problem(code) is None for code in truth["husband_id_number"] + truth["wife_id_number"])
    assert (day >= np.datetime64(AS_OF.replace(year=AS_OF.year - 10)).astype(np.int64)).all()
    assert (day <= np.datetime64(AS_OF).astype(np.int64)).all()
    kinds = np.array(truth["registration_type"])
    divorces = (kinds == "离婚").sum()
    assert 0.3 < divorces / (kinds == "结婚").sum() < 0.45
    # Each true divorce ends a registered marriage of the same couple, some time after it.
    marriages = {
        c: (h, w, d)
        for c, t, h, w, d in zip(truth["certificate_no"], kinds, husband, wife, day, strict=True)
        if t == "结婚"
    }
    for c, t, h, w, d in zip(truth["marriage_certificate_no"], kinds, husband, wife, day, strict=True):
        if t == "离婚":
            assert marriages[c][:2] == (h, w)
            assert marriages[c][2] < d


def test_standard_addresses_cover_the_registered_addresses(city):
    out_dir, _, households, *_ = city
    rows = _rows(out_dir, CIVIL, "standard_addresses")
    assert {r["standard_address"] for r in rows} == set(households.address.tolist())
    (lon_low, lon_high), (lat_low, lat_high) = CITY_BOUNDS
    for row in rows:
        assert lon_low <= row["longitude"] <= lon_high
        assert lat_low <= row["latitude"] <= lat_high
        assert row["street"]
        assert row["street"] in row["standard_address"]
        assert row["road"] in row["standard_address"]
        assert row["standard_address"].endswith(row["standard_address"].rpartition(row["house_number"])[2])


def test_moves_and_name_changes_agree_with_the_persons(city):
    out_dir, people, households, *_ = city
    defects = EVENT_DEFECTS
    spoiled = _spoiled(out_dir / "t" / defects, "moves")
    moves = _rows(out_dir, HUKOU, "moves")
    # A person with a spoiled move (its true person given for an orphan) may miss their latest move.
    skipped = {moves[key - 1]["person_id"] for key in spoiled}
    skipped |= {
        int(r["detail"].rpartition(" ")[2]) for r in _defects(out_dir / "t" / defects)["moves", "orphan_person"]
    }
    latest: dict[int, sqlite3.Row] = {}
    for row in moves:
        if row["move_id"] in spoiled or row["person_id"] in skipped:
            continue
        person = row["person_id"] - 1
        assert row["id_number"] == people.id_numbers(np.array([person]))[0]
        assert row["moved_on"] >= str(np.datetime64(int(people.birth[person]), "D"))
        if person not in latest or row["moved_on"] >= latest[person]["moved_on"]:
            latest[person] = row
    assert len(latest) > 0.1 * len(people)
    persons = np.array(sorted(latest))
    addresses = households.address[people.household[persons]].tolist()
    assert [latest[p]["to_address"] for p in persons.tolist()] == addresses
    codes = [division.code for division in ZHENGZHOU_DIVISIONS]
    assert [latest[p]["to_division_code"] for p in persons.tolist()] == [codes[d] for d in people.division[persons]]

    spoiled = _spoiled(out_dir / "t" / defects, "name_changes")
    changes = [row for row in _rows(out_dir, HUKOU, "name_changes") if row["change_id"] not in spoiled]
    assert changes
    persons = np.array([row["person_id"] - 1 for row in changes])
    assert [row["new_name"] for row in changes] == people.names(persons).tolist()
    assert all(row["old_name"] != row["new_name"] for row in changes)


def test_reports_licences_penalties_name_registered_entities(city):
    out_dir, _, _, enterprises, *_ = city
    registered = set(enterprises.uscc.tolist())
    defects = _defects(out_dir / "t" / EVENT_DEFECTS)
    for table in ("annual_reports", "licences", "penalties"):
        rows = _rows(out_dir, BUSINESS, table)
        assert rows, table
        key = EVENT_TABLES[BUSINESS][table]
        orphans = {int(r["record_key"]) for r in defects[table, "orphan_uscc"]}
        assert orphans, table
        for row in rows:
            assert (row["uscc"] in registered) != (row[key] in orphans), (table, row[key])
            assert uscc_problem(row["uscc"]) is None
    established = dict(zip(enterprises.uscc.tolist(), enterprises.established_on.tolist(), strict=True))
    for row in _rows(out_dir, BUSINESS, "annual_reports"):
        if row["uscc"] in established:
            year = 1970 + int(np.datetime64(established[row["uscc"]], "D").astype("datetime64[Y]").astype(int))
            assert row["submitted_on"][:4] == str(row["report_year"] + 1)
            assert row["report_year"] >= max(year, 2013)
    per_year = len(_rows(out_dir, BUSINESS, "penalties")) / 12 / len(enterprises)
    assert 0.002 < per_year < 0.02


def test_every_planted_defect_is_there(city):
    out_dir, people, _, enterprises, civil, events = city
    by_key = {}
    for system, tables in EVENT_TABLES.items():
        for table, key in tables.items():
            by_key[table] = {row[key]: row for row in _rows(out_dir, system, table)}
    files = (out_dir / "t" / CIVIL_DEFECTS, out_dir / "t" / EVENT_DEFECTS)
    registered = set(enterprises.uscc.tolist())
    true_marriages = {r["registration_id"]: r for r in pq.read_table(out_dir / "t" / TRUTH_FILE).to_pylist()}
    seen = defaultdict(int)
    for path in files:
        for (table, kind), records in _defects(path).items():
            for record in records:
                row, column, detail = by_key[table][int(record["record_key"])], record["column"], record["detail"]
                seen[kind] += 1
                if kind == "bad_check_digit":
                    assert id_number_problem(row[column]) is not None
                elif kind == "missing_field":
                    assert row[column] is None
                elif kind == "duplicate_row":
                    original = by_key[table][int(detail.removeprefix("duplicate of "))]
                    assert tuple(original)[1:] == tuple(row)[1:]
                elif kind == "impossible_date" and column == "valid_to":
                    assert row["valid_to"] < row["valid_from"]
                elif kind == "impossible_date":
                    with pytest.raises(ValueError, match=r"day is out of range|month must be"):
                        dt.date.fromisoformat(row[column])
                elif kind == "orphan_marriage":
                    certificates = {r["certificate_no"] for r in by_key[table].values()}
                    assert row["registration_type"] == "离婚"
                    assert row[column] not in certificates
                elif kind == "orphan_uscc":
                    assert row["uscc"] not in registered
                elif kind == "orphan_person":
                    assert row["person_id"] > len(people)
                elif kind == "stale_division_code":
                    assert row["division_code"] == STALE_DIVISION_CODE
                elif kind == HOMOPHONE_NAME:
                    true_name = true_marriages[row["registration_id"]][column]
                    assert explains_homophone_typo(row[column], true_name, detail)
                else:
                    raise AssertionError(kind)
    expected = {
        "bad_check_digit",
        "missing_field",
        "duplicate_row",
        "impossible_date",
        "orphan_marriage",
        HOMOPHONE_NAME,
    }
    assert expected | {"orphan_uscc", "orphan_person", "stale_division_code"} <= set(seen)
    assert sum(civil.defects.values()) + sum(sum(o.defects.values()) for o in events) == sum(seen.values())
    # The spoiled rows are the only ones that break the checks: no stray defects.
    stale = [r for r in by_key["standard_addresses"].values() if r["division_code"] == STALE_DIVISION_CODE]
    assert len(stale) == civil.defects["stale_division_code"]


def test_tables_extract_through_the_sql_connector(city):
    out_dir, _, _, _, civil, events = city
    counts = {**civil.counts, **{k: v for o in events for k, v in o.counts.items()}}
    for system, tables in EVENT_TABLES.items():
        path = out_dir.joinpath(*system)
        source = SqlSource(f"{system[0]}/{path.stem}", f"sqlite:///{path}")
        try:
            for table, key in tables.items():
                extraction = source.extract(TableSpec(table, (key,), "updated_at", {}), {})
                extracted = pa.Table.from_batches(list(extraction.batches), extraction.schema)
                assert extracted.num_rows == len(_rows(out_dir, system, table))
                assert extracted.num_rows == counts[f"{system[0]}/{path.stem}/{table}"]
                assert extraction.state["watermark"] is not None
        finally:
            source.close()
    # The registries' own tables are untouched by the additions.
    with sqlite3.connect(out_dir.joinpath(*HUKOU)) as connection:
        assert connection.execute("SELECT count(*) FROM persons").fetchone()[0] >= len(city[1])
