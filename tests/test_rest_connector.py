"""RestSource against the simulated departments' API server, a real process on 127.0.0.1: rows
conserved, incremental by watermark, retries through 503s and 429s, a clear give-up, schema drift
mid-stream, and the token kept out of every message."""

from __future__ import annotations

import gzip
import json
import logging
import socket
import sqlite3
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import msgspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from citybase.simulator.api_server import delete_records, register_api_tables, start_api_server
from connectors.landing import LandingZone
from connectors.registry import TableSpec
from connectors.rest import (
    CONVERTERS,
    PREFETCH_PAGES,
    TYPES,
    RestSource,
    RestSourceError,
    _as_text,
    _parse_options,
    _read_records,
    _to_batch,
)
from tests.test_api_server import COURTS, SOCIAL, copy_city, make_city, query

SOURCE = "hr_social_security/social_insurance"


def spec(table: str, key: str, cursor: str | None = "updated_at", system: str = "social_insurance", **options):
    return TableSpec(table, (key,), cursor, {}, {"endpoint": f"{system}/{table}", **options})


INSURED = spec("insured_persons", "insured_id")
CONTRIBUTIONS = spec("contributions", "contribution_id", cursor="paid_at")
ARREARS = spec("arrears", "arrears_id")
DEBTORS = spec("dishonest_debtors", "case_id", system="dishonest_debtors")


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    return make_city(tmp_path_factory.mktemp("rest_city"))


@pytest.fixture(scope="module")
def server(city):
    with start_api_server(city.root, rate_limit=10_000) as running:
        yield running


def extract_all(source: RestSource, table: TableSpec, state: dict | None = None) -> tuple[pa.Table, dict, list]:
    extraction = source.extract(table, state or {})
    batches = list(extraction.batches)
    for batch in batches:
        assert batch.schema == extraction.schema
    return pa.Table.from_batches(batches, schema=extraction.schema), extraction.state, extraction.rejections


def store_rows(path: Path, table: str, key: str, where: str = "", parameters=()) -> list[dict]:
    return [dict(r) for r in query(path, f"SELECT * FROM {table} {where} ORDER BY {key}", parameters)]


def test_extracts_every_row_as_stored(server, city):
    source = RestSource(SOURCE, server.api_url, server.token, page_size=1000, batch_rows=4000)
    for table in (INSURED, CONTRIBUTIONS, ARREARS):
        landed, state, rejections = extract_all(source, table)
        expected = store_rows(city.root / SOCIAL, table.name, table.primary_key[0])
        assert landed.to_pylist() == expected  # same rows, same order, same values (NULLs, whitespace, x)
        assert landed.num_rows == city.social.counts[f"{SOURCE}/{table.name}"]
        assert rejections == []
        assert state["rows"] == len(expected)
        assert state["watermark"] == max(r[table.cursor] for r in expected)
    assert dict(zip(landed.schema.names, map(str, landed.schema.types), strict=True)) == {
        "arrears_id": "int64",
        "employer_uscc": "string",
        "months_owed": "int64",
        "amount": "double",
        "since": "string",
        "updated_at": "string",
    }
    source.close()


