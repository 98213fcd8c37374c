"""Extracting a department table into the landing zone: our connectors vs pandas, side by side.

The city is simulated once (in a child process); each approach then runs in a fresh interpreter
so its peak memory is its own. Every approach ends with the same rows on disk as Parquet.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.measure import Approach, measure, measure_rounds, versus

TABLE = ("public_security/hukou", "persons", ("person_id",))
OURS = ("connectors.landing", "connectors.registry", "connectors.sql")  # imported before the clock starts
PANDAS = ("pandas", "sqlalchemy", "pyarrow.parquet")


def _simulate(city: Path, scale: float) -> int:
    from citybase.simulator import simulate

    result = simulate(city, scale=scale, seed=1)
    return result.counts["public_security/hukou/persons"]


def persons_database(city: Path) -> Path:
    return city / f"{TABLE[0]}.sqlite"


def land_persons(database: Path, landing: Path, native: bool) -> int:
    """The persons table of the SQLite file ``database`` landed by ``SqlSource``; returns the rows landed."""
    from connectors.landing import LandingZone
    from connectors.registry import TableSpec
    from connectors.sql import SqlSource

    source_key, table, key = TABLE
    source = SqlSource(source_key, f"sqlite:///{database}", native=native)
    extraction = source.extract(TableSpec(table, key, None, {}), {})
    run = "native" if native else "cursor"
    return LandingZone(landing).land_table(source_key, table, run, extraction).rows


def _pandas(city: Path, landing: Path) -> int:
    import pandas as pd
    import sqlalchemy as sa

    engine = sa.create_engine(f"sqlite:///{persons_database(city)}")
    frame = pd.read_sql(f"select * from {TABLE[1]}", engine)
    landing.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(landing / "pandas.parquet")
    return len(frame)


def run(rows: int, rounds: int) -> list[dict]:
    scale = rows / 12_600_574
    with tempfile.TemporaryDirectory() as directory:
        city, landing = Path(directory) / "city", Path(directory) / "landing"
        measure(_simulate, city, scale)
        results = measure_rounds(
            {
                "native": Approach(
                    land_persons, lambda n: (persons_database(city), landing / f"native-{n}", True), OURS
                ),
                "cursor": Approach(
                    land_persons, lambda n: (persons_database(city), landing / f"cursor-{n}", False), OURS
                ),
                "alternative": Approach(_pandas, lambda n: (city, landing / f"pandas-{n}"), PANDAS),
            },
            rounds,
        )
    native, cursor, alternative = results["native"], results["cursor"], results["alternative"]
    for result in (native, cursor):
        result["speedup"] = versus(result, alternative)
    return [
        {"benchmark": "extract sql (SQLite)", "approach": "SqlSource, DuckDB scanner", **native},
        {"benchmark": "extract sql (SQLite)", "approach": "SqlSource, SQLAlchemy cursor", **cursor},
        {"benchmark": "extract sql (SQLite)", "approach": "pandas.read_sql + to_parquet", **alternative},
    ]
