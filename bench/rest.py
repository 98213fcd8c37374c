"""The REST connector vs the obvious alternative, side by side.

``RestSource`` against a hand-written loop of httpx page requests into a pandas DataFrame, both
landing Parquet. The city is simulated once, in a child process; the API server runs with a generous
rate limit so the client, not the throttle, is measured. A third row is the ceiling both share: the
same pages fetched and thrown away (each request needs the previous page's cursor, so no client can
go faster than the server answers one page after another).

That server is Python building each page from SQLite, on the same two cores as the client, so it sets
the pace. The same three are then run again against the pages recorded and replayed by a server that
only reads files (``bench.replay_server``), as a department's server on its own hardware would leave
them: what the clients themselves can do.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.measure import Approach, measure, measure_rounds, versus
from bench.replay_server import record, replaying, walk

# Imported before the clock starts, with what a library imports on first use (httpx imports httpcore when a
# client is made): imports cost the same whatever the data's size, and left in the clock swamp a small run.
OURS = ("connectors.landing", "connectors.registry", "connectors.rest")
PANDAS = ("httpx", "httpcore", "pandas", "pyarrow.parquet")
SERVER = ("httpx", "httpcore", "msgspec")
SOURCE, TABLE, ENDPOINT = "hr_social_security/social_insurance", "insured_persons", "social_insurance/insured_persons"


def _simulate(city: Path, scale: float) -> int:
    from citybase.simulator import simulate

    return simulate(city, scale=scale, seed=1).counts["hr_social_security/social_insurance/insured_persons"]


def page_size() -> int:
    """The page size the registry reads the endpoint with: the benchmark measures the pipeline as configured."""
    from connectors.registry import get_source

    (table,) = (t for t in get_source(SOURCE).tables if t.name == TABLE)
    return int(table.options["page_size"])


def _ours(url: str, token: str, landing: Path, page_rows: int) -> int:
    from connectors.landing import LandingZone
    from connectors.registry import TableSpec
    from connectors.rest import RestSource

    source = RestSource(SOURCE, url, token, page_size=page_rows)
    table = TableSpec(TABLE, ("insured_id",), None, {}, {"endpoint": ENDPOINT})
    return LandingZone(landing).land_table(source.name, table.name, "rest", source.extract(table, {})).rows


def _pandas(url: str, token: str, landing: Path, page_rows: int) -> int:
    import httpx
    import pandas as pd

    records, cursor = [], None
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        while True:
            params = {"page_size": page_rows, **({"cursor": cursor} if cursor else {})}
            page = client.get(f"{url}/{ENDPOINT}", params=params).raise_for_status().json()
            records += page["data"]
            cursor = page.get("next_cursor")
            if not cursor:
                break
    frame = pd.DataFrame.from_records(records)
    landing.mkdir(parents=True, exist_ok=True)
    frame.astype(str).to_parquet(landing / "rest-pandas.parquet")
    return len(frame)


def _server_alone(url: str, token: str, _landing: Path, page_rows: int) -> int:
    """Every page fetched and dropped: only its cursor is read."""
    # each record opens with its key (the server's column order)
    return sum(body.count(b'{"insured_id":') for _, body in walk(url, token, ENDPOINT, page_rows))


def run(rows: int, rounds: int) -> list[dict]:
    from citybase.simulator.api_server import start_api_server

    page_rows = page_size()
    with tempfile.TemporaryDirectory() as directory:
        city, landing, pages = Path(directory) / "city", Path(directory) / "landing", Path(directory) / "pages"
        measure(_simulate, city, rows / 12_600_574)
        with start_api_server(city, rate_limit=10_000) as server:
            url, token = server.api_url, server.token
            live = _rounds(url, token, landing / "live", rounds, page_rows)
            record(url, token, ENDPOINT, page_rows, pages)
        with replaying(pages) as replay_url:
            replayed = _rounds(replay_url, token, landing / "replayed", rounds, page_rows)
    return [
        *_rows("extract rest (insured persons)", live),
        *_rows("extract rest (insured persons), pages replayed", replayed),
    ]


def _rounds(url: str, token: str, landing: Path, rounds: int, page_rows: int) -> dict[str, dict]:
    return measure_rounds(
        {
            "ours": Approach(_ours, lambda n: (url, token, landing / f"ours-{n}", page_rows), OURS),
            "alternative": Approach(_pandas, lambda n: (url, token, landing / f"pandas-{n}", page_rows), PANDAS),
            "ceiling": Approach(_server_alone, lambda n: (url, token, landing / f"none-{n}", page_rows), SERVER),
        },
        rounds,
    )


def _rows(benchmark: str, results: dict[str, dict]) -> list[dict]:
    ours, alternative, ceiling = results["ours"], results["alternative"], results["ceiling"]
    pace = "{:.0%} of server alone".format
    ours["speedup"] = f"{versus(ours, alternative)}; {pace(ours['rows_per_s'] / ceiling['rows_per_s'])}"
    alternative["speedup"] = pace(alternative["rows_per_s"] / ceiling["rows_per_s"])
    return [
        {"benchmark": benchmark, "approach": "RestSource", **ours},
        {"benchmark": benchmark, "approach": "httpx pages + pandas", **alternative},
        {"benchmark": benchmark, "approach": "server alone: fetch, discard", **ceiling},
    ]
