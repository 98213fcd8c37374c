"""Extracting at city scale: ten times the rows must not take ten times the memory.

Zhengzhou's household register holds about 12.6 million persons, and a connector is to land such a
table holding only a few batches. The persons table of the benchmark's city is copied ``COPIES`` times
over with fresh keys into a second SQLite file (the same values, so the same widths, which is what
memory depends on) and exported from there as a GB18030 CSV drop. Each path then lands the table at
both sizes, each run in a fresh process: its peak RSS at ten times the rows is reported beside the
one at the benchmark's size. One round per size (memory does not drift as time does). pandas is left
out: it holds the whole table, about 2 GB at the benchmark's size, so some 20 GB at the city's.
"""

from __future__ import annotations

import os
import re
import sqlite3
import tempfile
from pathlib import Path

from bench import extract, file_drop
from bench.measure import measure

COPIES = 10
TABLE = "persons"
KEY = "person_id"


def replicate(source: Path, target: Path, copies: int) -> int:
    """``persons`` of ``source`` ``copies`` times over in a new SQLite file, the n-th copy's keys shifted by
    n times the largest key (so every key is unique), without its foreign keys (the tables they name stay
    behind, and reflecting a reference to a missing table fails); returns the rows written."""
    with sqlite3.connect(target) as connection:
        connection.execute("attach database ? as source", (str(source),))
        (ddl,) = connection.execute("select sql from source.sqlite_master where name = ?", (TABLE,)).fetchone()
        connection.execute(re.sub(r"\s+REFERENCES\s+\w+\s*\([^)]*\)", "", ddl, flags=re.IGNORECASE))
        columns = [row[1] for row in connection.execute(f"pragma source.table_info({TABLE})")]
        others = ", ".join(column for column in columns if column != KEY)
        (top,) = connection.execute(f"select max({KEY}) from source.{TABLE}").fetchone()
        for copy in range(copies):
            connection.execute(
                f"insert into main.{TABLE} ({KEY}, {others}) select {KEY} + ?, {others} from source.{TABLE}",
                (copy * top,),
            )
        (rows,) = connection.execute(f"select count(*) from main.{TABLE}").fetchone()
    return rows


def _prepare(city: Path, rows: int) -> int:
    """The city, its persons ``COPIES`` times over, and both sizes as drops; returns the larger row count."""
    from citybase.simulator import simulate

    simulate(city, scale=rows / 12_600_574, seed=1)
    persons = extract.persons_database(city)
    large = replicate(persons, city / "persons_large.sqlite", COPIES)
    file_drop.export_gb18030(persons, city / "drop_small")
    file_drop.export_gb18030(city / "persons_large.sqlite", city / "drop_large")
    os.sync()  # gigabytes written back while a path is measured would take its CPU
    return large


def run(rows: int, _rounds: int) -> list[dict]:
    with tempfile.TemporaryDirectory() as directory:
        city, landing = Path(directory) / "city", Path(directory) / "landing"
        measure(_prepare, city, rows)
        databases = {"small": extract.persons_database(city), "large": city / "persons_large.sqlite"}
        paths = {
            "SqlSource, DuckDB scanner (SQLite)": lambda size: measure(
                extract.land_persons, databases[size], landing / f"native-{size}", True, imports=extract.OURS
            ),
            "SqlSource, SQLAlchemy cursor (SQLite)": lambda size: measure(
                extract.land_persons, databases[size], landing / f"cursor-{size}", False, imports=extract.OURS
            ),
            "FileDropSource (GB18030 CSV)": lambda size: measure(
                file_drop.land_drop, city / f"drop_{size}", landing / f"drop-{size}", imports=file_drop.OURS
            ),
        }
        results = []
        for approach, measured in paths.items():
            small, large = measured("small"), measured("large")
            memory = large["peak_rss_mib"] / small["peak_rss_mib"]
            growth = f"{large['rows'] / small['rows']:.0f}x rows: {memory:.2f}x memory"
            for result in (small, large):
                result["runs_seconds"] = [round(result["seconds"], 2)]
            results += [
                {"benchmark": f"city scale, {small['rows']:,} rows", "approach": approach, **small},
                {"benchmark": f"city scale, {large['rows']:,} rows", "approach": approach, **large, "speedup": growth},
            ]
    return results
