"""The API-fed department systems: their generators (determinism, volumes, planted defects, real
references) and the API server process that serves them (auth, keyset pagination, rate limit,
lifecycle). Every server here is a real process on 127.0.0.1."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from citybase.codes import id_number_problem, uscc_problem
from citybase.simulator.api_server import (
    ApiServerError,
    delete_records,
    find_api_server,
    next_key,
    register_api_tables,
    start_api_server,
    state_paths,
)
from citybase.simulator.courts import write_dishonest_debtors
from citybase.simulator.market import LIVE, OPERATING, simulate_enterprises
from citybase.simulator.output import SystemOutput
from citybase.simulator.population import RESIDENTS, simulate_population
from citybase.simulator.social_security import API_DEFECT_KINDS, write_social_insurance

AS_OF = dt.date(2025, 12, 31)
SCALE = 0.003
DEFECT_RATE = 0.05
SOCIAL = "hr_social_security/social_insurance.sqlite"
COURTS = "courts/dishonest_debtors.sqlite"


@dataclass
class City:
    root: Path
    people: object
    enterprises: object
    social: SystemOutput
    courts: SystemOutput


def make_city(root: Path, *, scale: float = SCALE, seed: int = 42, defect_rate: float = DEFECT_RATE) -> City:
    """The two API systems of a small city (the rest of the city is not needed to serve them)."""
    people, _ = simulate_population(max(1, round(RESIDENTS * scale)), AS_OF, seed)
    enterprises = simulate_enterprises(max(1, round(2_000_000 * scale)), people, AS_OF, seed)
    common = {"seed": seed, "scale": scale, "as_of": AS_OF, "defect_rate": defect_rate, "truth_dir": root / "truth"}
    social = write_social_insurance(root, people, enterprises, **common)
    courts = write_dishonest_debtors(root, people, enterprises, **common)
    return City(root, people, enterprises, social, courts)


def query(path: Path, sql: str, parameters=()) -> list[sqlite3.Row]:
    with sqlite3.connect(path) as connection:
        connection.row_factory = sqlite3.Row
        return connection.execute(sql, parameters).fetchall()


def copy_city(city: City, destination: Path) -> Path:
    """The city's stores in another data dir, for a second server (one server per data dir)."""
    shutil.copytree(city.root, destination, ignore=shutil.ignore_patterns(".api_server"))
    return destination


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> City:
    return make_city(tmp_path_factory.mktemp("api_city"))


@pytest.fixture(scope="module")
def server(city):
    with start_api_server(city.root, rate_limit=10_000) as running:
        yield running


# -- generators ---------------------------------------------------------------------------------------


