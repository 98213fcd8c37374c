"""Bad input never crashes a run and never loses a row: every record each simulated system offers, all
its dirt included (wrong encoding, truncated file, renamed column, invalid geometry, duplicates, ...),
ends either landed or rejected with its file, row and rule. Counted independently of the connectors."""

from __future__ import annotations

import codecs
import csv
import io
import json
import sqlite3
from pathlib import Path

import openpyxl
import pytest

from citybase.simulator import simulate
from citybase.simulator.api_server import start_api_server
from connectors.extract import extract_source
from connectors.registry import load_registry

SOURCES = {source.key: source for source in load_registry()}


@pytest.fixture(scope="module")
def landed(tmp_path_factory):
    city, landing = tmp_path_factory.mktemp("city"), tmp_path_factory.mktemp("landing")
    simulate(city, scale=0.002, seed=21)
    with start_api_server(city, rate_limit=10_000):
        manifests = {key: extract_source(source, "r1", city_dir=city, landing_dir=landing) for key, source in
                     SOURCES.items()}  # fmt: skip
    return city, manifests


def _decoded(raw: bytes) -> str:
    """The text as its department meant it: UTF-8 (with or without a BOM), else GB18030."""
    try:
        return raw.removeprefix(codecs.BOM_UTF8).decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("gb18030")


def _records_in_csv(path: Path) -> int:
    """Data records after the header; a final record cut short still counts as one offered."""
    rows = list(csv.reader(io.StringIO(_decoded(path.read_bytes()), newline="")))
    return sum(1 for row in rows[1:] if any(cell.strip() for cell in row))


def _records_in_workbook(path: Path, header_row: int) -> int:
    workbook = openpyxl.load_workbook(path, read_only=True)
    try:
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(min_row=header_row + 1, values_only=True)
        return sum(1 for row in rows if any(v is not None and str(v).strip() for v in row))
    finally:
        workbook.close()


def source_is_a_database(key: str) -> bool:
    return SOURCES[key].kind in {"sql", "rest"}


def _offered(city: Path, key: str, table) -> int:
    """How many records the system offers for ``table``, read without the connectors."""
    source = SOURCES[key]
    department, system = key.split("/")
    if source_is_a_database(key):  # a SQL system, or the store behind an API
        with sqlite3.connect(city / department / f"{system}.sqlite") as connection:
            return connection.execute(f'select count(*) from "{table.name}"').fetchone()[0]
    folder = city / department / system
    if source.kind == "geojson":
        return len(json.loads((folder / table.options["file"]).read_text("utf-8"))["features"])
    files = sorted(folder.glob(table.options["pattern"]))
    if table.options["format"] == "xlsx":
        return sum(_records_in_workbook(f, table.options["header_row"]) for f in files)
    return sum(_records_in_csv(f) for f in files)


@pytest.mark.parametrize(
    ("key", "table"),
    [pytest.param(key, table, id=f"{key}/{table.name}") for key, source in SOURCES.items() for table in source.tables],
)
def test_every_offered_record_is_landed_or_rejected_with_its_place_and_rule(landed, key, table):
    city, manifests = landed
    landing = manifests[key].tables[table.name]
    for rejection in landing.rejections:
        assert rejection["rule"]
        assert rejection["message"]
        assert rejection["file"] or source_is_a_database(key), rejection
    rejected_rows = [r for r in landing.rejections if r["row"] is not None]
    assert landing.rows + len(rejected_rows) == _offered(city, key, table)


def test_the_city_s_dirt_is_really_offered(landed):
    """The drops carry the file-level dirt the accounting above has to survive."""
    city, manifests = landed
    truth = (city / "ground_truth" / "defects_health__vital_records.csv").read_text("utf-8")
    for kind in ("wrong_encoding", "truncated_file", "renamed_column"):
        assert kind in truth
    deaths = manifests["health/vital_records"].tables
    assert any(r["rule"] == "truncated_row" for t in deaths.values() for r in t.rejections)
