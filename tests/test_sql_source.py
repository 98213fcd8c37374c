"""The SQL connector against real databases: SQLite files, PostgreSQL and MariaDB on this machine."""

import datetime as dt
import decimal
import re
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from citybase.duckdb_extensions import attach_server, load_extension
from connectors.extract import SchemaDriftError, extract_table, schema_changes
from connectors.landing import LandingZone
from connectors.registry import TableSpec, parse_registry
from connectors.sql import SourceUnavailableError, SqlSource
from tests.servers import server_url

ROWS = [
    (
        i,
        f"张{i}",
        dt.date(2020, 1, 1) + dt.timedelta(days=i),
        decimal.Decimal("12.50") * i,
        None if i % 7 else "x",
    )
    for i in range(1, 1001)
]


def _make_table(url: str, name: str) -> None:
    engine = sa.create_engine(url)
    metadata = sa.MetaData()
    table = sa.Table(
        name, metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("name", sa.String(40)),
        sa.Column("born", sa.Date),
        sa.Column("capital", sa.Numeric(12, 2)),
        sa.Column("note", sa.String(10)),
    )  # fmt: skip
    metadata.drop_all(engine, tables=[table])
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            table.insert(), [dict(zip(("id", "name", "born", "capital", "note"), r, strict=False)) for r in ROWS]
        )
    engine.dispose()