def test_lands_through_the_landing_zone(server, city, tmp_path):
    source = RestSource(SOURCE, server.api_url, server.token, page_size=500, batch_rows=1500)
    zone = LandingZone(tmp_path / "landing")
    landing = zone.land_table(SOURCE, "insured_persons", "run-1", source.extract(INSURED, {}))
    assert landing.rows == city.social.counts[f"{SOURCE}/insured_persons"]
    assert landing.batches == -(-landing.rows // 1500)
    assert zone.verify_table(SOURCE, "insured_persons", "run-1") == []
    assert landing.state["watermark"] is not None


@settings(max_examples=12, deadline=None)
@given(page_size=st.integers(1, 400), batch_rows=st.integers(1, 1000))
def test_any_page_and_batch_size_conserves_rows(server, city, page_size, batch_rows):
    source = RestSource("courts/dishonest_debtors", server.api_url, server.token, page_size=page_size,
                        batch_rows=batch_rows)  # fmt: skip
    try:
        landed, state, _ = extract_all(source, DEBTORS)
    finally:
        source.close()
    expected = store_rows(city.root / COURTS, "dishonest_debtors", "case_id")
    assert landed.column("case_id").to_pylist() == [r["case_id"] for r in expected]
    assert landed.to_pylist() == expected
    assert state["pages"] == max(1, -(-len(expected) // page_size))


def test_incremental_lands_only_newer_rows(city, tmp_path):
    data_dir = copy_city(city, tmp_path / "incremental")
    store = data_dir / SOCIAL
    with start_api_server(data_dir, rate_limit=10_000) as running:
        source = RestSource(SOURCE, running.api_url, running.token, page_size=300)
        # A watermark in the middle of the table's history: only rows updated after it come.
        middle = "2025-06-30 12:00:00"
        landed, state, _ = extract_all(source, INSURED, {"watermark": middle})
        expected = store_rows(store, "insured_persons", "insured_id", "WHERE updated_at > ?", [middle])
        assert 0 < len(expected) < city.social.counts[f"{SOURCE}/insured_persons"]
        assert landed.to_pylist() == expected
        watermark = state["watermark"]
        assert watermark == max(r["updated_at"] for r in expected)

        # Nothing changed since: an empty run keeps the watermark and the schema.
        again, unchanged, _ = extract_all(source, INSURED, state)
        assert again.num_rows == 0
        assert unchanged["watermark"] == watermark
        assert again.schema == landed.schema

        # The department updates three records: the next run lands exactly those.
        with sqlite3.connect(store) as connection:
            connection.execute(
                "UPDATE insured_persons SET status = '暂停缴费', updated_at = '2026-01-05 09:30:00' "
                "WHERE insured_id IN (2, 3, 5)"
            )
        newer, after, _ = extract_all(source, INSURED, unchanged)
        assert newer.column("insured_id").to_pylist() == [2, 3, 5]
        assert set(newer.column("status").to_pylist()) == {"暂停缴费"}
        assert after["watermark"] == "2026-01-05 09:30:00"
        source.close()


def test_watermark_is_not_advanced_until_batches_are_exhausted(server):
    source = RestSource(SOURCE, server.api_url, server.token, page_size=100, batch_rows=100)
    extraction = source.extract(INSURED, {"watermark": "2000-01-01 00:00:00"})
    next(extraction.batches)
    assert extraction.state["watermark"] == "2000-01-01 00:00:00"
    for _ in extraction.batches:
        pass
    assert extraction.state["watermark"] > "2000-01-01 00:00:00"
    source.close()


def test_retries_survive_a_flaky_server(city, tmp_path):
    with start_api_server(copy_city(city, tmp_path / "flaky"), rate_limit=10_000, flaky=0.2, seed=3) as flaky:
        source = RestSource(SOURCE, flaky.api_url, flaky.token, page_size=250, max_retries=8,
                            backoff_base=0.005, backoff_max=0.05, seed=1)  # fmt: skip
        landed, _, _ = extract_all(source, CONTRIBUTIONS)
    assert landed.to_pylist() == store_rows(city.root / SOCIAL, "contributions", "contribution_id")
    pages = -(-landed.num_rows // 250)
    assert source.stats.retried_for.get("HTTP 503", 0) >= 3  # ~20 % of ~pages requests
    assert source.stats.requests == pages + source.stats.retries
    source.close()


def test_retries_honour_rate_limiting(city, tmp_path):
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(seconds)

    with start_api_server(copy_city(city, tmp_path / "limited"), rate_limit=8, burst=4) as limited:
        source = RestSource(SOURCE, limited.api_url, limited.token, page_size=10, sleep=sleep, backoff_base=0.01)
        started = time.monotonic()
        landed, _, _ = extract_all(source, ARREARS)
        elapsed = time.monotonic() - started
    assert landed.to_pylist() == store_rows(city.root / SOCIAL, "arrears", "arrears_id")
    assert source.stats.retried_for.get("HTTP 429", 0) >= 1
    assert min(slept) >= 1.0  # Retry-After: 1 was honoured, not just the tiny backoff
    assert elapsed >= sum(slept)
    source.close()


def _dead_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_gives_up_with_a_clear_message_on_a_dead_port():
    port = _dead_port()
    source = RestSource(SOURCE, f"http://127.0.0.1:{port}/api/v1", "secret-token-123", max_retries=2,
                        backoff_base=0.01)  # fmt: skip
    with pytest.raises(RestSourceError) as failure:
        source.extract(INSURED, {})
    message = str(failure.value)
    assert SOURCE in message
    assert "social_insurance/insured_persons" in message
    assert f"127.0.0.1:{port}" in message
    assert "after 3 attempts" in message
    assert "NewConnectionError" in message  # what failed, by name
    assert source.stats.requests == 3
    assert source.stats.retries == 2


def test_client_errors_are_not_retried(server):
    source = RestSource(SOURCE, server.api_url, "wrong-token-456", max_retries=5)
    with pytest.raises(RestSourceError, match="HTTP 401"):
        source.extract(INSURED, {})
    assert source.stats.requests == 1
    right = RestSource(SOURCE, server.api_url, server.token)
    with pytest.raises(RestSourceError, match="HTTP 404"):
        right.extract(spec("nowhere", "id"), {})
    with pytest.raises(RestSourceError, match=r"no options\.endpoint"):
        right.extract(TableSpec("insured_persons", ("insured_id",), None, {}, {}), {})


def test_token_never_appears_in_errors_or_logs(server, caplog):
    caplog.set_level(logging.DEBUG)  # httpx and httpcore log every request at DEBUG
    texts: list[str] = []
    source = RestSource(SOURCE, server.api_url, server.token, page_size=50)
    extract_all(source, ARREARS)
    texts.append(repr(source))
    failures = [  # unreachable, refused (a token that contains the real one), and an unknown endpoint
        (RestSource(SOURCE, f"http://127.0.0.1:{_dead_port()}/api/v1", server.token, max_retries=1), INSURED),
        (RestSource(SOURCE, server.api_url, server.token + "-revoked"), INSURED),
        (RestSource(SOURCE, server.api_url, server.token), spec("missing", "id")),
    ]
    for failing, table in failures:
        with pytest.raises(RestSourceError) as failure:
            failing.extract(table, {})
        texts += [str(failure.value), repr(failure.value), repr(failure.value.__cause__), repr(failing)]
        failing.close()
    assert caplog.records  # something was logged, so the check below means something
    for text in [*texts, caplog.text]:
        assert server.token not in text
    assert server.token not in (server.data_dir / ".api_server" / "server.log").read_text()


def _prefetchers() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith("rest-prefetch")]


def _readers() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith("rest-read")]


def test_the_fetcher_stays_a_few_pages_ahead_and_stops_with_the_run(server):
    source = RestSource(SOURCE, server.api_url, server.token, page_size=10, batch_rows=10)
    extraction = source.extract(CONTRIBUTIONS, {})
    assert source.stats.requests == 1  # nothing runs until the batches are read
    assert not _prefetchers()
    batches = iter(extraction.batches)
    next(batches)
    time.sleep(0.5)  # ample time to run ahead, were it unbounded
    ahead = source.stats.requests
    assert 2 <= ahead <= CONVERTERS + PREFETCH_PAGES + 1  # pages being read, the queue, one waiting to join it
    assert len(_prefetchers()) == 1
    assert 1 <= len(_readers()) <= CONVERTERS
    batches.close()  # the landing gave up: neither the fetcher nor the readers may outlive the run
    assert not _prefetchers()
    assert not _readers()
    assert source.stats.requests == ahead
    source.close()


def test_a_server_lost_mid_run_fails_the_run_with_a_clear_message(city, tmp_path):
    with start_api_server(copy_city(city, tmp_path / "lost"), rate_limit=10_000) as running:
        source = RestSource(SOURCE, running.api_url, running.token, page_size=10, batch_rows=10, max_retries=1,
                            backoff_base=0.01)  # fmt: skip
        extraction = source.extract(CONTRIBUTIONS, {})
        batches = iter(extraction.batches)
        next(batches)
        running.stop()
        with pytest.raises(RestSourceError) as failure:
            for _ in batches:
                pass
    assert "social_insurance/contributions failed after 2 attempts" in str(failure.value)
    assert SOURCE in str(failure.value)
    assert extraction.state["rows"] == 0  # nothing is claimed done
    assert extraction.state["watermark"] is None
    assert not _prefetchers()
    source.close()


# -- values: what each stored value lands as, whichever path its page takes -----------------------------

STORED = (
    st.none()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | (
        st.text(st.characters(exclude_categories=["Cs"]), max_size=6)  # SQLite stores UTF-8: no lone surrogates
    )
)
DECLARED = {"whole": "int64", "real": "float64", "text": "string"}


def _lands_as(value, type_name: str) -> tuple[object, bool]:
    """The module's rule for a JSON value in a column of a type: (the landed value, whether it is rejected)."""
    if value is None:
        return None, False
    if type_name == "string":
        return (value if isinstance(value, str) else json.dumps(value)), False
    if type_name == "int64":
        if isinstance(value, float) and value.is_integer() and -(2**63) <= value < 2**63:
            return int(value), False
        return (value, False) if isinstance(value, int) else (None, True)
    return (float(value), False) if isinstance(value, int | float) else (None, True)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(exclude_categories=["Cs"]), max_size=4),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=2), inner, max_size=2),
    max_leaves=4,
)  # fmt: skip


