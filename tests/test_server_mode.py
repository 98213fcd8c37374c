"""Server mode: the simulated SQL systems live in the real MariaDB and PostgreSQL, and extraction reads them there."""

import csv
import json
import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from citybase.simulator import simulate
from citybase.simulator.api_server import find_api_server
from citybase.simulator.evolution import evolve
from citybase.simulator.servers import ServerLoadError, database_for, drop_database, load_system, server_for
from connectors.extract import extract_source
from connectors.landing import LandingZone
from connectors.registry import get_source
from tests.servers import server_url

# Each simulation here loads its systems into databases behind a prefix of its own (citybase_test_city_
# public_security__hukou, ...), never the ones a developer's `simulate --target server` made, and drops
# them when done.
pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def servers():
    return {"mariadb": server_url("mariadb"), "postgresql": server_url("postgresql")}


@contextmanager
def dropped_afterwards(city_dir: Path, servers: dict[str, str]) -> Iterator[None]:
    """Drop the server databases the simulation in ``city_dir`` loaded, once the block is done."""
    try:
        yield
    finally:
        result = city_dir / "simulation.json"
        recorded = json.loads(result.read_text("utf-8"))["systems"] if result.exists() else {}
        for system, url in recorded.items():
            if url.startswith(("mysql", "postgresql")):
                drop_database(make_url(servers[server_for(system)]), make_url(url).database)


@pytest.fixture(scope="module")
def city(tmp_path_factory, servers):
    out = tmp_path_factory.mktemp("server_city")
    with dropped_afterwards(out, servers):
        yield simulate(out, scale=0.0003, seed=5, servers=servers, database_prefix="citybase_test_city_")


def _sqlite_rows(path: Path, table: str, key: str) -> list[tuple]:
    with sqlite3.connect(path) as connection:
        return connection.execute(f"select * from {table} order by {key}").fetchall()


def test_each_sql_system_is_served_by_its_server(city):
    assert city.systems["public_security/hukou"].startswith(
        "mysql+pymysql://root@127.0.0.1:3306/citybase_test_city_public_security__hukou"
    )
    assert city.systems["market_regulation/business_registry"].startswith(
        "postgresql+psycopg2://postgres@127.0.0.1:5432/citybase_test_city_market_regulation__business_registry"
    )


def test_a_database_prefix_that_is_no_identifier_is_refused_before_any_work(tmp_path, servers):
    with pytest.raises(ValueError, match="may hold only lower-case letters, digits and underscores"):
        simulate(tmp_path / "city", scale=0.0001, servers=servers, database_prefix="x`; drop database test; --")
    assert not (tmp_path / "city").exists()


@pytest.mark.parametrize(
    ("system", "table", "key"),
    [
        ("public_security/hukou", "persons", "person_id"),
        ("market_regulation/business_registry", "enterprises", "enterprise_id"),
    ],
)
def test_the_servers_hold_exactly_the_simulated_rows(city, system, table, key):
    department, name = system.split("/")
    expected = _sqlite_rows(city.out_dir / department / f"{name}.sqlite", table, key)
    engine = sa.create_engine(city.systems[system])
    with engine.connect() as connection:
        served = connection.execute(sa.text(f"select * from {table} order by {key}")).fetchall()
        primary_key = sa.inspect(connection).get_pk_constraint(table)["constrained_columns"]
    engine.dispose()
    assert [tuple(r) for r in served] == expected
    assert primary_key == [key]


def test_extraction_reads_the_servers_and_lands_every_row(city, tmp_path):
    for system, table, key in (
        ("public_security/hukou", "persons", "person_id"),
        ("market_regulation/business_registry", "enterprises", "enterprise_id"),
    ):
        extract_source(get_source(system), "r1", city_dir=city.out_dir, landing_dir=tmp_path)
        landed = LandingZone(tmp_path).read(system, table, "r1").sort_by(key).to_pylist()
        department, name = system.split("/")
        expected = _sqlite_rows(city.out_dir / department / f"{name}.sqlite", table, key)
        assert [tuple(r.values()) for r in landed] == expected