def _digest(root: Path) -> str:
    digest = hashlib.sha256()
    for store in (SOCIAL, COURTS):
        for table in [r[0] for r in query(root / store, "SELECT name FROM sqlite_master WHERE type = 'table'")]:
            for row in query(root / store, f'SELECT * FROM "{table}" ORDER BY 1'):
                digest.update(repr(tuple(row)).encode())
    for path in sorted((root / "truth").glob("*.csv")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def test_generators_are_deterministic_for_a_seed(city, tmp_path):
    again = make_city(tmp_path / "again")
    other = make_city(tmp_path / "other", seed=7)
    assert _digest(again.root) == _digest(city.root)
    assert (again.social, again.courts) == (city.social, city.courts)
    assert _digest(other.root) != _digest(city.root)


def test_volumes_and_shares(city):
    people, enterprises = city.people, city.enterprises
    for output, store in ((city.social, SOCIAL), (city.courts, COURTS)):
        for key, rows in output.counts.items():
            table = key.rsplit("/", 1)[1]
            assert query(city.root / store, f"SELECT count(*) FROM {table}")[0][0] == rows
    truth = pq.read_table(city.root / "truth" / "insured_persons.parquet").to_pylist()
    person = np.array([int(r["person_id"]) - 1 for r in truth])
    age = (np.datetime64(AS_OF) - people.birth[person].astype("datetime64[D]")).astype(int) / 365.25
    assert age.min() >= 18
    working_age = ((np.datetime64(AS_OF) - people.birth.astype("datetime64[D]")).astype(int) / 365.25 >= 18) & (
        (np.datetime64(AS_OF) - people.birth.astype("datetime64[D]")).astype(int) / 365.25 < 55
    )
    insured = np.zeros(len(people), dtype=bool)
    insured[person] = True
    assert 0.7 < insured[working_age].mean() < 0.85  # most working-age residents are insured
    assert len(set(person.tolist())) == len(person)  # one record per insured person in the truth
    with_employer = sum(r["employer_uscc"] is not None for r in truth) / len(truth)
    assert 0.55 < with_employer < 0.75

    contributions = query(city.root / SOCIAL, "SELECT insured_id, count(*) AS months FROM contributions GROUP BY 1")
    assert max(r["months"] for r in contributions) <= 12
    paying = query(city.root / SOCIAL, "SELECT count(*) FROM insured_persons WHERE status = '参保缴费'")[0][0]
    assert 0.15 < len(contributions) / paying < 0.25  # a 20 % sample of paying persons
    employers = {r["employer_uscc"] for r in truth if r["employer_uscc"]}
    arrears = pq.read_table(city.root / "truth" / "arrears.parquet").to_pylist()
    assert 0.02 < len(arrears) / len(employers) < 0.04
    assert all(1 <= int(r["months_owed"]) <= 12 for r in arrears)

    debtors = pq.read_table(city.root / "truth" / "dishonest_debtors.parquet").to_pylist()
    adults = int((((np.datetime64(AS_OF) - people.birth.astype("datetime64[D]")).astype(int)) >= 18 * 365.25).sum())
    person_debtors = {r["id_number"] for r in debtors if r["debtor_type"] == "自然人"}
    entity_debtors = {r["uscc"] for r in debtors if r["debtor_type"] != "自然人"}
    assert abs(len(person_debtors) / adults - 0.003) < 0.001
    assert abs(len(entity_debtors) / len(enterprises) - 0.01) < 0.002
    assert len({r["case_number"] for r in debtors}) == len(debtors)


def test_referenced_ids_and_usccs_are_real(city):
    ids = set(city.people.id_numbers(np.arange(len(city.people))).tolist())
    usccs = set(city.enterprises.uscc.tolist())
    live = set(city.enterprises.uscc[np.isin(city.enterprises.status, [LIVE, OPERATING])].tolist())
    insured = pq.read_table(city.root / "truth" / "insured_persons.parquet").to_pylist()
    for record in insured:
        assert record["id_number"] == city.people.id_numbers(np.array([int(record["person_id"]) - 1]))[0]
        assert record["employer_uscc"] is None or record["employer_uscc"] in live
    assert {r["id_number"] for r in insured} <= ids
    arrears = pq.read_table(city.root / "truth" / "arrears.parquet").to_pylist()
    assert {r["employer_uscc"] for r in arrears} <= {r["employer_uscc"] for r in insured}
    debtors = pq.read_table(city.root / "truth" / "dishonest_debtors.parquet").to_pylist()
    assert {r["id_number"] for r in debtors if r["id_number"]} <= ids
    assert {r["uscc"] for r in debtors if r["uscc"]} <= usccs
    assert all((r["id_number"] is None) != (r["uscc"] is None) for r in debtors)
    # every contribution belongs to an insured person who is paying
    orphans = query(
        city.root / SOCIAL,
        "SELECT count(*) FROM contributions c LEFT JOIN insured_persons p USING (insured_id) "
        "WHERE p.insured_id IS NULL OR p.status <> '参保缴费'",
    )[0][0]
    assert orphans == 0


TABLES = {  # (store, table, key, true-columns compared for untouched records)
    "insured_persons": (SOCIAL, "insured_id", ("id_number", "name", "employer_uscc", "start_date", "status")),
    "arrears": (SOCIAL, "arrears_id", ("employer_uscc", "since")),
    "dishonest_debtors": (COURTS, "case_id", ("id_number", "uscc", "name", "filed_on", "case_number")),
}


@pytest.mark.parametrize("table", list(TABLES))
def test_defects_are_exactly_where_the_truth_says(city, table):
    store, key, true_columns = TABLES[table]
    system = Path(store).stem
    department = Path(store).parent.name
    with (city.root / "truth" / f"defects_{department}__{system}.csv").open(encoding="utf-8", newline="") as file:
        planted = {int(line["record_key"]): line for line in csv.DictReader(file) if line["table"] == table}
    records = {row[key]: dict(row) for row in query(city.root / store, f"SELECT * FROM {table}")}
    truth = {row[key]: row for row in pq.read_table(city.root / "truth" / f"{table}.parquet").to_pylist()}
    registry = set(city.enterprises.uscc.tolist())
    kinds = Counter(line["defect_kind"] for line in planted.values())
    assert set(kinds) <= set(API_DEFECT_KINDS)
    assert sum(kinds.values()) == round(DEFECT_RATE * len(truth))
    if table == "insured_persons":  # large enough for every kind
        assert set(kinds) == set(API_DEFECT_KINDS)
    for record_key, record in records.items():
        line = planted.get(record_key)
        if line is None:
            for column in true_columns:
                assert str(record[column]) == str(truth[record_key][column]), (record_key, column)
            continue
        kind, column = line["defect_kind"], line["column"]
        value = record.get(column)
        if kind == "duplicate_row":
            original = int(line["detail"].removeprefix("duplicate of "))
            assert {**records[original], key: record_key} == record
        elif kind == "bad_check_digit":
            assert id_number_problem(value, today=AS_OF).startswith("check character")
        elif kind == "lowercase_x":
            assert value.endswith("x")
            assert id_number_problem(value.upper(), today=AS_OF) is None
        elif kind == "missing_field":
            assert value is None
            assert truth[record_key].get(column, "present") is not None
        elif kind == "stray_whitespace":
            assert value != value.strip()
            assert value.strip() == str(truth[record_key][column])
        elif kind == "impossible_date":
            with contextlib.suppress(ValueError):  # either not a calendar day at all, or after as_of
                assert dt.date.fromisoformat(value) > AS_OF
        elif kind == "orphan_reference":
            assert uscc_problem(value) is None
            assert value not in registry
    assert len(records) == len(truth) + kinds["duplicate_row"]


# -- the server ---------------------------------------------------------------------------------------


HTTP = httpx.Client(timeout=10)  # one client: making one per request costs ~20 ms (its SSL context)


def get(server, path: str, *, token: str | None = None, **params) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token if token is not None else server.token}"}
    return HTTP.get(f"{server.url}{path}", headers=headers, params=params)