def _admitted(value, type_name: str) -> bool:
    """A value the schema's type takes as it is (what the fast path may read)."""
    if value is None:
        return True
    if type_name == "string":
        return type(value) is str
    if type_name == "int64":
        return type(value) is int and -(2**63) <= value < 2**63
    return type(value) is float or (type(value) is int and abs(value) < 2**53)


@settings(max_examples=300, deadline=None)
@given(
    types=st.dictionaries(st.sampled_from("abcd"), st.sampled_from(list(TYPES)), min_size=1),
    records=st.lists(st.dictionaries(st.sampled_from("abcde"), JSON_VALUES), max_size=6),
    stray=st.none() | JSON_VALUES.filter(lambda value: not isinstance(value, dict)),
)
def test_the_native_reader_lands_what_the_value_by_value_path_would(types, records, stray):
    """pyarrow's reader either lands a page exactly as the general path does, with nothing to reject and no
    field to drop, or declines it; and it declines no page whose values all fit as they are."""
    schema = pa.schema([(name, TYPES[type_name]) for name, type_name in types.items()])
    options = _parse_options(schema, ("a",))
    assert _read_records(msgspec.json.encode({"data": [*records, stray], "next_cursor": None}), options) is None
    body = msgspec.json.encode({"data": records, "next_cursor": None})
    fast = _read_records(body, options)
    rejected: list = []
    slow = _to_batch(records, schema, 0, lambda row, message: rejected.append(row))
    clean = all(r.keys() <= types.keys() and all(_admitted(v, types[k]) for k, v in r.items()) for r in records)
    if fast is not None:
        assert fast.equals(slow)
        assert fast.schema == schema
        assert not rejected
        assert all(r.keys() <= types.keys() for r in records)
    assert fast is not None or not clean


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """A system whose untyped columns hold whatever a test stores, and a source reading it."""
    data_dir = tmp_path_factory.mktemp("mixed")
    (data_dir / "mixed_dept").mkdir()
    store = data_dir / "mixed_dept" / "mixed.sqlite"
    with sqlite3.connect(store) as connection:
        connection.execute("CREATE TABLE things (id INTEGER PRIMARY KEY, whole, real, text, at TEXT)")
        register_api_tables(connection, [("things", "id", "at")])
    with start_api_server(data_dir, rate_limit=10_000) as running:
        source = RestSource("mixed_dept/mixed", running.api_url, running.token)
        yield source, store
        source.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(st.tuples(STORED, STORED, STORED, st.none() | st.text(max_size=4)), max_size=40),
    page_size=st.integers(1, 9),
    batch_rows=st.integers(1, 15),
)
def test_every_value_lands_by_the_rules_whichever_path_its_page_takes(mixed, rows, page_size, batch_rows):
    """Pages whose values all fit take the fast path, others the value-by-value one; the result is the same:
    each value as its column's type, misfits null and rejected by row and column, the watermark the top cursor."""
    source, store = mixed
    with sqlite3.connect(store) as connection:
        connection.execute("DELETE FROM things")
        connection.executemany("INSERT INTO things VALUES (?, ?, ?, ?, ?)", [(i, *r) for i, r in enumerate(rows)])
    source.batch_rows = batch_rows
    table = TableSpec("things", ("id",), "at", {}, {"endpoint": "mixed/things", "page_size": page_size,
                                                      "types": DECLARED})  # fmt: skip
    landed, state, rejections = extract_all(source, table)
    expected, misfits = [], set()
    for number, (i, *values, at) in enumerate([(i, *r) for i, r in enumerate(rows)], start=1):
        record = {"id": i}
        for column, value in zip(DECLARED, values, strict=True):
            record[column], rejected = _lands_as(value, DECLARED[column])
            if rejected:
                misfits.add((number, column))
        expected.append({**record, "at": at})
    assert landed.to_pylist() == expected
    assert {(r.row, r.message.split(":")[0].removeprefix("column ")) for r in rejections} == misfits
    assert len(rejections) == len(misfits)
    assert state["watermark"] == max((r[3] for r in rows if r[3] is not None), default=None)
    assert state["rows"] == len(rows)


