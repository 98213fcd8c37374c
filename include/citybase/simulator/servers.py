"""Server mode: the simulated SQL systems loaded into real database servers, as departments run them.

The household registry goes to MariaDB and every other SQL system to PostgreSQL, one database per
system (``<prefix><department>__<system>``; the prefix, empty by default, keeps simulations that share a
server apart, e.g. the tests' from a developer's), recreated on each simulation. Tables keep their primary keys
and indexes; foreign keys are left out because the planted dirt includes orphan references that a
department system without enforced constraints really holds. Rows go from the SQLite files with no
Python row handling: into MariaDB as DuckDB-written CSV bulk-loaded by the server (``LOAD DATA LOCAL
INFILE``; by DuckDB's scanner where the server refuses that), into PostgreSQL by DuckDB's scanner;
secondary indexes are built after the rows.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import duckdb
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from sqlalchemy.schema import CreateTable

from citybase.duckdb_extensions import attach_server, load_extension, sql_literal

MARIADB_SYSTEMS = frozenset({"public_security/hukou"})
DEFAULT_SERVERS = {
    "mariadb": "mysql+pymysql://root@127.0.0.1:3306/test",
    "postgresql": "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres",
}
KEY_LENGTH = 64  # text keys and indexed text columns become VARCHAR(64): MySQL cannot index TEXT
# MariaDB's, MySQL 8's and older servers' "local files are disabled" errors
LOCAL_INFILE_REFUSED = frozenset({4166, 3948, 1148})
DATABASE_PREFIX = re.compile(r"[a-z0-9_]*")  # it becomes part of a database name on both servers


class ServerLoadError(RuntimeError):
    """A system's rows could not be loaded into its server unchanged."""


def server_for(system: str) -> str:
    return "mariadb" if system in MARIADB_SYSTEMS else "postgresql"


def check_database_prefix(prefix: str) -> str:
    if not DATABASE_PREFIX.fullmatch(prefix):
        raise ValueError(f"database prefix {prefix!r} may hold only lower-case letters, digits and underscores")
    return prefix


def database_for(system: str, prefix: str = "") -> str:
    """The database a system is loaded into: ``<prefix><department>__<system>``."""
    return check_database_prefix(prefix) + system.replace("/", "__")


def _server_type(column: sa.Column, keyed: bool) -> sa.types.TypeEngine:
    affinity = str(column.type).upper()
    if "INT" in affinity:
        return sa.BigInteger()
    if any(t in affinity for t in ("REAL", "FLOA", "DOUB", "NUMERIC")):
        return sa.Double()  # MySQL's FLOAT is single precision
    return sa.String(KEY_LENGTH) if keyed else sa.Text()


def _maintenance_engine(server_url: URL) -> sa.Engine:
    """An autocommit engine on the server itself (MySQL: no database; PostgreSQL: ``postgres``), not on the
    database ``server_url`` names: that one may not exist yet, or be the very one to drop. (``URL.set`` leaves a
    field alone when given None, so the URL is built anew.)"""
    mysql = server_url.get_backend_name() == "mysql"
    maintenance = URL.create(
        server_url.drivername, server_url.username, server_url.password, server_url.host, server_url.port,
        None if mysql else "postgres", server_url.query,
    )  # fmt: skip
    return sa.create_engine(maintenance, isolation_level="AUTOCOMMIT")


def _quoted(server_url: URL, database: str) -> str:
    return f"`{database}`" if server_url.get_backend_name() == "mysql" else f'"{database}"'


def drop_database(server_url: URL, database: str) -> None:
    """Drop ``database`` if it exists; a previous run's connections to it (PostgreSQL) are ended first."""
    engine = _maintenance_engine(server_url)
    with engine.connect() as connection:
        if server_url.get_backend_name() == "postgresql":  # open connections would block the drop
            connection.execute(
                sa.text(
                    "select pg_terminate_backend(pid) from pg_stat_activity "
                    "where datname = :d and pid <> pg_backend_pid()"
                ),
                {"d": database},
            )
        connection.execute(sa.text(f"drop database if exists {_quoted(server_url, database)}"))
    engine.dispose()


def _recreate_database(server_url: URL, database: str) -> URL:
    """Drop and create ``database``; returns ``server_url`` naming it."""
    drop_database(server_url, database)
    charset = " character set utf8mb4 collate utf8mb4_bin" if server_url.get_backend_name() == "mysql" else ""
    engine = _maintenance_engine(server_url)
    with engine.connect() as connection:
        connection.execute(sa.text(f"create database {_quoted(server_url, database)}{charset}"))
    engine.dispose()
    return server_url.set(database=database)


