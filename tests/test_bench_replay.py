"""The REST benchmark's replay server answers each cursor with the page the live API gave for it."""

from __future__ import annotations

import httpx

from bench.replay_server import page_file, record, replaying
from bench.rest import _ours, _pandas, _server_alone, page_size
from citybase.simulator.api_server import MAX_PAGE_SIZE, start_api_server
from connectors.registry import TableSpec
from connectors.rest import RestSource
from tests.test_api_server import make_city

DEBTORS = TableSpec("dishonest_debtors", ("case_id",), None, {}, {"endpoint": "dishonest_debtors/dishonest_debtors"})


def _land(url: str, token: str) -> list[dict]:
    source = RestSource("courts/dishonest_debtors", url, token, page_size=100)
    try:
        return [row for batch in source.extract(DEBTORS, {}).batches for row in batch.to_pylist()]
    finally:
        source.close()


def test_replayed_pages_are_the_recorded_ones_and_land_the_same_rows(tmp_path):
    city = make_city(tmp_path / "city")
    pages = tmp_path / "pages"
    with start_api_server(city.root, rate_limit=10_000) as server:
        recorded = record(server.api_url, server.token, DEBTORS.options["endpoint"], 100, pages)
        live = _land(server.api_url, server.token)
    assert recorded == -(-len(live) // 100) > 1
    with replaying(pages) as url:
        assert _land(url, "any token") == live
        first = httpx.get(f"{url}/anything", params={"page_size": 100})
        assert first.content == page_file(pages, "").read_bytes()
        assert httpx.get(f"{url}/anything", params={"cursor": "never-issued"}).status_code == 404


def test_insured_persons_are_read_in_the_largest_pages_the_rate_limited_api_gives():
    """The registry's page size, which the benchmark measures too: under a limit on requests, the largest."""
    assert page_size() == MAX_PAGE_SIZE


def test_every_side_of_the_benchmark_reads_the_whole_endpoint_over_many_pages(tmp_path):
    city = make_city(tmp_path / "city")
    with start_api_server(city.root, rate_limit=10_000) as server:
        url, token = server.api_url, server.token
        counts = [side(url, token, tmp_path / side.__name__, 100) for side in (_ours, _pandas, _server_alone)]
    assert counts[0] > 100  # more than one page
    assert counts == [counts[0]] * 3
