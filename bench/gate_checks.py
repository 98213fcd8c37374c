"""The gate's ID-number check: pushed into DuckDB as SQL (ours) vs read into pandas and checked in Python."""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import sqlalchemy as sa

from bench.measure import Approach, measure, measure_rounds, versus
from citybase.codes import id_number_check_char, id_number_problem
from citybase.quality.code_conditions import id_number_is_valid


def _make_warehouse(path: Path, rows: int) -> int:
    """``rows`` ID numbers, 1 % with a wrong check character, built vectorised."""
    rng = np.random.default_rng(7)
    days = rng.integers(0, 36_000, rows)
    births = (np.datetime64("1925-01-01") + days.astype("timedelta64[D]")).astype(str)
    bodies = [
        f"4101{area:02d}{birth.replace('-', '')}{seq:03d}"
        for area, birth, seq in zip(rng.integers(2, 9, rows), births, rng.integers(0, 1000, rows), strict=True)
    ]
    ids = [b + id_number_check_char(b) for b in bodies]
    for i in rng.choice(rows, rows // 100, replace=False):
        ids[i] = ids[i][:17] + ("0" if ids[i][17] != "0" else "1")
    with duckdb.connect(str(path)) as connection:
        connection.execute("create table population as select * from (select unnest(?) as id_number)", [ids])
    return rows


def _pushed_down(path: Path) -> int:
    engine = sa.create_engine(f"duckdb:///{path}")
    column = sa.column("id_number", sa.String)
    query = sa.select(sa.func.count(), sa.func.count().filter(sa.not_(id_number_is_valid(column)))).select_from(
        sa.table("population", column)
    )
    with engine.connect() as connection:
        rows, invalid = connection.execute(query).one()
    assert invalid > 0
    return rows


def _pandas(path: Path) -> int:
    engine = sa.create_engine(f"duckdb:///{path}")
    with engine.connect() as connection:
        frame = pd.read_sql("select id_number from population", connection)
    invalid = frame["id_number"].map(lambda v: id_number_problem(v) is not None).sum()
    assert invalid > 0
    return len(frame)


def run(rows: int, rounds: int) -> list[dict]:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "warehouse.duckdb"
        measure(_make_warehouse, path, rows)  # in a child, so the data never inflates this process
        results = measure_rounds(
            {"ours": Approach(_pushed_down, lambda _n: (path,)), "alternative": Approach(_pandas, lambda _n: (path,))},
            rounds,
        )
    ours, alternative = results["ours"], results["alternative"]
    ours["speedup"] = versus(ours, alternative)
    return [
        {"benchmark": "gate ID check", "approach": "SQL in DuckDB (GX push-down)", **ours},
        {"benchmark": "gate ID check", "approach": "pandas.read_sql + Python", **alternative},
    ]