def _server_tables(sqlite_path: Path) -> list[sa.Table]:
    """The SQLite system's tables as the server is to hold them: primary keys and indexes, no foreign keys."""
    source = sa.create_engine(f"sqlite:///{sqlite_path}")
    inspector = sa.inspect(source)
    metadata, tables = sa.MetaData(), []
    for name in inspector.get_table_names():
        reflected = sa.Table(name, sa.MetaData(), autoload_with=source)
        indexes = inspector.get_indexes(name)
        keyed = {c.name for c in reflected.primary_key.columns} | {c for i in indexes for c in i["column_names"]}
        table = sa.Table(
            name,
            metadata,
            *(
                sa.Column(c.name, _server_type(c, c.name in keyed), primary_key=c.primary_key, autoincrement=False)
                for c in reflected.columns
            ),
        )
        for index in indexes:
            sa.Index(index["name"], *(table.c[c] for c in index["column_names"]))
        tables.append(table)
    source.dispose()
    return tables


def _insert_by_scanner(connection: duckdb.DuckDBPyConnection, target: URL, tables: list[str]) -> None:
    """The tables through DuckDB's scanner, attached as ``server``."""
    schema = "server" if target.get_backend_name() == "mysql" else "server.public"
    for table in tables:
        connection.execute(f'insert into {schema}."{table}" select * from simulated."{table}"')


def _load_data_infile(connection: duckdb.DuckDBPyConnection, target: URL, tables: list[str], near: Path) -> None:
    """Each table written by DuckDB as CSV (in a scratch folder in ``near``), then bulk-loaded with ``LOAD DATA
    LOCAL INFILE``: about twice as fast as the scanner's inserts. Every value but NULL is quoted, and NULL is
    the bare word, which is how ``LOAD DATA`` (with ``ESCAPED BY ''``) tells NULL from the text 'NULL'. Only
    this connection, to the server the simulation was given, lets the server ask for a local file. A server
    that refuses local files (MySQL 8's default) gets the table through DuckDB's scanner instead: the refusal
    comes before any row, and each table loads in a transaction of its own."""
    engine = sa.create_engine(target, connect_args={"local_infile": True}, poolclass=sa.pool.NullPool)
    with tempfile.TemporaryDirectory(dir=near, prefix=".load-") as scratch:
        for table in tables:
            rows = Path(scratch) / f"{table}.csv"
            connection.execute(
                f'copy (select * from simulated."{table}") to {sql_literal(rows)} '
                "(header false, nullstr 'NULL', force_quote *, quote '\"', escape '\"')"
            )
            try:
                with engine.begin() as server:
                    server.execute(
                        sa.text(
                            f"load data local infile :rows into table `{table}` character set utf8mb4 "
                            "fields terminated by ',' optionally enclosed by '\"' escaped by ''"
                        ),
                        {"rows": str(rows)},
                    )
                    _refuse_warnings(server, target, table)
            except sa.exc.OperationalError as exc:
                if exc.orig.args[0] not in LOCAL_INFILE_REFUSED:
                    raise
                _insert_by_scanner(connection, target, [table])
            rows.unlink()
    engine.dispose()


def _refuse_warnings(server: sa.Connection, target: URL, table: str) -> None:
    """``LOAD DATA LOCAL`` turns what would be errors (a value too long or of the wrong type, a duplicate key)
    into warnings and loads on; a warning fails the load instead, and its transaction is rolled back."""
    warnings = server.execute(sa.text("show warnings limit 3")).fetchall()
    if warnings:
        found = "; ".join(f"{level} {code}: {message}" for level, code, message in warnings)
        raise ServerLoadError(f"{target.database}.{table}: the server did not take the rows as they are ({found})")


def load_system(system: str, sqlite_path: Path, server_url: str, database: str | None = None) -> str:
    """Copy one simulated SQL system into its server, in ``database`` (default: ``database_for(system)``);
    returns its URL there (password hidden)."""
    base = make_url(server_url)
    mysql = base.get_backend_name() == "mysql"
    target = _recreate_database(base, database or database_for(system))
    tables = _server_tables(sqlite_path)
    engine = sa.create_engine(target, poolclass=sa.pool.NullPool)
    # The tables first and their secondary indexes once the rows are in: one sorted build, where maintaining
    # them row by row kept a small buffer pool busy with random index pages.
    with engine.begin() as server:
        for table in tables:
            server.execute(CreateTable(table))
    names = [table.name for table in tables]
    with duckdb.connect() as connection:
        load_extension(connection, "sqlite_scanner")
        connection.execute(f"attach {sql_literal(sqlite_path)} as simulated (type sqlite, read_only)")
        load_extension(connection, "mysql_scanner" if mysql else "postgres_scanner")
        attach_server(connection, target, "server")
        if mysql:
            _load_data_infile(connection, target, names, sqlite_path.parent)
        else:
            _insert_by_scanner(connection, target, names)
    for table in tables:
        for index in table.indexes:
            index.create(engine)
    engine.dispose()
    return target.render_as_string(hide_password=True)
