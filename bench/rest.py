"""The REST connector vs the obvious alternative, side by side.

``RestSource`` against a hand-written loop of httpx page requests into a pandas DataFrame, both
landing Parquet. The city is simulated once, in a child process; the API server runs with a generous
rate limit so the client, not the throttle, is measured.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.measure import measure, versus

OURS = ("connectors.landing", "connectors.registry", "connectors.rest")  # imported before the clock starts
PANDAS = ("httpx", "pandas", "pyarrow.parquet")
PAGE = 5000


def _simulate(city: Path, scale: float) -> int:
    from citybase.simulator import simulate

    return simulate(city, scale=scale, seed=1).counts["hr_social_security/social_insurance/insured_persons"]


def _ours(url: str, token: str, landing: Path) -> int:
    from connectors.landing import LandingZone
    from connectors.registry import TableSpec
    from connectors.rest import RestSource

    source = RestSource("hr_social_security/social_insurance", url, token, page_size=PAGE)
    table = TableSpec("insured_persons", ("insured_id",), None, {}, {"endpoint": "social_insurance/insured_persons"})
    return LandingZone(landing).land_table(source.name, table.name, "rest", source.extract(table, {})).rows


def _pandas(url: str, token: str, landing: Path) -> int:
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


def run(rows: int) -> list[dict]:
    from citybase.simulator.api_server import start_api_server

    with tempfile.TemporaryDirectory() as directory:
        city, landing = Path(directory) / "city", Path(directory) / "landing"
        measure(_simulate, city, rows / 12_600_574)
        with start_api_server(city, rate_limit=10_000) as server:
            ours = measure(_ours, server.api_url, server.token, landing, imports=OURS)
            alternative = measure(_pandas, server.api_url, server.token, landing, imports=PANDAS)
    ours["speedup"] = versus(ours, alternative)
    return [
        {"benchmark": "extract rest (insured persons)", "approach": "RestSource", **ours},
        {"benchmark": "extract rest (insured persons)", "approach": "httpx pages + pandas", **alternative},
    ]