def test_requests_without_a_valid_token_get_401(server):
    path = "/api/v1/social_insurance/insured_persons"
    assert HTTP.get(server.url + path).status_code == 401
    wrong = get(server, path, token="not-the-token")
    assert wrong.status_code == 401
    assert wrong.headers["WWW-Authenticate"] == "Bearer"
    assert server.token not in wrong.text
    assert get(server, path, page_size=1).status_code == 200
    health = HTTP.get(server.url + "/health").json()  # health needs no token
    assert health["systems"] == {
        "dishonest_debtors": ["dishonest_debtors"],
        "social_insurance": ["arrears", "contributions", "insured_persons"],
    }


def _all_keys(server, table: str, key: str, page_size: int, **params) -> list[int]:
    keys, cursor = [], None
    while True:
        page = get(server, f"/api/v1/{table}", page_size=page_size, **({"cursor": cursor} if cursor else {}), **params)
        assert page.status_code == 200, page.text
        document = page.json()
        keys += [record[key] for record in document["data"]]
        cursor = document["next_cursor"]
        if cursor is None:
            return keys


def test_pagination_returns_every_row_exactly_once(server, city):
    expected = [r[0] for r in query(city.root / SOCIAL, "SELECT insured_id FROM insured_persons ORDER BY 1")]
    assert _all_keys(server, "social_insurance/insured_persons", "insured_id", 997) == expected
    whole = [r[0] for r in query(city.root / COURTS, "SELECT case_id FROM dishonest_debtors ORDER BY 1")]
    assert _all_keys(server, "dishonest_debtors/dishonest_debtors", "case_id", len(whole)) == whole  # one full page
    since = "2025-06-30 12:00:00"
    newer = [
        r[0]
        for r in query(
            city.root / SOCIAL, "SELECT insured_id FROM insured_persons WHERE updated_at > ? ORDER BY 1", [since]
        )
    ]
    assert 0 < len(newer) < len(expected)
    assert _all_keys(server, "social_insurance/insured_persons", "insured_id", 500, updated_since=since) == newer
    iso = _all_keys(server, "social_insurance/insured_persons", "insured_id", 500, updated_since="2025-06-30T04:00:00Z")
    assert iso == newer  # an instant in UTC means the same local (UTC+8) time


def test_pages_are_stable_under_concurrent_reads(server, city):
    expected = [r[0] for r in query(city.root / SOCIAL, "SELECT contribution_id FROM contributions ORDER BY 1")]
    results: list[list[int]] = []

    def read() -> None:
        results.append(_all_keys(server, "social_insurance/contributions", "contribution_id", 700))

    threads = [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * 4


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"page_size": 0}, 400),
        ({"page_size": 10_001}, 400),
        ({"page_size": "ten"}, 400),
        ({"cursor": "garbage!"}, 400),
        ({"updated_since": "yesterday"}, 400),
    ],
)
def test_bad_parameters_get_400(server, params, status):
    assert get(server, "/api/v1/social_insurance/arrears", **params).status_code == status


