"""The air quality and bus network drops: reproducible bytes, plausible volumes, every planted defect really in
the files, stations and stops inside their divisions, and the file-drop connector landing every row."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely

from citybase.simulator.environment import POLLUTANT_COLUMNS, READING_COLUMNS, aqi, write_air_quality
from citybase.simulator.planning import division_boundaries
from citybase.simulator.population import simulate_population
from citybase.simulator.transport import MIN_LINES, RIDERSHIP_COLUMNS, TRIPS_PER_DAY, write_bus_network
from connectors.file_drop import FileDropSource
from connectors.registry import TableSpec

AS_OF = dt.date(2025, 12, 31)
DAYS, SCALE, DEFECT_RATE = 7, 0.02, 0.05
AIR = Path("environment/air_quality")
BUS = Path("transport/bus_network")
SPECS = {
    AIR: (
        TableSpec("stations", ("监测点编码",), None, {}, {"pattern": "stations.csv", "format": "csv"}),
        TableSpec("readings", ("监测点编码", "监测时间"), None, {}, {"pattern": "readings/aqi_*.csv", "format": "csv"}),
    ),
    BUS: (
        TableSpec("lines", ("线路编号",), None, {}, {"pattern": "lines.csv", "format": "csv"}),
        TableSpec("stops", ("站点编号",), None, {}, {"pattern": "stops.csv", "format": "csv"}),
        TableSpec("line_stops", ("线路编号", "站序"), None, {}, {"pattern": "line_stops.csv", "format": "csv"}),
        TableSpec(
            "ridership", ("日期", "线路编号", "站点编号"), None, {},
            {"pattern": "ridership/ridership_*.csv", "format": "csv"},
        ),
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def people():
    return simulate_population(50_000, AS_OF, seed=7)[0]


def generate(out: Path, people, seed: int = 7) -> dict:
    kwargs = dict(seed=seed, scale=SCALE, as_of=AS_OF, defect_rate=DEFECT_RATE, days=DAYS, truth_dir=out / "truth")
    return {
        "out": out,
        "air": write_air_quality(out, people, **kwargs),
        "bus": write_bus_network(out, people, **kwargs),
    }


@pytest.fixture(scope="module")
def drops(people, tmp_path_factory) -> dict:
    return generate(tmp_path_factory.mktemp("env_transport"), people)


def hashes(folder: Path) -> dict[str, str]:
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def read(path: Path, encoding: str = "utf-8-sig") -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_bytes().decode(encoding), newline="")))


def ground_truth(drops, system: str) -> list[dict]:
    return read(drops["out"] / "truth" / f"defects_{system}.csv")


def readings(drops) -> list[dict]:
    return [r for p in sorted((drops["out"] / AIR / "readings").glob("*.csv")) for r in read(p)]


def ridership(drops) -> dict[str, list[dict]]:
    return {p.name: read(p, "gb18030") for p in sorted((drops["out"] / BUS / "ridership").glob("*.csv"))}


def test_the_same_seed_gives_the_same_bytes_and_reruns_leave_no_stale_file(drops, people, tmp_path):
    again = generate(tmp_path / "again", people)
    assert hashes(again["out"]) == hashes(drops["out"])
    other = generate(tmp_path / "again", people, seed=8)  # over the first run: shifted days must not linger
    changed = hashes(other["out"])
    assert changed != hashes(drops["out"])
    missing = [
        d["record_key"] for d in ground_truth(other, "transport__bus_network") if d["defect_kind"] == "missing_file"
    ]
    assert not (tmp_path / "again" / BUS / missing[0]).exists()
    assert len(list((tmp_path / "again" / AIR / "readings").glob("*.csv"))) == DAYS


def test_volumes(drops):
    air, bus = drops["air"], drops["bus"]
    stations = air.counts["environment/air_quality/stations"]
    assert 25 <= stations <= 40
    assert len(list((drops["out"] / AIR / "readings").glob("aqi_*.csv"))) == DAYS
    missing = air.defects["missing_hour"]
    assert (
        air.counts["environment/air_quality/readings"] == stations * 24 * DAYS - missing + air.defects["duplicate_row"]
    )
    assert len(readings(drops)) == air.counts["environment/air_quality/readings"]
    assert bus.counts["transport/bus_network/lines"] >= MIN_LINES
    assert bus.counts["transport/bus_network/stops"] > 10 * MIN_LINES
    truth = pq.read_table(drops["out"] / "truth" / "bus_ridership.parquet")
    per_day = Counter()
    for date, boardings in zip(truth["date"].to_pylist(), truth["boardings"].to_pylist(), strict=True):
        per_day[date] += boardings
    for total in per_day.values():
        assert 0.7 * TRIPS_PER_DAY * SCALE < total < 1.2 * TRIPS_PER_DAY * SCALE
    files = ridership(drops)
    assert len(files) == DAYS - 1  # one day's file never arrived
    assert sum(len(rows) for rows in files.values()) == bus.counts["transport/bus_network/ridership"]


def test_readings_are_plausible_and_aqi_follows_hj_633(drops):
    truth = pq.read_table(drops["out"] / "truth" / "air_quality_readings.parquet").to_pydict()
    pm25 = np.array(truth["PM2.5"])
    assert 40 < np.median(pm25) < 200  # a Zhengzhou winter
    by_hour = Counter()
    for stamp, value in zip(truth["timestamp"], pm25, strict=True):
        by_hour[int(stamp[11:13])] += value
    assert by_hour[2] > by_hour[15]  # the mixing layer: night above mid-afternoon
    reading = {"PM2.5": 116, "PM10": 181, "O3": 9, "NO2": 35, "SO2": 6, "CO": 1.5}
    index, primary, level = aqi({p: np.array([v]) for p, v in reading.items()})
    assert (index[0], primary[0], level[0]) == (152, "PM2.5", "中度污染")  # 151 + (116-115)/(150-115)*50, rounded up
    assert aqi({p: np.array([0.0]) for p in ("PM2.5", "PM10", "O3", "NO2", "SO2", "CO")})[1][0] == "—"


def test_every_air_quality_defect_is_in_the_files(drops):
    rows = readings(drops)
    written = Counter((r["监测点编码"], r["监测时间"]) for r in rows)
    by_key = {(r["监测点编码"], r["监测时间"]): r for r in rows}
    planted = ground_truth(drops, "environment__air_quality")
    kinds = {"missing_hour", "sentinel_value", "blank_value", "duplicate_row", "timestamp_format"}
    assert {d["defect_kind"] for d in planted} == kinds
    odd_stations = {d["record_key"].split("|")[0] for d in planted if d["defect_kind"] == "timestamp_format"}
    assert len(odd_stations) == 1
    for d in planted:
        station, stamp = d["record_key"].split("|")
        kind = d["defect_kind"]
        if kind == "missing_hour":
            assert (station, stamp) not in written
        elif kind == "duplicate_row":
            assert written[(station, stamp)] == 2
        elif kind == "timestamp_format":
            assert (station, stamp) not in written
            shown, true = (part.strip("'") for part in d["detail"].split(", true "))
            assert written[(station, shown)] == 1
            assert true == stamp  # the detail names the true time as plain text
        else:
            assert d["column"] in POLLUTANT_COLUMNS
            assert by_key[(station, stamp)][d["column"]] == ("-999" if kind == "sentinel_value" else "")
    clean = [r for r in rows if r["监测点编码"] not in odd_stations]
    assert all(dt.datetime.strptime(r["监测时间"], "%Y-%m-%d %H:%M:%S") for r in clean)
    dirty = sum(1 for r in rows for c in POLLUTANT_COLUMNS if r[c] in ("", "-999"))
    assert dirty == sum(1 for d in planted if d["defect_kind"] in ("sentinel_value", "blank_value"))
    assert list(rows[0]) == list(READING_COLUMNS)


def test_every_ridership_defect_is_in_the_files(drops):
    files = ridership(drops)
    stop_ids = {r["站点编号"] for r in read(drops["out"] / BUS / "stops.csv")}
    planted = ground_truth(drops, "transport__bus_network")
    assert {d["defect_kind"] for d in planted} == {"negative_count", "orphan_stop", "duplicate_row", "missing_file"}
    rows = [r for day in files.values() for r in day]
    written = Counter((r["日期"], r["线路编号"], r["站点编号"]) for r in rows)
    by_key = {(r["日期"], r["线路编号"], r["站点编号"]): r for r in rows}
    for d in planted:
        if d["defect_kind"] == "missing_file":
            assert Path(d["record_key"]).name not in files
            continue
        key = tuple(d["record_key"].split("|"))
        if d["defect_kind"] == "duplicate_row":
            assert written[key] == 2
        elif d["defect_kind"] == "negative_count":
            assert int(by_key[key][d["column"]]) < 0
        else:
            ghost = d["detail"].split(", true ")[0].strip("'")
            assert ghost not in stop_ids
            assert key not in written
            assert written[(key[0], key[1], ghost)] >= 1
    orphans = sum(1 for r in rows if r["站点编号"] not in stop_ids)
    assert orphans == sum(1 for d in planted if d["defect_kind"] == "orphan_stop")
    assert sum(1 for r in rows if int(r["上车人数"]) < 0 or int(r["下车人数"]) < 0) == sum(
        1 for d in planted if d["defect_kind"] == "negative_count"
    )
    assert list(rows[0]) == list(RIDERSHIP_COLUMNS)


def test_network_is_consistent(drops):
    lines = read(drops["out"] / BUS / "lines.csv")
    stops = {r["站点编号"]: r for r in read(drops["out"] / BUS / "stops.csv")}
    line_stops = read(drops["out"] / BUS / "line_stops.csv")
    assert all(r["站点名称"].endswith("站") for r in stops.values())
    assert len({r["站点名称"] for r in stops.values()}) == len(stops)
    assert all(r["线路名称"].endswith("路") and r["运营单位"] == "郑州公交" for r in lines)
    assert {r["站点编号"] for r in line_stops} == set(stops)
    assert {r["线路编号"] for r in line_stops} == {r["线路编号"] for r in lines}
    assert all(float(r["线路长度(公里)"]) > 3 for r in lines)


def test_stations_and_stops_lie_inside_their_divisions(drops):
    boundaries = division_boundaries()
    for path, code in ((AIR / "stations.csv", "行政区划代码"), (BUS / "stops.csv", "行政区划代码")):
        rows = read(drops["out"] / path)
        for division in {r[code] for r in rows}:
            inside = [r for r in rows if r[code] == division]
            lon = np.array([float(r["经度"]) for r in inside])
            lat = np.array([float(r["纬度"]) for r in inside])
            assert shapely.contains_xy(boundaries[division], lon, lat).all(), (path, division)


@pytest.mark.parametrize("system", [AIR, BUS])
def test_the_connector_lands_every_row(drops, system):
    folder = drops["out"] / system
    for spec in SPECS[system]:
        extraction = FileDropSource(system.as_posix(), folder).extract(spec, {})
        landed = pa.Table.from_batches(list(extraction.batches), schema=extraction.schema)
        assert extraction.rejections == [], spec.name
        files = sorted(folder.glob(spec.options["pattern"]))
        encoding = "gb18030" if spec.name == "ridership" else "utf-8-sig"
        written = [r for p in files for r in read(p, encoding)]
        assert landed.num_rows == len(written) > 0, spec.name
        key = f"{system.as_posix()}/{spec.name}"
        output = drops["air"] if system == AIR else drops["bus"]
        assert output.counts[key] == landed.num_rows
        columns = [c for c in landed.column_names if not c.startswith("_source")]
        assert [[r[c] or None for c in columns] for r in written] == [
            list(row) for row in zip(*(landed[c].to_pylist() for c in columns), strict=True)
        ]
