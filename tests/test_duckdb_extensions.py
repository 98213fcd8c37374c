"""DuckDB's scanners reach the servers with any password, and never show it; paths with quotes attach."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator

import duckdb
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from citybase.duckdb_extensions import attach_server, load_extension, sql_literal
from tests.servers import server_url

# Every character a key=value connection string gives a meaning to: quotes, a space, '=', a backslash.
PASSWORD = """it's a "p=w" \\ word"""


@pytest.fixture
def mariadb_user() -> Iterator[URL]:
    """A MariaDB account whose password no unquoted connection string could carry, dropped afterwards."""
    server = make_url(server_url("mariadb"))
    name = f"citybase_t_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text(f"create user '{name}'@'%' identified by :password"), {"password": PASSWORD})
        connection.execute(sa.text(f"grant select on `{server.database}`.* to '{name}'@'%'"))
    try:
        yield server.set(username=name, password=PASSWORD)
    finally:
        with engine.connect() as connection:
            connection.execute(sa.text(f"drop user '{name}'@'%'"))
        engine.dispose()


def _scanner(name: str) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    load_extension(connection, name)
    return connection


def test_mysql_scanner_signs_in_with_a_password_full_of_syntax(mariadb_user):
    with _scanner("mysql_scanner") as connection:
        attach_server(connection, mariadb_user, "server", read_only=True)
        (user,) = connection.execute("select * from mysql_query('server', 'select current_user()')").fetchone()
    assert user.startswith(mariadb_user.username + "@")


def test_a_refused_sign_in_never_shows_the_password(mariadb_user):
    wrong = mariadb_user.set(password=PASSWORD + " but wrong")
    with _scanner("mysql_scanner") as connection, pytest.raises(duckdb.Error, match="Access denied") as refused:
        attach_server(connection, wrong, "server", read_only=True)
    assert "p=w" not in str(refused.value)


def test_postgres_scanner_takes_such_a_password_too():
    """(This machine's PostgreSQL trusts local connections, so the password only has to get through intact.)"""
    with _scanner("postgres_scanner") as connection:
        attach_server(connection, make_url(server_url("postgresql")).set(password=PASSWORD), "server", read_only=True)
        assert connection.execute("select * from postgres_query('server', 'select 42')").fetchone() == (42,)


def test_attaching_costs_a_task_no_pandas_import():
    """Bound parameters would make DuckDB's Python client import pandas (about a second per task process)."""
    script = (
        "import sys, duckdb\n"
        "from sqlalchemy.engine import make_url\n"
        "from citybase.duckdb_extensions import attach_server, load_extension\n"
        "connection = duckdb.connect()\n"
        "load_extension(connection, 'postgres_scanner')\n"
        f"attach_server(connection, make_url({server_url('postgresql')!r}), 'server', read_only=True)\n"
        "print('pandas' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_a_path_with_quotes_attaches(tmp_path):
    path = tmp_path / 'the department\'s "data".duckdb'
    duckdb.connect(str(path)).execute("create table t as select 1 as x").close()
    with duckdb.connect() as connection:
        connection.execute(f"attach {sql_literal(path)} as d (read_only)")
        assert connection.execute("select x from d.t").fetchone() == (1,)