def test_a_cursor_only_works_for_its_own_table(server):
    cursor = get(server, "/api/v1/social_insurance/arrears", page_size=1).json()["next_cursor"]
    assert get(server, "/api/v1/social_insurance/arrears", cursor=cursor).status_code == 200
    assert get(server, "/api/v1/social_insurance/contributions", cursor=cursor).status_code == 400
    assert get(server, "/api/v1/social_insurance/nothing").status_code == 404
    assert get(server, "/api/v1/hukou/persons").status_code == 404  # SQL systems are not served


def test_rate_limit_answers_429_with_retry_after(city, tmp_path):
    with start_api_server(copy_city(city, tmp_path / "limited"), rate_limit=2, burst=2) as limited:
        statuses = [get(limited, "/api/v1/social_insurance/arrears", page_size=1) for _ in range(6)]
    codes = [r.status_code for r in statuses]
    assert codes[:2] == [200, 200]
    assert 429 in codes
    refused = next(r for r in statuses if r.status_code == 429)
    assert int(refused.headers["Retry-After"]) >= 1


def test_server_is_another_process_and_stops_cleanly(city, tmp_path):
    data_dir = copy_city(city, tmp_path / "own")
    server = start_api_server(data_dir, rate_limit=100)
    paths = state_paths(data_dir)
    try:
        assert server.pid != os.getpid()
        assert HTTP.get(server.url + "/health").json()["pid"] == server.pid
        cmdline = Path(f"/proc/{server.pid}/cmdline").read_bytes().split(b"\0")
        assert b"citybase.simulator.api_server" in cmdline
        assert server.url.startswith("http://127.0.0.1:")
        assert paths.token.stat().st_mode & 0o777 == 0o600
        assert paths.pid.read_text().strip() == str(server.pid)
        assert server.token not in repr(server)
        with pytest.raises(ApiServerError, match="already running"):
            start_api_server(data_dir)
    finally:
        server.stop()
    assert not Path(f"/proc/{server.pid}").exists()
    assert not paths.pid.exists()
    assert not paths.url.exists()
    assert not paths.token.exists()
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url + "/health", timeout=2)
    assert server.token not in paths.log.read_text()


def test_find_api_server_finds_a_running_one_and_clears_stale_files(tmp_path):
    data_dir = tmp_path / "found"  # a data dir without systems still serves /health
    data_dir.mkdir()
    started = start_api_server(data_dir)
    try:
        found = find_api_server(data_dir)
        assert found is not None
        assert (found.url, found.pid, found.token) == (started.url, started.pid, started.token)
        assert found.healthy()
        found.stop()  # a handle that did not start the process can stop it
        assert not started.healthy()
        assert find_api_server(data_dir) is None
    finally:
        started.stop()
    paths = state_paths(data_dir)
    paths.directory.mkdir(parents=True, exist_ok=True)
    paths.pid.write_text("999999999\n")
    paths.url.write_text("http://127.0.0.1:9\n")
    paths.token.write_text("stale\n")
    assert find_api_server(data_dir) is None
    assert not paths.pid.exists()
    assert not paths.token.exists()