def test_the_cli_loads_servers_from_the_environment(tmp_path, servers):
    environment = {
        "CITYBASE_MARIADB_URL": servers["mariadb"],
        "CITYBASE_POSTGRES_URL": servers["postgresql"],
        "CITYBASE_SERVER_DATABASE_PREFIX": "citybase_test_cli_",
    }
    with dropped_afterwards(tmp_path, servers):
        result = subprocess.run(
            [str(Path(sys.executable).with_name("citybase")), "simulate", "--scale", "0.0001", "--target", "server",
             "--out", str(tmp_path)],
            capture_output=True, text=True, check=False, env={**os.environ, **environment},
        )  # fmt: skip
        server = find_api_server(tmp_path)  # simulate leaves the REST systems' server running: stop it
        assert server is not None
        server.stop()
    assert result.returncode == 0, result.stderr
    assert (
        "public_security/hukou: mysql+pymysql://root@127.0.0.1:3306/citybase_test_cli_public_security__hukou"
        in result.stdout
    )


def test_incremental_extraction_from_the_servers_lands_just_the_evolved_changes(tmp_path, servers):
    """Evolution reloads the servers; the next run reads only rows past the watermark from MariaDB and
    PostgreSQL, finds the deaths by key diff, and a repeat lands nothing."""
    city, landing = tmp_path / "city", tmp_path / "landing"
    prefix = "citybase_test_evolve_"
    with dropped_afterwards(city, servers):
        simulate(city, scale=0.001, seed=7, servers=servers, database_prefix=prefix)
        loaded = json.loads((city / "simulation.json").read_text("utf-8"))["systems"]
        extract_source(get_source("public_security/hukou"), "r1", city_dir=city, landing_dir=landing)
        extract_source(get_source("housing/property_registry"), "r1", city_dir=city, landing_dir=landing)
        evolve(city, 30)
        assert json.loads((city / "simulation.json").read_text("utf-8"))["systems"] == loaded  # same databases
        assert make_url(loaded["public_security/hukou"]).database == prefix + "public_security__hukou"
        _extract_the_evolved_changes(city, landing)


def _extract_the_evolved_changes(city: Path, landing: Path) -> None:
    with (city / "ground_truth" / "changes.csv").open(encoding="utf-8") as handle:
        changes = list(csv.DictReader(handle))
    zone = LandingZone(landing)
    for system, table, key in (
        ("public_security/hukou", "persons", "person_id"),
        ("housing/property_registry", "property_registrations", "registration_id"),
    ):
        source = get_source(system)
        changed = {c["record_key"] for c in changes if c["table"] == table and c["change"] != "delete"}
        deleted = {c["record_key"] for c in changes if c["table"] == table and c["change"] == "delete"}
        assert changed, f"{system}/{table}: thirty days should bring changes"
        assert deleted, f"{system}/{table}: thirty days should bring deletes (deaths, cancellations)"
        landing_r2 = extract_source(source, "r2", city_dir=city, landing_dir=landing).tables[table]
        assert landing_r2.state["mode"] == "incremental"
        assert {str(k) for k in zone.read(system, table, "r2").column(key).to_pylist()} == changed
        assert landing_r2.deleted == len(deleted)
        again = extract_source(source, "r3", city_dir=city, landing_dir=landing).tables[table]
        assert (again.rows, again.deleted) == (0, 0)


@pytest.mark.parametrize("kind", ["mariadb", "postgresql"])
def test_a_system_loads_when_the_server_url_names_a_database_that_does_not_exist(kind, tmp_path):
    """The URL's database only says where to connect: a system is dropped and created through the server's own."""
    url = make_url(server_url(kind)).set(database=f"citybase_absent_{uuid.uuid4().hex[:8]}")
    source = tmp_path / "dept.sqlite"
    with sqlite3.connect(source) as connection:
        connection.execute("create table people (id integer primary key, name text)")
        connection.executemany("insert into people values (?, ?)", [(1, "张三"), (2, "李四")])
    system = f"citybase_test/load_{uuid.uuid4().hex[:8]}"
    database = database_for(system)
    load_system(system, source, url.render_as_string(hide_password=False))
    try:
        engine = sa.create_engine(url.set(database=database))
        with engine.connect() as connection:
            names = connection.execute(sa.text("select name from people order by id")).scalars().all()
        assert names == ["张三", "李四"]
        engine.dispose()
    finally:
        drop_database(url, database)
    drop_database(url, database)  # gone already: nothing to do, no error


