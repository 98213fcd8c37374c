"""The synthetic city: valid codes, census shapes, adult residents as legal representatives, and
planted defects that are exactly where the ground truth says. One city is generated per module."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import math
import os
import re
import sqlite3
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from citybase.codes import (
    ZHENGZHOU_DIVISIONS,
    id_number_check_char,
    id_number_problem,
    organization_code_check_char,
    uscc_check_char,
    uscc_problem,
)
from citybase.codes.division import OBSOLETE_ZHENGZHOU_CODES
from citybase.codes.uscc import USCC_ALPHABET
from citybase.simulator import DEFECT_KINDS, SimulationResult, simulate
from citybase.simulator.defects import HOMOPHONE_NAME
from citybase.simulator.identifiers import id_check_index, id_first17, id_numbers, uscc_codes
from citybase.simulator.population import simulate_population

SCALE = 0.002
AS_OF = dt.date(2025, 12, 31)
DEFECT_RATE = 0.02
ZHENGZHOU_CODES = {division.code for division in ZHENGZHOU_DIVISIONS} | set(OBSOLETE_ZHENGZHOU_CODES)
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> SimulationResult:
    return simulate(tmp_path_factory.mktemp("city"), scale=SCALE, seed=42, as_of=AS_OF, defect_rate=DEFECT_RATE)


def rows(result: SimulationResult, system: str, query: str) -> list[sqlite3.Row]:
    path = result.systems[system].removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        connection.row_factory = sqlite3.Row
        return connection.execute(query).fetchall()


def persons(result):
    return {row["person_id"]: row for row in rows(result, "public_security/hukou", "SELECT * FROM persons")}


def households(result):
    return {row["household_id"]: row for row in rows(result, "public_security/hukou", "SELECT * FROM households")}


def enterprises(result):
    registry = "market_regulation/business_registry"
    return {row["enterprise_id"]: row for row in rows(result, registry, "SELECT * FROM enterprises")}


def truth(result, name: str) -> list[dict]:
    return pq.read_table(result.out_dir / "ground_truth" / f"{name}.parquet").to_pylist()


def defects(result, table: str) -> dict[int, dict]:
    with (result.out_dir / "ground_truth" / "defects.csv").open(encoding="utf-8", newline="") as file:
        return {int(line["record_key"]): line for line in csv.DictReader(file) if line["table"] == table}


SQLITE_SYSTEMS = ("public_security/hukou", "market_regulation/business_registry")


def content_hashes(result: SimulationResult) -> dict[str, str]:
    """Table contents of the two core SQL systems, and every ground-truth file (which covers the others)."""
    hashes = {}
    for key in result.counts:
        system, table = key.rsplit("/", 1)
        if system not in SQLITE_SYSTEMS:
            continue
        hashes[key] = hashlib.sha256(
            repr([tuple(row) for row in rows(result, system, f"SELECT * FROM {table} ORDER BY 1")]).encode()
        ).hexdigest()
    for path in sorted((result.out_dir / "ground_truth").iterdir()):
        hashes[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return hashes


def age_on(day: dt.date, birth: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


# ---------------------------------------------------------------- the run itself


@pytest.mark.parametrize("scale", [0, -0.5, math.nan])
def test_rejects_a_scale_that_is_not_positive(tmp_path, scale):
    with pytest.raises(ValueError, match="scale must be a positive number"):
        simulate(tmp_path, scale=scale)


def test_result_is_stored_and_describes_the_files(city):
    assert SimulationResult.load(city.out_dir) == city
    assert set(SQLITE_SYSTEMS) <= set(city.systems)
    for system in SQLITE_SYSTEMS:
        assert city.systems[system].startswith("sqlite:////")
        assert Path(city.systems[system].removeprefix("sqlite:///")).is_file()
    for key, count in city.counts.items():
        system, table = key.rsplit("/", 1)
        if system in SQLITE_SYSTEMS:
            assert rows(city, system, f"SELECT count(*) FROM {table}")[0][0] == count
    assert city.counts["public_security/hukou/persons"] == pytest.approx(12_600_574 * SCALE, rel=0.02)
    assert city.counts["market_regulation/business_registry/enterprises"] == pytest.approx(2_000_000 * SCALE, rel=0.02)


def test_same_seed_gives_the_same_city_and_a_rerun_replaces_the_old_one(city, tmp_path):
    out = tmp_path / "city"
    other = simulate(out, scale=SCALE / 2, seed=7, as_of=AS_OF, defect_rate=DEFECT_RATE)
    again = simulate(out, scale=SCALE, seed=42, as_of=AS_OF, defect_rate=DEFECT_RATE)
    assert content_hashes(again) == content_hashes(city)
    assert again.counts == city.counts
    assert again.defects == city.defects
    assert other.counts != city.counts


def test_systems_written_in_two_processes_are_byte_for_byte_those_written_in_turn(city, tmp_path, monkeypatch):
    from citybase.simulator import parallel

    pids = tmp_path / "pids"
    pids.mkdir()
    original = parallel._run_group

    def run_group(group, pipe):  # in the forked child: leave a trace
        (pids / str(os.getpid())).touch()
        original(group, pipe)

    monkeypatch.setattr(parallel, "_run_group", run_group)
    monkeypatch.setattr(parallel.os, "cpu_count", lambda: 2)
    in_parallel = simulate(tmp_path / "parallel", scale=SCALE, seed=42, as_of=AS_OF, defect_rate=DEFECT_RATE)
    assert len({path.name for path in pids.iterdir()} - {str(os.getpid())}) == 2
    monkeypatch.setattr(parallel.multiprocessing, "get_all_start_methods", lambda: ["spawn"])  # no fork: in turn
    in_turn = simulate(tmp_path / "in_turn", scale=SCALE, seed=42, as_of=AS_OF, defect_rate=DEFECT_RATE)

    def file_hashes(result: SimulationResult) -> dict[str, str]:
        return {
            path.relative_to(result.out_dir).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in result.out_dir.rglob("*")
            if path.is_file() and path.name != "simulation.json"  # which names the folder
        }

    assert len(file_hashes(in_turn)) > 50
    assert file_hashes(in_parallel) == file_hashes(in_turn)
    assert (in_parallel.counts, in_parallel.defects) == (in_turn.counts, in_turn.defects)


def test_another_seed_gives_another_city(tmp_path):
    first = content_hashes(simulate(tmp_path / "a", scale=0.0005, seed=1))
    second = content_hashes(simulate(tmp_path / "b", scale=0.0005, seed=2))
    assert all(first[name] != second[name] for name in first)


# ---------------------------------------------------------------- codes


@given(
    st.sampled_from([410105, 410107, 110105, 653101]),
    st.dates(dt.date(1900, 1, 1), dt.date(2099, 12, 31)),
    st.integers(0, 999),
)
def test_vectorised_id_numbers_agree_with_the_reference(address, birth, sequence):
    first17 = id_first17(np.array([address]), np.array([birth], dtype="datetime64[D]"), np.array([sequence]))
    [id_number] = id_numbers(first17, id_check_index(first17)).tolist()
    expected17 = f"{address}{birth:%Y%m%d}{sequence:03d}"
    assert id_number == expected17 + id_number_check_char(expected17)


@given(st.sampled_from("123"), st.sampled_from(["410105", "110101"]), st.text(USCC_ALPHABET, min_size=8, max_size=8))
def test_vectorised_credit_codes_agree_with_the_reference(entity_type, division, body):
    body_indices = np.array([[USCC_ALPHABET.index(c) for c in body]])
    [code] = uscc_codes("9", np.array([int(entity_type)]), np.array([int(division)]), body_indices).tolist()
    first17 = "9" + entity_type + division + body + organization_code_check_char(body)
    assert code == first17 + uscc_check_char(first17)


def test_every_id_number_is_valid_unless_planted_otherwise(city):
    planted = defects(city, "persons")
    people = persons(city)
    for person_id, person in people.items():
        if planted.get(person_id, {}).get("defect_kind") != "bad_check_digit":
            assert id_number_problem(person["id_number"], today=AS_OF) is None, person_id
    assert all(id_number_problem(h["head_id_number"], today=AS_OF) is None for h in households(city).values())
    true_ids = [person["id_number"] for person in truth(city, "persons")]
    assert len(set(true_ids)) == len(true_ids)


def test_a_bad_check_digit_breaks_only_the_check_character(city):
    true_ids = {person["person_id"]: person["id_number"] for person in truth(city, "persons")}
    people = persons(city)
    bad = [key for key, line in defects(city, "persons").items() if line["defect_kind"] == "bad_check_digit"]
    assert bad
    for key in bad:
        value = people[key]["id_number"]
        assert id_number_problem(value, today=AS_OF).startswith("check character")
        assert value[:17] == true_ids[key][:17]
        assert value[17] in "0123456789X"
        assert value != true_ids[key]


def test_every_credit_code_is_valid_unless_planted_otherwise(city):
    planted = defects(city, "enterprises")
    true_codes = {entity["enterprise_id"]: entity["uscc"] for entity in truth(city, "enterprises")}
    for key, entity in enterprises(city).items():
        code = entity["uscc"]
        if planted.get(key, {}).get("defect_kind") == "bad_check_digit":
            assert uscc_problem(code).startswith("check character")
            assert code[:17] == true_codes[key][:17]
            assert code[17] in USCC_ALPHABET
            assert code != true_codes[key]
        else:
            assert uscc_problem(code) is None, key
    bodies = [code[8:16] for code in true_codes.values()]
    assert len(set(bodies)) == len(bodies)


def test_credit_codes_carry_the_entity_type_and_division(city):
    type_digit = {"个体工商户": "2", "农民专业合作社": "3"}
    for entity in truth(city, "enterprises"):
        assert entity["uscc"][:2] == "9" + type_digit.get(entity["entity_type"], "1")
        assert entity["uscc"][2:8] == entity["division_code"]


def test_sex_and_birth_date_agree_with_the_id_number(city):
    for person in truth(city, "persons"):
        id_number = person["id_number"]
        assert person["sex"] == ("1" if int(id_number[16]) % 2 else "2")
        assert person["birth_date"].replace("-", "") == id_number[6:14]


# ---------------------------------------------------------------- shapes


def test_residents_spread_over_districts_by_their_shares(city):
    people = truth(city, "persons")
    counts = Counter(person["division_code"] for person in people)
    total = sum(division.residents_2019 for division in ZHENGZHOU_DIVISIONS)
    assert set(counts) == {division.code for division in ZHENGZHOU_DIVISIONS}
    for division in ZHENGZHOU_DIVISIONS:
        assert counts[division.code] / len(people) == pytest.approx(division.residents_2019 / total, abs=0.002)


def test_sex_ratio_and_age_bands_follow_the_census(city):
    people = truth(city, "persons")
    sexes = Counter(person["sex"] for person in people)
    assert 100 * sexes["1"] / sexes["2"] == pytest.approx(104, abs=3)
    ages = [age_on(AS_OF, dt.date.fromisoformat(person["birth_date"])) for person in people]
    bands = Counter("0-14" if age < 15 else "15-64" if age < 65 else "65+" for age in ages)
    assert bands["0-14"] / len(ages) == pytest.approx(0.162, abs=0.01)
    assert bands["15-64"] / len(ages) == pytest.approx(0.758, abs=0.01)
    assert bands["65+"] / len(ages) == pytest.approx(0.080, abs=0.01)


def test_households_have_census_sizes_and_a_member_as_head(city):
    people = truth(city, "persons")
    registry = households(city)
    members = Counter(person["household_id"] for person in people)
    assert set(members) == set(registry)
    family = [key for key, household in registry.items() if household["household_type"] == "家庭户"]
    collective = [key for key, household in registry.items() if household["household_type"] == "集体户"]
    assert len(family) == pytest.approx(3_636_411 * SCALE, rel=0.02)
    assert len(collective) == pytest.approx(497_157 * SCALE, rel=0.05)
    family_people = sum(members[key] for key in family)
    assert family_people / len(people) == pytest.approx(10_237_153 / 12_600_574, abs=0.005)
    assert family_people / len(family) == pytest.approx(2.82, abs=0.02)
    by_id = {person["id_number"]: person for person in people}
    for key, household in registry.items():
        head = by_id[household["head_id_number"]]
        assert head["household_id"] == key
        assert head["division_code"] == household["division_code"]
        if household["household_type"] == "家庭户":
            assert age_on(AS_OF, dt.date.fromisoformat(head["birth_date"])) >= 18


def test_members_live_at_their_household_address_in_its_district(city):
    registry = households(city)
    names = {division.code: division.name for division in ZHENGZHOU_DIVISIONS}
    for person in persons(city).values():
        household = registry[person["household_id"]]
        assert person["address"] == household["address"]
        assert person["division_code"] == household["division_code"]
        assert person["address"].startswith("郑州市" + names[person["division_code"]])


def test_han_majority_with_the_hui_concentrated_in_guancheng(city):
    people = list(persons(city).values())
    ethnicities = Counter(person["ethnicity"] for person in people)
    assert ethnicities["汉族"] / len(people) == pytest.approx(0.983, abs=0.004)
    assert ethnicities.most_common(2)[1][0] == "回族"
    hui_share = {
        in_guancheng: np.mean(
            [p["ethnicity"] == "回族" for p in people if (p["division_code"] == "410104") == in_guancheng]
        )
        for in_guancheng in (True, False)
    }
    assert hui_share[True] > 5 * hui_share[False]


def test_id_address_codes_show_migrants_and_the_obsolete_mangshan_code(city):
    people = truth(city, "persons")
    from_outside = [person for person in people if person["id_number"][:6] not in ZHENGZHOU_CODES]
    assert len(from_outside) / len(people) == pytest.approx(0.25, abs=0.03)
    assert Counter(person["id_number"][:2] for person in from_outside).most_common(1)[0][0] == "41"  # mostly Henan
    mangshan = [person for person in people if person["id_number"].startswith("410107")]
    assert mangshan
    assert all(person["birth_date"] < "2003-01-01" for person in mangshan)
    native = sum(person["id_number"][:6] == person["division_code"] for person in people)
    assert native / len(people) > 0.55


def test_some_names_need_gb18030(city):
    names = [person["name"] for person in truth(city, "persons")]
    outside_gbk = []
    for name in names:
        name.encode("gb18030")
        try:
            name.encode("gbk")
        except UnicodeEncodeError:
            outside_gbk.append(name)
    assert 0 < len(outside_gbk) < 0.005 * len(names)
    assert Counter(names).most_common(1)[0][1] > 1  # common names repeat


def test_dates_and_times_are_well_formed_and_not_after_as_of(city):
    planted = defects(city, "persons")
    for key, person in persons(city).items():
        assert TIMESTAMP.fullmatch(person["registered_at"])
        assert TIMESTAMP.fullmatch(person["updated_at"])
        assert person["registered_at"] <= person["updated_at"] <= f"{AS_OF} 23:59:59"
        if key not in planted and person["birth_date"] is not None:
            assert person["birth_date"] <= person["registered_at"][:10]
    for entity in enterprises(city).values():
        assert TIMESTAMP.fullmatch(entity["updated_at"])
        assert entity["updated_at"] <= f"{AS_OF} 23:59:59"
    for entity in truth(city, "enterprises"):
        assert "1990-01-01" <= entity["established_on"] <= AS_OF.isoformat()


def test_individual_businesses_dominate_the_market(city):
    entities = truth(city, "enterprises")
    types = Counter(entity["entity_type"] for entity in entities)
    assert types["个体工商户"] / len(entities) == pytest.approx(0.65, abs=0.03)
    assert set(types) == {"个体工商户", "有限责任公司", "股份有限公司", "个人独资企业", "合伙企业", "农民专业合作社"}
    statuses = Counter(entity["status"] for entity in entities)
    assert (statuses["存续"] + statuses["在业"]) / len(entities) > 0.7
    capital = [e["registered_capital"] for e in enterprises(city).values() if e["entity_type"] == "有限责任公司"]
    assert all(value is not None and value > 0 for value in capital)


def test_business_names_are_unique_and_name_their_district(city):
    entities = truth(city, "enterprises")
    assert len({entity["name"] for entity in entities}) == len(entities)
    district = {division.code: division.name for division in ZHENGZHOU_DIVISIONS}
    for entity in entities:
        if entity["entity_type"] in ("个体工商户", "农民专业合作社"):
            assert entity["name"].startswith(district[entity["division_code"]])


def test_legal_representatives_are_adult_residents(city):
    people = {person["id_number"]: person for person in truth(city, "persons")}
    planted = defects(city, "enterprises")
    for entity in truth(city, "enterprises"):
        representative = people[entity["legal_rep_id_number"]]
        birth = dt.date.fromisoformat(representative["birth_date"])
        assert age_on(AS_OF, birth) >= 18
        assert age_on(dt.date.fromisoformat(entity["established_on"]), birth) >= 18
    for key, entity in enterprises(city).items():
        if key not in planted:
            assert entity["legal_rep_name"] == people[entity["legal_rep_id_number"]]["name"]


# ---------------------------------------------------------------- planted defects


@pytest.mark.parametrize("table", ["persons", "enterprises"])
def test_defect_counts_follow_the_rate(city, table):
    planted = defects(city, table)
    table_rows = city.counts[next(key for key in city.counts if key.endswith("/" + table))]
    kinds = Counter(line["defect_kind"] for line in planted.values())
    assert set(kinds) == set(DEFECT_KINDS)
    assert max(kinds.values()) - min(kinds.values()) <= 1
    assert len(planted) / table_rows == pytest.approx(DEFECT_RATE, abs=0.001)
    system = "public_security/hukou" if table == "persons" else "market_regulation/business_registry"
    with (city.out_dir / "ground_truth" / "defects_registry_events.csv").open(encoding="utf-8") as handle:
        events = Counter(
            r["defect_kind"] for r in csv.DictReader(handle) if f"{r['department']}/{r['system']}" == system
        )
    # the system's count covers its event tables (moves, reports, ...) too
    assert city.defects[system] == {kind: kinds[kind] + events[kind] for kind in {*DEFECT_KINDS, *events}}


def test_only_names_re_keyed_from_another_system_carry_homophone_typos(city):
    """The household registration is the reference the others copy names from: it is never mistyped."""
    re_keyed = {
        ("hr_social_security", "social_insurance", "insured_persons"),
        ("courts", "dishonest_debtors", "dishonest_debtors"),
        ("civil_affairs", "civil_registry", "marriage_registrations"),
        ("health", "vital_records", "births"),
        ("health", "vital_records", "deaths"),
    }
    mistyped = set()
    for path in (city.out_dir / "ground_truth").glob("defects*.csv"):
        with path.open(encoding="utf-8", newline="") as file:
            lines = csv.DictReader(file)
            mistyped |= {
                (d["department"], d["system"], d["table"]) for d in lines if d["defect_kind"] == HOMOPHONE_NAME
            }
    assert ("hr_social_security", "social_insurance", "insured_persons") in mistyped
    assert mistyped <= re_keyed
    assert city.defects["hr_social_security/social_insurance"][HOMOPHONE_NAME] > 0


@pytest.mark.parametrize(
    ("table", "load", "key", "true_columns"),
    [
        ("persons", persons, "person_id", ("id_number", "name", "sex", "birth_date", "division_code", "household_id")),
        ("enterprises", enterprises, "enterprise_id", ("uscc", "name", "entity_type", "legal_rep_id_number")),
    ],
)
def test_records_are_true_except_where_a_defect_is_planted(city, table, load, key, true_columns):
    records = load(city)
    planted = defects(city, table)
    true_records = {record[key]: record for record in truth(city, table)}
    assert len(true_records) == len(records) - sum(line["defect_kind"] == "duplicate_row" for line in planted.values())
    for record_key, record in records.items():
        line = planted.get(record_key)
        if line is None:
            assert {c: record[c] for c in true_columns} == {c: true_records[record_key][c] for c in true_columns}
            continue
        original = record_key
        if line["defect_kind"] == "duplicate_row":
            original = int(line["detail"].removeprefix("duplicate of "))
            assert original not in planted
            assert {**dict(records[original]), key: record_key} == dict(record)
        elif line["defect_kind"] == "missing_field":
            assert record[line["column"]] is None
        elif line["defect_kind"] == "impossible_date":
            assert _impossible(record[line["column"]])
            if table == "persons":  # the ID number still tells the true birth date
                assert record["id_number"] == true_records[record_key]["id_number"]
        changed = {c for c in true_columns if record[c] != true_records[original][c]}
        assert changed <= {line["column"]}


def _impossible(value: str) -> bool:
    try:
        return dt.date.fromisoformat(value) > AS_OF
    except ValueError:
        return True


def test_residents_and_households_are_held_in_narrow_types():
    """At scale 1.0 the whole city stays in memory: each field widened to int64 by accident costs up to
    100 MB there, for the run's whole length."""
    people, households = simulate_population(20_000, AS_OF, 5)
    assert {field.name: getattr(people, field.name).dtype for field in dataclasses.fields(people)} == {
        "division": np.int8, "male": np.bool_, "birth": np.int32, "ethnicity": np.int8, "surname": np.int16,
        "given1": np.int16, "given2": np.int16, "id_first17": np.int64, "id_check": np.int8, "household": np.int32,
        "registered_at": np.int64, "updated_at": np.int64,
    }  # fmt: skip
    assert households.division.dtype == np.int8
    assert households.serial.dtype == households.head.dtype == np.int32
