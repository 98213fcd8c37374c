"""The GeoJSON connector vs the obvious alternatives, side by side.

``GeoJsonSource`` against ``json.load`` + shapely + pandas, and against DuckDB's ``ST_Read`` (GDAL,
from the spatial wheel), the DuckDB-native reader: fast, but it types the properties (``236.30`` lands
as the double 236.3) and refuses a whole file for one bad feature, so the connector does not use it.
All land Parquet. The city is simulated once, in a child process. Our exports are one feature per line,
which the connector's fast reader takes, in segments by one process per CPU; it also runs in one process,
to show what the segments bring. The same layer with its feature lines indented shows its general reader,
which any other layout gets (in segments too: each starts at an indented feature line).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from bench.measure import Approach, measure, measure_rounds, versus

# imported before the clock starts
OURS = ("connectors.geojson", "connectors.landing", "connectors.registry")
PANDAS = ("pandas", "shapely", "pyarrow.parquet")
ST_READ = ("duckdb", "citybase.duckdb_extensions", "pyarrow.parquet")


def _simulate(city: Path, scale: float) -> int:
    from citybase.simulator import simulate

    return simulate(city, scale=scale, seed=1).counts["natural_resources/land_planning/buildings"]


def _ours(directory: Path, landing: Path, workers: int | None = None) -> int:
    from connectors.geojson import GeoJsonSource
    from connectors.landing import LandingZone
    from connectors.registry import TableSpec

    source = GeoJsonSource("natural_resources/land_planning", directory, workers=workers)
    table = TableSpec("buildings", ("building_id",), None, {}, {"file": "buildings.geojson"})
    return LandingZone(landing).land_table(source.name, table.name, "geo", source.extract(table, {})).rows


def _indented(directory: Path, target: Path) -> Path:
    """A copy of the buildings layer whose feature lines are indented: no longer what the fast reader takes."""
    target.mkdir(parents=True)
    with (directory / "buildings.geojson").open("rb") as source, (target / "buildings.geojson").open("wb") as copy:
        copy.writelines(b"  " + line if line.startswith(b'{"type":"Feature",') else line for line in source)
    return target


def _pandas(directory: Path, landing: Path) -> int:
    import pandas as pd
    import shapely

    with (directory / "buildings.geojson").open(encoding="utf-8") as handle:
        features = json.load(handle)["features"]
    frame = pd.DataFrame.from_records([f["properties"] for f in features]).astype(str)
    frame["geometry"] = shapely.to_wkb(shapely.from_geojson([json.dumps(f["geometry"]) for f in features]))
    landing.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(landing / "geojson-pandas.parquet")
    return len(frame)


def _st_read(directory: Path, landing: Path) -> int:
    import duckdb

    from citybase.duckdb_extensions import load_extension

    connection = duckdb.connect()
    load_extension(connection, "spatial")
    landing.mkdir(parents=True, exist_ok=True)
    source, target = directory / "buildings.geojson", landing / "geojson-st_read.parquet"
    query = (
        "select * exclude (geom), ST_AsWKB(geom) as geometry, ST_IsValid(geom) as geometry_valid"
        f" from ST_Read('{source}')"
    )
    connection.execute(f"copy ({query}) to '{target}' (format parquet)")
    return connection.execute(f"select count(*) from '{target}'").fetchone()[0]


def run(rows: int, rounds: int) -> list[dict]:
    with tempfile.TemporaryDirectory() as directory:
        city, landing = Path(directory) / "city", Path(directory) / "landing"
        measure(_simulate, city, rows / 12_600_574)
        planning = city / "natural_resources" / "land_planning"
        indented = _indented(planning, Path(directory) / "indented")
        results = measure_rounds(
            {
                "ours": Approach(_ours, lambda n: (planning, landing / f"ours-{n}"), OURS),
                "one_process": Approach(_ours, lambda n: (planning, landing / f"one-{n}", 1), OURS),
                "general": Approach(_ours, lambda n: (indented, landing / f"indented-{n}"), OURS),
                "alternative": Approach(_pandas, lambda n: (planning, landing / f"pandas-{n}"), PANDAS),
                "st_read": Approach(_st_read, lambda n: (planning, landing / f"st_read-{n}"), ST_READ),
            },
            rounds,
        )
    ours, one_process, general, alternative, st_read = (
        results[k] for k in ("ours", "one_process", "general", "alternative", "st_read")
    )
    for result in (ours, one_process, general, st_read):
        result["speedup"] = versus(result, alternative)
    return [
        {"benchmark": "extract geojson (buildings)", "approach": "GeoJsonSource", **ours},
        {"benchmark": "extract geojson (buildings)", "approach": "GeoJsonSource, one process", **one_process},
        {"benchmark": "extract geojson (buildings)", "approach": "GeoJsonSource, lines indented", **general},
        {"benchmark": "extract geojson (buildings)", "approach": "json.load + shapely + pandas", **alternative},
        {"benchmark": "extract geojson (buildings)", "approach": "DuckDB ST_Read, lossy (not used)", **st_read},
    ]
