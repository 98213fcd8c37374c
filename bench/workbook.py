"""Landing monthly XLSX workbooks: FileDropSource vs pandas.read_excel, side by side.

The workbooks are the tax bureau's monthly credit ratings as the simulator drops them (three months,
title rows above the header). FileDropSource runs twice: as deployed (calamine loads each sheet) and as
for a sheet too large to load or holding an error cell (openpyxl streams it). The alternative is pandas'
default reader for ``.xlsx``, openpyxl; pandas announces calamine as its next default, so pandas with
calamine is measured too.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.measure import Approach, measure, measure_rounds, versus

# Imported before the clock starts, with what a library imports on first use: pyarrow imports pandas the first
# time it converts Python values (about a second, once per process, whatever the data's size).
OURS = ("connectors.file_drop", "connectors.landing", "connectors.registry", "openpyxl", "python_calamine", "pandas")
PANDAS = ("pandas", "openpyxl", "python_calamine", "pyarrow.parquet")
PATTERN = "taxpayer_credit_*.xlsx"
HEADER_ROW = 3  # a title and a cut-off date above the header


def _simulate(city: Path, rows: int) -> int:
    from citybase.simulator import simulate

    return simulate(city, scale=rows / 12_600_574, seed=1).counts["tax/credit_ratings/taxpayer_credit"]


def _ours(drop: Path, landing: Path, streamed: bool = False) -> int:
    import connectors.file_drop

    if streamed:  # this child process only: every sheet too large to load, so openpyxl streams them all
        connectors.file_drop.LOADED_SHEET_MAX_BYTES = 0

    from connectors.file_drop import FileDropSource
    from connectors.landing import LandingZone
    from connectors.registry import TableSpec

    source = FileDropSource("tax/credit_ratings", drop)
    options = {"pattern": PATTERN, "format": "xlsx", "header_row": HEADER_ROW}
    table = TableSpec("taxpayer_credit", ("_source_file", "纳税人识别号"), None, {}, options)
    extraction = source.extract(table, {})
    landed = LandingZone(landing).land_table(source.name, table.name, "bench", extraction)
    assert not extraction.rejections
    return landed.rows


def _pandas(drop: Path, landing: Path, engine: str = "openpyxl") -> int:
    import pandas as pd

    frames = [
        pd.read_excel(path, header=HEADER_ROW - 1, dtype=str, engine=engine).assign(_source_file=path.name)
        for path in sorted(drop.glob(PATTERN))
    ]
    frame = pd.concat(frames, ignore_index=True)
    landing.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(landing / "pandas.parquet")
    return len(frame)


def run(rows: int, rounds: int) -> list[dict]:
    with tempfile.TemporaryDirectory() as directory:
        city, landing = Path(directory) / "city", Path(directory) / "landing"
        measure(_simulate, city, rows)
        drop = city / "tax" / "credit_ratings"
        results = measure_rounds(
            {
                "ours": Approach(_ours, lambda n: (drop, landing / f"ours-{n}"), OURS),
                "streamed": Approach(_ours, lambda n: (drop, landing / f"streamed-{n}", True), OURS),
                "alternative": Approach(_pandas, lambda n: (drop, landing / f"pandas-{n}"), PANDAS),
                "calamine": Approach(_pandas, lambda n: (drop, landing / f"calamine-{n}", "calamine"), PANDAS),
            },
            rounds,
        )
    ours, streamed, alternative, calamine = (results[name] for name in ("ours", "streamed", "alternative", "calamine"))
    for result in (ours, streamed, calamine):
        result["speedup"] = versus(result, alternative)
    benchmark = "extract file drop (XLSX workbooks)"
    return [
        {"benchmark": benchmark, "approach": "FileDropSource (calamine)", **ours},
        {"benchmark": benchmark, "approach": "FileDropSource, openpyxl streaming", **streamed},
        {"benchmark": benchmark, "approach": "pandas.read_excel + to_parquet", **alternative},
        {"benchmark": benchmark, "approach": "pandas.read_excel (calamine) + to_parquet", **calamine},
    ]
