"""Extracting from the database servers departments really run (server mode): ours vs pandas, side by side.

The household registry's persons table is loaded, as ``simulate --target server`` loads it, into the
PostgreSQL and the MariaDB server named by ``CITYBASE_POSTGRES_URL`` / ``CITYBASE_MARIADB_URL`` (defaults:
this machine's), in a database of its own (``citybase_bench__hukou``, dropped afterwards), never a
simulation's. Per server: SqlSource through DuckDB's scanner (the deployed path), SqlSource through a
SQLAlchemy server-side cursor, and ``pandas.read_sql`` + ``to_parquet``. A server that cannot be reached is
skipped, with the reason printed.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.measure import Approach, measure, measure_rounds, versus

SYSTEM = "citybase_bench/hukou"
TABLE, KEY = "persons", ("person_id",)
SERVERS = {"PostgreSQL": "postgresql", "MariaDB": "mariadb"}
OURS = ("connectors.landing", "connectors.registry", "connectors.sql", "duckdb", "sqlalchemy")
PANDAS = ("pandas", "sqlalchemy", "pyarrow.parquet")


def _simulate(city: Path, scale: float) -> int:
    from citybase.simulator import simulate

    return simulate(city, scale=scale, seed=1).counts["public_security/hukou/persons"]


def _ours(url: str, landing: Path, native: bool) -> int:
    from connectors.landing import LandingZone
    from connectors.registry import TableSpec
    from connectors.sql import SqlSource

    source = SqlSource(SYSTEM, url, native=native)
    extraction = source.extract(TableSpec(TABLE, KEY, None, {}), {})
    try:
        return LandingZone(landing).land_table(SYSTEM, TABLE, "native" if native else "cursor", extraction).rows
    finally:
        source.close()


def _pandas(url: str, landing: Path) -> int:
    import pandas as pd
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    frame = pd.read_sql(f"select * from {TABLE}", engine)
    engine.dispose()
    landing.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(landing / "pandas.parquet")
    return len(frame)


def _approaches(url: str, landing: Path) -> dict[str, Approach]:
    return {
        "native": Approach(_ours, lambda n: (url, landing / f"native-{n}", True), OURS),
        "cursor": Approach(_ours, lambda n: (url, landing / f"cursor-{n}", False), OURS),
        "alternative": Approach(_pandas, lambda n: (url, landing / f"pandas-{n}"), PANDAS),
    }


def run(rows: int, rounds: int) -> list[dict]:
    from sqlalchemy.engine import make_url

    from citybase.settings import Settings
    from citybase.simulator.servers import database_for, drop_database, load_system

    servers = Settings.simulation_servers()
    results: list[dict] = []
    with tempfile.TemporaryDirectory() as directory:
        city, landing = Path(directory) / "city", Path(directory) / "landing"
        measure(_simulate, city, rows / 12_600_574)
        for label, kind in SERVERS.items():
            try:
                load_system(SYSTEM, city / "public_security" / "hukou.sqlite", servers[kind])
            except Exception as error:  # a bench reports an unreachable server and goes on
                print(f"extract sql ({label}) skipped: {servers[kind].split('@')[-1]} cannot be loaded: {error}")
                continue
            target = make_url(servers[kind]).set(database=database_for(SYSTEM))
            try:
                measured = measure_rounds(_approaches(target.render_as_string(False), landing / kind), rounds)
            finally:
                drop_database(target, target.database)
            native, cursor, alternative = measured["native"], measured["cursor"], measured["alternative"]
            for result in (native, cursor):
                result["speedup"] = versus(result, alternative)
            benchmark = f"extract sql ({label})"
            results += [
                {"benchmark": benchmark, "approach": "SqlSource, DuckDB scanner", **native},
                {"benchmark": benchmark, "approach": "SqlSource, SQLAlchemy cursor", **cursor},
                {"benchmark": benchmark, "approach": "pandas.read_sql + to_parquet", **alternative},
            ]
    return results