# -- schema: inferred from the first page, stable through the run ------------------------------------


@pytest.fixture
def drifting(tmp_path):
    """A tiny API system whose table the test alters between pages, as a department might mid-run."""
    store = tmp_path / "drift_dept" / "drift.sqlite"
    store.parent.mkdir()
    with sqlite3.connect(store) as connection:
        connection.execute("CREATE TABLE events (event_id INTEGER PRIMARY KEY, amount INTEGER, note TEXT, at TEXT)")
        connection.executemany(
            "INSERT INTO events VALUES (?, ?, ?, ?)", [(i, i * 10, f"n{i}", f"2025-01-{i:02d}") for i in range(1, 31)]
        )
        connection.execute("UPDATE events SET amount = 2.5 WHERE event_id = 25")  # REAL in an INTEGER column
        connection.execute("UPDATE events SET amount = NULL WHERE event_id <= 10")
        register_api_tables(connection, [("events", "event_id", "at")])
    with start_api_server(tmp_path, rate_limit=10_000) as running:
        yield running, store


def test_schema_drift_mid_stream_is_noted_not_fatal(drifting):
    server, store = drifting
    source = RestSource("drift_dept/drift", server.api_url, server.token, page_size=10, batch_rows=10)
    table = TableSpec("events", ("event_id",), "at", {}, {"endpoint": "drift/events"})
    extraction = source.extract(table, {})
    # First page: amount all null there, so it is text unless declared; note is text.
    assert extraction.schema.field("amount").type == pa.string()
    with sqlite3.connect(store) as connection:  # the department changes its schema after page one
        connection.execute("ALTER TABLE events ADD COLUMN category TEXT DEFAULT 'x'")
        connection.execute("ALTER TABLE events DROP COLUMN note")
    landed = pa.Table.from_batches(list(extraction.batches), schema=extraction.schema)
    assert landed.num_rows == 30
    assert landed.schema.names == ["event_id", "amount", "note", "at"]
    assert landed.column("note").to_pylist() == [f"n{i}" for i in range(1, 11)] + [None] * 20
    assert landed.column("amount").to_pylist()[10:12] == ["110", "120"]  # numbers in a text column: JSON text
    assert extraction.state["new_fields"] == ["category"]
    assert extraction.rejections == []
    assert extraction.state["columns"] == {"event_id": "int64", "amount": "string", "note": "string", "at": "string"}