def test_server_refuses_to_bind_beyond_loopback(tmp_path):
    token = tmp_path / "token"
    token.write_text("t")
    run = subprocess.run(
        [sys.executable, "-m", "citybase.simulator.api_server", "--data", str(tmp_path), "--host", "0.0.0.0",
         "--token-file", str(token)],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert run.returncode == 2
    assert "not a loopback address" in run.stderr


def test_json_values_keep_sqlite_types(server, city):
    record = get(server, "/api/v1/social_insurance/arrears", page_size=1).json()["data"][0]
    assert isinstance(record["arrears_id"], int)
    assert isinstance(record["months_owed"], int)
    assert isinstance(record["amount"], float)
    row = dict(query(city.root / SOCIAL, "SELECT * FROM arrears WHERE arrears_id = ?", [record["arrears_id"]])[0])
    assert json.loads(json.dumps(row)) == record


SQLITE_VALUES = (
    st.none()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | (
        st.text(st.characters(exclude_categories=["Cs"]))  # SQLite stores UTF-8: no lone surrogates
    )
)


@pytest.fixture(scope="module")
def any_values_server(tmp_path_factory):
    """A system with one table whose untyped columns hold whatever a test writes (names not identifiers)."""
    data_dir = tmp_path_factory.mktemp("any_values")
    (data_dir / "dept").mkdir()
    with sqlite3.connect(data_dir / "dept" / "system.sqlite") as connection:
        connection.execute('CREATE TABLE things (id INTEGER PRIMARY KEY, "名 字", "with space", "order")')
        register_api_tables(connection, [("things", "id", None)])
    with start_api_server(data_dir, rate_limit=10_000) as running:
        yield running


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(SQLITE_VALUES, SQLITE_VALUES, SQLITE_VALUES), max_size=30), page_size=st.integers(1, 7))
def test_pages_reassemble_the_stored_rows_value_for_value(any_values_server, rows, page_size):
    """Whatever SQLite holds comes back as the same JSON value and type (an int stays an int, 2.0 stays a float,
    a float to its last bit), under the column's own name, every row once across the pages."""
    with sqlite3.connect(any_values_server.data_dir / "dept" / "system.sqlite") as connection:
        connection.execute("DELETE FROM things")
        connection.executemany("INSERT INTO things VALUES (?, ?, ?, ?)", [(i, *row) for i, row in enumerate(rows)])
    served, cursor = [], None
    while True:
        page = get(
            any_values_server, "/api/v1/system/things", page_size=page_size, **({"cursor": cursor} if cursor else {})
        )
        document = page.json()
        served += document["data"]
        cursor = document["next_cursor"]
        if cursor is None:
            break
    expected = [{"id": i, "名 字": a, "with space": b, "order": c} for i, (a, b, c) in enumerate(rows)]
    assert served == expected
    assert [[type(v) for v in r.values()] for r in served] == [[type(v) for v in r.values()] for r in expected]


# -- deletes: tombstones ------------------------------------------------------------------------------


def test_updated_since_pages_carry_tombstones_merged_with_rows_in_key_order(city, tmp_path):
    data_dir = copy_city(city, tmp_path / "tombstones")
    with sqlite3.connect(data_dir / COURTS) as connection:
        keys = [r[0] for r in connection.execute("SELECT case_id FROM dishonest_debtors ORDER BY 1")]
        gone, old = keys[1:37:3], keys[40]
        delete_records(connection, "dishonest_debtors", gone, ["2026-01-02 10:00:00"] * len(gone))
        delete_records(connection, "dishonest_debtors", [old], ["2025-06-01 10:00:00"])  # before updated_since
        changed = [keys[0], keys[2], keys[50]]
        connection.executemany(
            "UPDATE dishonest_debtors SET updated_at = '2026-01-03 09:00:00' WHERE case_id = ?", [(k,) for k in changed]
        )
    path = "/api/v1/dishonest_debtors/dishonest_debtors"
    with start_api_server(data_dir, rate_limit=10_000) as running:
        rows, tombstones, cursor, pages = [], [], None, 0
        while True:
            page = get(running, path, page_size=4, updated_since="2026-01-01", **({"cursor": cursor} if cursor else {}))
            document = page.json()
            assert len(document["data"]) + len(document["deleted"]) <= 4
            rows += [r["case_id"] for r in document["data"]]
            tombstones += document["deleted"]
            pages += 1
            cursor = document["next_cursor"]
            if cursor is None:
                break
        full = get(running, path, page_size=10_000).json()
    assert rows == changed
    assert tombstones == [{"case_id": k, "deleted_at": "2026-01-02 10:00:00"} for k in gone]
    assert pages == -(-(len(changed) + len(gone)) // 4)  # rows and tombstones share the pages
    assert "deleted" not in full  # a full read is the table as it stands
    assert not {*gone, old} & {r["case_id"] for r in full["data"]}
    assert len(full["data"]) == len(keys) - len(gone) - 1


def test_new_keys_never_reuse_a_deleted_one(city, tmp_path):
    data_dir = copy_city(city, tmp_path / "reuse")
    with sqlite3.connect(data_dir / SOCIAL) as connection:
        (top,) = connection.execute("SELECT max(arrears_id) FROM arrears").fetchone()
        assert next_key(connection, "arrears") == top + 1
        delete_records(connection, "arrears", [top], ["2026-01-02 10:00:00"])
        assert connection.execute("SELECT max(arrears_id) FROM arrears").fetchone()[0] < top
        assert next_key(connection, "arrears") == top + 1