def _database(kind: str, tmp_path):
    """A fresh table per test (parallel workers share the servers), dropped afterwards."""
    url = f"sqlite:///{tmp_path / 'dept.sqlite'}" if kind == "sqlite" else server_url(kind)
    table = f"connector_test_{uuid.uuid4().hex[:8]}"
    _make_table(url, table)
    yield url, table
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text(f"drop table {table}"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def database_url(request, tmp_path):
    yield from _database(request.param, tmp_path)


@pytest.fixture(params=["postgresql", "mariadb"])
def typed_database_url(request, tmp_path):
    """Servers with real DATE and DECIMAL types (SQLite keeps dates as text)."""
    yield from _database(request.param, tmp_path)


def test_streams_every_row_in_bounded_batches(database_url):
    url, table_name = database_url
    source = SqlSource("test/dept", url, batch_size=128)
    schema, stream = source.read_batches(table_name, order_by=("id",))
    batches = list(stream)
    source.close()
    assert all(b.num_rows <= 128 for b in batches)
    assert len(batches) == 8
    table = pa.Table.from_batches(batches, schema)
    as_landed = str if url.startswith("sqlite") else int  # SQLite lands text as stored (types are advice there)
    assert table.column("id").to_pylist() == [as_landed(r[0]) for r in ROWS]
    assert table.column("name").to_pylist() == [r[1] for r in ROWS]
    assert table.column("note").null_count == len([r for r in ROWS if r[4] is None])
    assert schema.field("id").type == (pa.string() if url.startswith("sqlite") else pa.int64())


def test_typed_columns_keep_their_types(typed_database_url):
    url, table_name = typed_database_url
    schema, stream = SqlSource("test/dept", url).read_batches(table_name, ("id",))
    first = next(stream)
    assert schema.field("born").type == pa.date32()
    assert first.column(2)[0].as_py() == dt.date(2020, 1, 2)
    assert first.column(3)[1].as_py() == decimal.Decimal("25.00")


def test_an_unreachable_source_names_itself():
    with pytest.raises(SourceUnavailableError, match="source public_security/hukou at postgresql"):
        SqlSource("public_security/hukou", "postgresql+psycopg2://u:secret@127.0.0.1:1/x").schema("persons")


def test_the_password_never_appears_in_the_error():
    with pytest.raises(SourceUnavailableError) as raised:
        SqlSource("s/s", "postgresql+psycopg2://u:hunter2secret@127.0.0.1:1/x").schema("t")
    assert "hunter2secret" not in str(raised.value)


def test_a_missing_sqlite_file_is_not_silently_created(tmp_path):
    with pytest.raises(SourceUnavailableError, match="does not exist"):
        SqlSource("s/s", f"sqlite:///{tmp_path / 'absent.sqlite'}").schema("t")
    assert not (tmp_path / "absent.sqlite").exists()


def test_a_missing_table_names_source_and_table(tmp_path):
    sqlite3.connect(tmp_path / "d.sqlite").close()
    with pytest.raises(SourceUnavailableError, match="source s/s: table 'persons' does not exist"):
        SqlSource("s/s", f"sqlite:///{tmp_path / 'd.sqlite'}").schema("persons")


def test_the_native_scanner_and_the_cursor_land_the_same_rows(database_url):
    url, table_name = database_url
    spec = TableSpec(table_name, ("id",), None, {})
    landed = {}
    for native in (True, False):
        source = SqlSource("test/dept", url, batch_size=300, native=native)
        extraction = source.extract(spec, {})
        batches = list(extraction.batches)
        assert all(b.num_rows <= 300 for b in batches)
        rows = pa.Table.from_batches(batches, extraction.schema).to_pylist()
        landed[native] = sorted(rows, key=lambda r: r["id"])
        source.close()
    assert landed[True] == landed[False]
    assert len(landed[True]) == len(ROWS)


@pytest.fixture
def mariadb_table(tmp_path):
    yield from _database("mariadb", tmp_path)


@pytest.mark.parametrize(("query", "compression"), [("", "OFF"), ("?compress=true", "ON")])
def test_the_mariadb_scanner_compresses_only_when_the_url_asks(mariadb_table, query, compression):
    """DuckDB's scanner compresses unless told not to: the server would deflate every row, on a fast link for
    nothing. PyMySQL, which reflects the table, cannot compress: the option is the scanner's alone."""
    url, table_name = mariadb_table
    source = SqlSource("test/dept", url + query)
    rows = sum(b.num_rows for b in source.extract(TableSpec(table_name, ("id",), None, {}), {}).batches)
    assert rows == len(ROWS)
    connection = duckdb.connect()
    load_extension(connection, "mysql_scanner")
    attach_server(connection, source.url, "source", read_only=True, compress=source.compress)
    status = "select * from mysql_query('source', 'show session status like \"Compression\"')"
    assert connection.execute(status).fetchall() == [("Compression", compression)]
    connection.close()
    source.close()


def test_the_native_scanner_names_a_missing_table(tmp_path):
    sqlite3.connect(tmp_path / "d.sqlite").close()
    source = SqlSource("s/s", f"sqlite:///{tmp_path / 'd.sqlite'}")
    with pytest.raises(SourceUnavailableError, match="source s/s: table 'persons' does not exist"):
        source.extract(TableSpec("persons", ("id",), None, {}), {})


def _second_extraction(tmp_path, alter: str):
    """Extract a SQLite system once, apply ``alter`` to it, and return the second extraction (a callable)."""
    city, landing_dir = tmp_path / "city", tmp_path / "landing"
    (city / "dept").mkdir(parents=True)
    with sqlite3.connect(city / "dept" / "sys.sqlite") as connection:
        connection.execute("create table people (id integer primary key, name text, born text)")
        connection.executemany("insert into people values (?, ?, ?)", [(1, "张三", "2001-01-01"), (2, "李四", None)])
    (source,) = parse_registry(
        {"sources": [{"department": "dept", "system": "sys", "kind": "sql", "connection": "dept__sys",
                      "owner": "o", "tables": [{"name": "people", "primary_key": ["id"]}]}]}
    )  # fmt: skip
    first = extract_table(source, "people", "r1", city_dir=city, landing_dir=landing_dir)
    LandingZone(landing_dir).complete_run("dept/sys", "r1", "2025-01-01T00:00:00", [first])
    with sqlite3.connect(city / "dept" / "sys.sqlite") as connection:
        connection.executescript(alter)
    return lambda: extract_table(source, "people", "r2", city_dir=city, landing_dir=landing_dir)


def test_a_new_column_lands_and_is_reported(tmp_path):
    landing = _second_extraction(tmp_path, "alter table people add column phone text;")()
    assert landing.schema_changes == ["added column phone (string)"]
    assert landing.rows == 2


@pytest.mark.parametrize(
    ("alter", "message"),
    [
        ("alter table people drop column born;", "column born dropped or renamed"),
        (
            "alter table people rename column born to birth_date;",
            "column born dropped or renamed; new columns: birth_date",
        ),
    ],
)
def test_a_dropped_renamed_or_retyped_column_fails_the_source_and_lands_nothing(tmp_path, alter, message):
    with pytest.raises(SchemaDriftError, match=f"source dept/sys table people: {re.escape(message)}"):
        _second_extraction(tmp_path, alter)()
    assert not (tmp_path / "landing" / "dept" / "sys" / "people" / "run=r2").exists()


def test_a_retyped_column_is_refused():
    previous = {"id": "int64", "born": "string"}
    retyped = pa.schema([("id", pa.int64()), ("born", pa.date32())])
    with pytest.raises(SchemaDriftError, match="column born string -> date32"):
        schema_changes("dept/sys", "people", previous, retyped)


def test_sqlite_values_land_as_stored_even_against_their_declared_type(tmp_path):
    """SQLite does not enforce column types; a mistyped value must reach dbt's quarantine, not crash."""
    with sqlite3.connect(tmp_path / "d.sqlite") as connection:
        connection.execute("create table t (id integer primary key, n integer, d date)")
        connection.executemany(
            "insert into t values (?, ?, ?)", [(1, 5, "2020-01-02"), (2, "2001-01-01", "2019-02-30")]
        )
    for native in (True, False):
        extraction = SqlSource("s/s", f"sqlite:///{tmp_path / 'd.sqlite'}", native=native).extract(
            TableSpec("t", ("id",), None, {}), {}
        )
        rows = pa.Table.from_batches(list(extraction.batches), extraction.schema).to_pylist()
        assert rows == [{"id": "1", "n": "5", "d": "2020-01-02"}, {"id": "2", "n": "2001-01-01", "d": "2019-02-30"}]


@pytest.mark.parametrize("native", [True, False])
def test_incremental_runs_land_changes_and_deletes_and_nothing_twice(tmp_path, native):
    database, zone = tmp_path / "sys.sqlite", LandingZone(tmp_path / "landing")
    with sqlite3.connect(database) as connection:
        connection.execute("create table people (id integer primary key, name text, updated_at text)")
        connection.executemany(
            "insert into people values (?, ?, ?)", [(i, f"人{i}", f"2025-01-0{i} 08:00:00") for i in range(1, 6)]
        )
    source = SqlSource("dept/sys", f"sqlite:///{database}", native=native)
    spec = TableSpec("people", ("id",), "updated_at", {}, {"mode": "incremental"})

    def extract(run_id: str):
        previous = zone.latest_landing("dept/sys", "people")
        landing = zone.land_table(
            "dept/sys", "people", run_id, source.extract(spec, previous.state if previous else {})
        )
        zone.complete_run("dept/sys", run_id, "2025-01-01T00:00:00", [landing])
        return landing, zone.read("dept/sys", "people", run_id)

    first, _ = extract("r1")
    assert (first.rows, first.state["mode"], first.state["watermark"]) == (5, "full_snapshot", "2025-01-05 08:00:00")

    with sqlite3.connect(database) as connection:
        connection.execute("update people set name = '改名', updated_at = '2025-02-01 09:00:00' where id = 2")
        connection.execute("insert into people values (6, '新人', '2025-02-02 10:00:00')")
        connection.execute("delete from people where id in (4, 5)")
    second, table = extract("r2")
    assert second.state["mode"] == "incremental"
    assert sorted(table.column("id").to_pylist()) == ["2", "6"]
    assert second.state["watermark"] == "2025-02-02 10:00:00"
    deletes = pq.read_table(Path(second.path) / "deletes.parquet").column("id").to_pylist()
    assert (second.deleted, sorted(deletes)) == (2, ["4", "5"])

    third, _ = extract("r3")  # the same interval again: nothing new, nothing deleted
    assert (third.rows, third.deleted, third.state["watermark"]) == (0, 0, "2025-02-02 10:00:00")
    source.close()


def test_a_native_read_since_a_watermark_filters_without_importing_pandas(tmp_path):
    """The watermark goes into the query quoted: bound, it would make DuckDB's client import pandas (about a
    second of every incremental task)."""
    database = tmp_path / "sys.sqlite"
    with sqlite3.connect(database) as connection:
        connection.execute("create table people (id integer primary key, updated_at text)")
        connection.executemany("insert into people values (?, ?)", [(1, "2025-01-01"), (2, "2025-01-03 08:00")])
        connection.execute("insert into people values (3, 'it''s dirt')")
    script = (
        "import sys\n"
        "from connectors.sql import SqlSource\n"
        f"source = SqlSource('dept/sys', 'sqlite:///{database}')\n"
        "_, batches = source.read_batches_native('people', since=('updated_at', \"2025-01-02'\"))\n"
        "print(sorted(key for batch in batches for key in batch.column('id').to_pylist()), 'pandas' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["['2',", "'3']", "False"]