def test_declared_types_fix_the_schema_and_misfits_are_rejected(drifting):
    server, _ = drifting
    source = RestSource("drift_dept/drift", server.api_url, server.token, page_size=10)
    table = TableSpec("events", ("event_id",), "at", {}, {"endpoint": "drift/events", "types": {"amount": "int64"}})
    landed, state, rejections = extract_all(source, table)
    assert landed.schema.field("amount").type == pa.int64()
    amounts = landed.column("amount").to_pylist()
    assert amounts[:10] == [None] * 10
    assert amounts[24] is None  # 2.5 does not fit int64
    assert amounts[23] == 240
    assert [(r.row, r.rule, r.file) for r in rejections] == [(25, "type_mismatch", "drift/events")]
    assert "2.5" not in rejections[0].message  # values are not copied into manifests
    # The next run keeps int64 even without the declaration, because the state remembers it.
    plain = TableSpec("events", ("event_id",), None, {}, {"endpoint": "drift/events"})
    again, _, _ = extract_all(source, plain, state)
    assert again.schema.field("amount").type == pa.int64()


def test_nested_and_boolean_values_land_as_json_text():
    assert _as_text({"b": [1, 2], "a": "郑州"}) == '{"a":"郑州","b":[1,2]}'
    assert _as_text(True) == "true"
    assert _as_text(1.5) == "1.5"
    assert _as_text(None) is None


# -- deletes: tombstones land as deletes.parquet -----------------------------------------------------