AWKWARD_TEXT = [
    None,
    "",
    "NULL",
    "\\N",
    'say "hi"',
    "a,b",
    "two\nlines",
    "tab\there",
    "back\\slash",
    "张三",
    "ＡＢＣ１２３",
    " padded ",
]


@contextmanager
def local_infile_refused() -> Iterator[None]:
    """MariaDB set as MySQL 8 ships: ``LOAD DATA LOCAL`` refused. A global setting, restored afterwards; a load
    in another test worker meanwhile is refused too, and takes the same way round."""
    engine = sa.create_engine(server_url("mariadb"), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        before = connection.execute(sa.text("select @@global.local_infile")).scalar()
        connection.execute(sa.text("set global local_infile = 0"))
        try:
            yield
        finally:
            connection.execute(sa.text(f"set global local_infile = {int(before)}"))
    engine.dispose()


@pytest.mark.parametrize(
    ("kind", "refuse_local_infile"), [("mariadb", False), ("mariadb", True), ("postgresql", False)]
)
def test_every_value_reaches_the_server_as_stored(kind, refuse_local_infile, tmp_path):
    """NULL stays NULL and text that looks like it (or like a CSV's quoting) stays text; numbers keep their
    precision; the secondary index, built after the rows, is there. A MySQL server that refuses ``LOAD DATA
    LOCAL`` is loaded through DuckDB's scanner instead."""
    source = tmp_path / "the department's files" / "dept.sqlite"  # a quote in the paths DuckDB is given
    source.parent.mkdir()
    rows = [
        (key, text, None if key % 3 == 0 else key * 7, [0.1, 1e-7, 12345.678, None][key % 4])
        for key, text in enumerate(AWKWARD_TEXT, start=1)
    ]
    with sqlite3.connect(source) as connection:
        connection.execute("create table records (id integer primary key, note text, amount integer, area real)")
        connection.execute("create index records_note on records (note)")
        connection.executemany("insert into records values (?, ?, ?, ?)", rows)
    system, server = f"citybase_test/awkward_{uuid.uuid4().hex[:8]}", make_url(server_url(kind))
    try:
        with local_infile_refused() if refuse_local_infile else nullcontext():
            load_system(system, source, server_url(kind))
        engine = sa.create_engine(server.set(database=database_for(system)))
        with engine.connect() as connection:
            served = connection.execute(sa.text("select id, note, amount, area from records order by id")).fetchall()
            indexes = sa.inspect(connection).get_indexes("records")
        engine.dispose()
        assert [tuple(row) for row in served] == rows
        assert [(index["name"], index["column_names"]) for index in indexes] == [("records_note", ["note"])]
    finally:
        drop_database(server, database_for(system))


@pytest.mark.parametrize(
    ("kind", "refusal", "message"),
    [
        ("mariadb", ServerLoadError, r"records: .*Data truncated for column 'code'"),
        ("postgresql", duckdb.Error, r"value too long for type character varying\(64\)"),
    ],
)
def test_a_value_the_server_would_change_fails_the_load(kind, refusal, message, tmp_path):
    """An indexed text column becomes VARCHAR(64): a longer value is refused, never cut short (MariaDB's LOAD
    DATA LOCAL would only warn)."""
    source = tmp_path / "dept.sqlite"
    with sqlite3.connect(source) as connection:
        connection.execute("create table records (id integer primary key, code text)")
        connection.execute("create index records_code on records (code)")
        connection.executemany("insert into records values (?, ?)", [(1, "A1"), (2, "长" * 65)])
    system = f"citybase_test/long_{uuid.uuid4().hex[:8]}"
    try:
        with pytest.raises(refusal, match=message):
            load_system(system, source, server_url(kind))
    finally:
        drop_database(make_url(server_url(kind)), database_for(system))
