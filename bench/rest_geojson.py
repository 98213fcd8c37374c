"""The REST and GeoJSON connectors vs the obvious alternatives, side by side.

REST: ``RestSource`` against a hand-written loop of httpx page requests into a pandas DataFrame.
GeoJSON: ``GeoJsonSource`` against ``json.load`` + shapely + pandas, and against DuckDB's ``ST_Read``
(GDAL, from the spatial wheel), the DuckDB-native reader: fast, but it types the properties (``236.30``
lands as the double 236.3) and refuses a whole file for one bad feature, so the connector does not use
it. All land Parquet. The city is
simulated once, in a child process; the API server runs with a generous rate limit so the client,
not the throttle, is measured.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from bench.measure import measure, versus

# imported before the clock starts
REST_OURS = ("connectors.landing", "connectors.registry", "connectors.rest")
REST_PANDAS = ("httpx", "pandas", "pyarrow.parquet")
GEOJSON_OURS = ("connectors.geojson", "connectors.landing", "connectors.registry")
GEOJSON_PANDAS = ("pandas", "shapely", "pyarrow.parquet")
ST_READ = ("duckdb", "citybase.duckdb_extensions", "pyarrow.parquet")

PAGE = 5000


def _simulate(city: Path, scale: float) -> int:
    from citybase.simulator import simulate

    return simulate(city, scale=scale, seed=1).counts["natural_resources/land_planning/buildings"]


def _rest_ours(url: str, token: str, landing: Path) -> int:
    from connectors.landing import LandingZone
    from connectors.registry import TableSpec
    from connectors.rest import RestSource

    source = RestSource("hr_social_security/social_insurance", url, token, page_size=PAGE)
    table = TableSpec("insured_persons", ("insured_id",), None, {}, {"endpoint": "social_insurance/insured_persons"})
    return LandingZone(landing).land_table(source.name, table.name, "rest", source.extract(table, {})).rows


def _rest_pandas(url: str, token: str, landing: Path) -> int:
    import httpx
    import pandas as pd

    records, cursor = [], None
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        while True:
            params = {"page_size": PAGE, **({"cursor": cursor} if cursor else {})}
            page = client.get(f"{url}/social_insurance/insured_persons", params=params).raise_for_status().json()
            records += page["data"]
            cursor = page.get("next_cursor")
            if not cursor:
                break
    frame = pd.DataFrame.from_records(records)
    landing.mkdir(parents=True, exist_ok=True)
    frame.astype(str).to_parquet(landing / "rest-pandas.parquet")
    return len(frame)


def _geojson_ours(directory: Path, landing: Path) -> int:
    from connectors.geojson import GeoJsonSource
    from connectors.landing import LandingZone
    from connectors.registry import TableSpec

    source = GeoJsonSource("natural_resources/land_planning", directory)
    table = TableSpec("buildings", ("building_id",), None, {}, {"file": "buildings.geojson"})
    return LandingZone(landing).land_table(source.name, table.name, "geo", source.extract(table, {})).rows


def _geojson_pandas(directory: Path, landing: Path) -> int:
    import pandas as pd
    import shapely

    with (directory / "buildings.geojson").open(encoding="utf-8") as handle:
        features = json.load(handle)["features"]
    frame = pd.DataFrame.from_records([f["properties"] for f in features]).astype(str)
    frame["geometry"] = shapely.to_wkb(shapely.from_geojson([json.dumps(f["geometry"]) for f in features]))
    landing.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(landing / "geojson-pandas.parquet")
    return len(frame)


def _geojson_st_read(directory: Path, landing: Path) -> int:
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


def run(rows: int) -> list[dict]:
    from citybase.simulator.api_server import start_api_server

    results = []
    with tempfile.TemporaryDirectory() as directory:
        city, landing = Path(directory) / "city", Path(directory) / "landing"
        measure(_simulate, city, rows / 12_600_574)
        with start_api_server(city, rate_limit=10_000) as server:
            ours = measure(_rest_ours, server.api_url, server.token, landing, imports=REST_OURS)
            alternative = measure(_rest_pandas, server.api_url, server.token, landing, imports=REST_PANDAS)
        ours["speedup"] = versus(ours, alternative)
        results += [
            {"benchmark": "extract rest (insured persons)", "approach": "RestSource", **ours},
            {"benchmark": "extract rest (insured persons)", "approach": "httpx pages + pandas", **alternative},
        ]
        planning = city / "natural_resources" / "land_planning"
        ours = measure(_geojson_ours, planning, landing, imports=GEOJSON_OURS)
        alternative = measure(_geojson_pandas, planning, landing, imports=GEOJSON_PANDAS)
        st_read = measure(_geojson_st_read, planning, landing, imports=ST_READ)
        for result in (ours, st_read):
            result["speedup"] = versus(result, alternative)
        results += [
            {"benchmark": "extract geojson (buildings)", "approach": "GeoJsonSource", **ours},
            {"benchmark": "extract geojson (buildings)", "approach": "json.load + shapely + pandas", **alternative},
            {"benchmark": "extract geojson (buildings)", "approach": "DuckDB ST_Read, lossy (not used)", **st_read},
        ]
    return results