def test_tombstones_land_as_deletes_and_the_same_interval_lands_nothing_again(city, tmp_path):
    data_dir = copy_city(city, tmp_path / "tombstones")
    zone = LandingZone(tmp_path / "landing")
    with start_api_server(data_dir, rate_limit=10_000) as running:
        source = RestSource(SOURCE, running.api_url, running.token, page_size=3)

        def land(run: str):
            extraction = source.extract(ARREARS, zone.latest_state(SOURCE, "arrears"))
            landing = zone.land_table(SOURCE, "arrears", run, extraction)
            zone.complete_run(SOURCE, run, "2026-01-01T00:00:00", [landing])
            return landing

        full = land("r1")
        assert full.rows == city.social.counts[f"{SOURCE}/arrears"]
        assert not (Path(full.path) / "deletes.parquet").exists()  # a full snapshot has nothing to delete
        with sqlite3.connect(data_dir / SOCIAL) as connection:
            keys = [r[0] for r in connection.execute("SELECT arrears_id FROM arrears ORDER BY 1")]
            connection.executemany(
                "UPDATE arrears SET months_owed = months_owed + 1, updated_at = '2026-01-04 10:00:00' "
                "WHERE arrears_id = ?",
                [(k,) for k in keys[5:7]],
            )
            delete_records(connection, "arrears", keys[:5], ["2026-01-04 11:00:00"] * 5)
        second = land("r2")
        assert zone.read(SOURCE, "arrears", "r2").column("arrears_id").to_pylist() == keys[5:7]
        deletes = pq.read_table(Path(second.path) / "deletes.parquet")
        assert deletes.schema.remove_metadata() == pa.schema([("arrears_id", pa.int64())])  # typed as the rows' key
        assert deletes.column("arrears_id").to_pylist() == keys[:5]
        assert second.deleted == second.state["deleted"] == 5
        assert second.state["watermark"] == "2026-01-04 11:00:00"  # a delete advances the watermark too
        third = land("r3")
        assert (third.rows, third.deleted) == (0, 0)
        assert pq.read_table(Path(third.path) / "deletes.parquet").num_rows == 0
        source.close()


def test_deletes_are_only_known_once_the_rows_are_read(server):
    source = RestSource(SOURCE, server.api_url, server.token, page_size=100)
    extraction = source.extract(ARREARS, {"watermark": "2000-01-01 00:00:00"})
    with pytest.raises(RestSourceError, match="before the rows were exhausted"):
        next(extraction.deletes)
    assert sum(batch.num_rows for batch in extraction.batches) > 0
    assert source.extract(ARREARS, {}).deletes is None  # a full read asks for no changes
    source.close()


class _ForwardProxy(BaseHTTPRequestHandler):
    """A forward proxy: relays ``GET http://host/path`` to the host, counting what it relayed, and gzips
    the answer for a client that accepts it (as a department's gateway may)."""

    relayed: list[str]
    gzipped: list[str]

    def do_GET(self) -> None:
        self.relayed.append(self.path)
        upstream = urllib.request.Request(self.path, headers={"Authorization": self.headers["Authorization"]})
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(upstream) as answer:
            body = answer.read()
        self.send_response(200)
        if "gzip" in self.headers.get("Accept-Encoding", ""):
            body = gzip.compress(body)
            self.send_header("Content-Encoding", "gzip")
            self.gzipped.append(self.path)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:
        pass


@pytest.fixture
def forward_proxy():
    handler = type("Handler", (_ForwardProxy,), {"relayed": [], "gzipped": []})
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{proxy.server_address[1]}", handler
    proxy.shutdown()
    proxy.server_close()


def test_the_environments_proxy_is_used_unless_no_proxy_exempts_the_host(server, city, forward_proxy, monkeypatch):
    """Also: the proxy gzips what it relays, and the rows land as the server stores them all the same."""
    proxy_url, proxy = forward_proxy
    relayed = proxy.relayed
    for name in ("HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", proxy_url)
    source = RestSource("courts/dishonest_debtors", server.api_url, server.token, page_size=100)
    landed, _, _ = extract_all(source, DEBTORS)
    source.close()
    pages = -(-city.courts.counts["courts/dishonest_debtors/dishonest_debtors"] // 100)
    assert landed.num_rows == city.courts.counts["courts/dishonest_debtors/dishonest_debtors"]
    assert len(relayed) == pages
    assert all(path.startswith(server.api_url + "/dishonest_debtors/dishonest_debtors?") for path in relayed)
    assert proxy.gzipped == relayed
    assert landed.to_pylist() == store_rows(city.root / COURTS, "dishonest_debtors", "case_id")

    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    source = RestSource("courts/dishonest_debtors", server.api_url, server.token, page_size=100)
    assert extract_all(source, DEBTORS)[0].num_rows == landed.num_rows
    source.close()
    assert len(relayed) == pages  # straight to the server
