"""Landing a GB18030 CSV drop: FileDropSource vs pandas.read_csv, side by side.

The drop is the household registry's persons table exported as one GB18030 CSV (a department's
typical bulk export), so the row count matches the SQL benchmark. FileDropSource runs twice: as
deployed (GB18030 decoded by the C library's iconv(3)) and as without it (Python's codec decodes).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.measure import Approach, measure, measure_rounds, versus

OURS = ("connectors.file_drop", "connectors.landing", "connectors.registry", "pyarrow.csv")  # before the clock
PANDAS = ("pandas", "pyarrow.parquet")
TRANSCODE_CHARS = 1 << 24


def _export(city: Path, drop: Path, rows: int) -> int:
    from citybase.simulator import simulate

    result = simulate(city, scale=rows / 12_600_574, seed=1)
    export_gb18030(city / "public_security" / "hukou.sqlite", drop)
    return result.counts["public_security/hukou/persons"]


def export_gb18030(database: Path, drop: Path) -> None:
    """The ``persons`` table of a SQLite file as ``<drop>/persons.csv``, GB18030 with a header: written by
    DuckDB as UTF-8, then re-encoded a few million characters at a time."""
    import duckdb

    from citybase.duckdb_extensions import load_extension, sql_literal

    drop.mkdir(parents=True, exist_ok=True)
    utf8 = drop / "persons.utf-8.tmp"
    with duckdb.connect() as connection:
        load_extension(connection, "sqlite_scanner")
        persons = f"select * from sqlite_scan({sql_literal(database)}, 'persons')"
        connection.execute(f"copy ({persons}) to {sql_literal(utf8)} (header)")
    with (
        utf8.open(encoding="utf-8", newline="") as source,
        (drop / "persons.csv").open("w", encoding="gb18030", newline="") as target,
    ):
        while text := source.read(TRANSCODE_CHARS):
            target.write(text)
    utf8.unlink()


def land_drop(drop: Path, landing: Path, iconv: bool = True) -> int:
    import connectors.file_drop

    if not iconv:  # this child process only: as on a system without iconv(3)
        connectors.file_drop._iconv_differences = lambda: None

    from connectors.file_drop import FileDropSource
    from connectors.landing import LandingZone
    from connectors.registry import TableSpec

    source = FileDropSource("public_security/hukou_export", drop)
    table = TableSpec("persons", ("person_id",), None, {}, {"pattern": "persons.csv", "format": "csv"})
    extraction = source.extract(table, {})
    run = "iconv" if iconv else "python"
    landing_row = LandingZone(landing).land_table(source.name, "persons", run, extraction)
    assert not extraction.rejections
    return landing_row.rows


def _pandas(drop: Path, landing: Path) -> int:
    import pandas as pd

    frame = pd.read_csv(drop / "persons.csv", encoding="gb18030", dtype=str)
    landing.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(landing / "pandas.parquet")
    return len(frame)


def run(rows: int, rounds: int) -> list[dict]:
    with tempfile.TemporaryDirectory() as directory:
        city, drop, landing = (Path(directory) / name for name in ("city", "drop", "landing"))
        measure(_export, city, drop, rows)
        results = measure_rounds(
            {
                "ours": Approach(land_drop, lambda n: (drop, landing / f"iconv-{n}"), OURS),
                "without_iconv": Approach(land_drop, lambda n: (drop, landing / f"python-{n}", False), OURS),
                "alternative": Approach(_pandas, lambda n: (drop, landing / f"pandas-{n}"), PANDAS),
            },
            rounds,
        )
    ours, without_iconv, alternative = results["ours"], results["without_iconv"], results["alternative"]
    for result in (ours, without_iconv):
        result["speedup"] = versus(result, alternative)
    return [
        {"benchmark": "extract file drop (GB18030 CSV)", "approach": "FileDropSource", **ours},
        {"benchmark": "extract file drop (GB18030 CSV)", "approach": "FileDropSource, no iconv", **without_iconv},
        {"benchmark": "extract file drop (GB18030 CSV)", "approach": "pandas.read_csv + to_parquet", **alternative},
    ]
