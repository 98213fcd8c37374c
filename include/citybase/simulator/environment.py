"""The Ecology and Environment Bureau's air quality monitoring (生态环境局 空气质量自动监测), as daily CSV drops.

The monitoring network does not grow with the population: two stations per county-level division (a
市控点 each, 24 in all) plus the nine national control points (国控点) of the city proper, 33 stations at
any ``scale``. The platform exports one UTF-8 CSV per day with every station's hourly readings,
``environment/air_quality/readings/aqi_YYYYMMDD.csv``, and keeps the station list in ``stations.csv``.

Readings (µg/m³ except CO in mg/m³, written as integers, CO with one decimal): a city-wide PM2.5 level
follows the season (winter means near 95 µg/m³, summer near 35) with multi-day pollution episodes
(an AR(1) in log space), a diurnal cycle (night and morning high, mid-afternoon low as the mixing layer
deepens) and a lognormal factor per station (county stations a little cleaner). PM10 is 1.3-1.9 times
PM2.5, NO2 peaks with the rush hours, O3 in the afternoon and in summer, CO follows PM2.5.

AQI follows HJ 633-2012 (环境空气质量指数（AQI）技术规定): each pollutant's IAQI is the linear
interpolation between the breakpoints of its Table 1, rounded up; AQI is the largest IAQI; the
primary pollutant (首要污染物) is the one with the largest IAQI when AQI exceeds 50, else ``—``. As the
real-time hourly release does, PM2.5 and PM10 use the 24-hour breakpoints (there are no 1-hour ones)
and SO2, NO2, CO and O3 the 1-hour ones (SO2 above 800 µg/m³ by the 24-hour row, never reached here).

The dirt, every instance in ``defects_environment__air_quality.csv`` (record_key = station code + '|' +
'YYYY-MM-DD HH:MM:SS'): ``missing_hour`` (a station offline for 2-12 hours: its rows are absent),
``sentinel_value`` (a pollutant written as -999), ``blank_value`` (a pollutant left empty),
``duplicate_row`` (a row sent twice, next to itself) and ``timestamp_format`` (one station whose
datalogger writes its times another way, e.g. ``2025/12/31 5:00``, for the whole period). AQI, primary
pollutant and level stay as the platform computed them from the true readings.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import numpy as np
import shapely
from numpy.dtypes import StringDType

from citybase.codes import ZHENGZHOU_DIVISIONS
from citybase.simulator.drops import DefectRow, write_defects, write_truth
from citybase.simulator.formats import SECONDS_PER_DAY, concat, day_number, format_timestamps
from citybase.simulator.output import SystemOutput
from citybase.simulator.planning import division_boundaries, to_degrees, to_metres
from citybase.simulator.population import Population
from citybase.simulator.sampling import allocate, stream

AIR_QUALITY = ("environment", "air_quality")
READINGS, STATIONS = "readings", "stations"
ENCODING = "utf-8"
DEFECTS_FILE = "defects_environment__air_quality.csv"
TRUTH_FILE = "air_quality_readings.parquet"
RECORD_DEFECTS = ("missing_hour", "sentinel_value", "blank_value", "duplicate_row")
STATION_DEFECTS = ("timestamp_format",)
SENTINEL = "-999"
NO_PRIMARY = "—"

STATION_COLUMNS = ("监测点编码", "监测点名称", "行政区划代码", "经度", "纬度", "监测点类型")
POLLUTANTS = ("PM2.5", "PM10", "O3", "NO2", "SO2", "CO")
POLLUTANT_COLUMNS = ("PM2.5浓度", "PM10浓度", "臭氧浓度", "二氧化氮浓度", "二氧化硫浓度", "一氧化碳浓度")
READING_COLUMNS = (
    "监测点编码",
    "监测点名称",
    "监测时间",
    "空气质量指数",
    *POLLUTANT_COLUMNS,
    "首要污染物",
    "空气质量级别",
)

# The national control points of Zhengzhou (CNEMC codes 1325A-1333A) and the division they stand in.
NATIONAL_POINTS = (
    ("1325A", "市监测站", "410105"),
    ("1326A", "郑纺机", "410102"),
    ("1327A", "银行学校", "410103"),
    ("1328A", "供水公司", "410105"),
    ("1329A", "烟厂", "410104"),
    ("1330A", "河医大", "410102"),
    ("1331A", "岗李水库", "410108"),
    ("1332A", "四十七中", "410105"),
    ("1333A", "经开区管委", "410104"),
)
LOCAL_SUFFIXES = ("环境监测站", "城区子站")  # the two 市控点 of each division
NATIONAL_TYPE, LOCAL_TYPE = "国控点", "市控点"

# HJ 633-2012 Table 1: IAQI and the concentration breakpoints used for hourly readings.
IAQI_LEVELS = np.array([0, 50, 100, 150, 200, 300, 400, 500], dtype=np.float64)
BREAKPOINTS = {
    "PM2.5": (0, 35, 75, 115, 150, 250, 350, 500),  # 24-hour
    "PM10": (0, 50, 150, 250, 350, 420, 500, 600),  # 24-hour
    "O3": (0, 160, 200, 300, 400, 800, 1000, 1200),  # 1-hour
    "NO2": (0, 100, 200, 700, 1200, 2340, 3090, 3840),  # 1-hour
    "SO2": (0, 150, 500, 650, 800, 1600, 2100, 2620),  # 1-hour up to 800, then 24-hour
    "CO": (0, 5, 10, 35, 60, 90, 120, 150),  # 1-hour, mg/m³
}
QUALITY_LEVELS = (
    (50, "优"),
    (100, "良"),
    (150, "轻度污染"),
    (200, "中度污染"),
    (300, "重度污染"),
    (10**9, "严重污染"),
)

STATION_SPREAD_M = (2_500.0, 6_000.0)  # national points near the centre; division stations more widely
EPISODE_PERSISTENCE, EPISODE_SIGMA = 0.7, 0.45  # daily log PM2.5 level


def iaqi(pollutant: str, concentration: np.ndarray) -> np.ndarray:
    """HJ 633-2012 individual AQI: linear between breakpoints, rounded up, 500 at and above the top one."""
    points = np.array(BREAKPOINTS[pollutant], dtype=np.float64)
    return np.ceil(np.interp(np.asarray(concentration, dtype=np.float64), points, IAQI_LEVELS) - 1e-9)


def aqi(concentrations: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """AQI, primary pollutant ('—' when AQI <= 50) and quality level (优 ... 严重污染) of each reading."""
    stacked = np.stack([iaqi(p, concentrations[p]) for p in POLLUTANTS])
    index = stacked.max(axis=0).astype(np.int64)
    primary = np.where(index > 50, np.array(POLLUTANTS)[stacked.argmax(axis=0)], NO_PRIMARY)
    bounds = np.array([bound for bound, _ in QUALITY_LEVELS])
    level = np.array([name for _, name in QUALITY_LEVELS])[np.searchsorted(bounds, index)]
    return index, primary, level


def points_in(rng: np.random.Generator, shape: shapely.Geometry, spread_m: float, count: int) -> np.ndarray:
    """``count`` (lon, lat) pairs rounded to 6 places, normally spread round the shape's centre, all inside it."""
    centre = shape.centroid if shape.contains(shape.centroid) else shape.point_on_surface()
    cx, cy = to_metres(np.array([centre.x]), np.array([centre.y]))
    found = np.empty((0, 2))
    while len(found) < count:
        x = cx + rng.normal(0, spread_m, 4 * count + 8)
        y = cy + rng.normal(0, spread_m, 4 * count + 8)
        lon, lat = (np.round(v, 6) for v in to_degrees(x, y))
        inside = shapely.contains_xy(shape, lon, lat)
        found = np.vstack([found, np.column_stack([lon[inside], lat[inside]])])
    return found[:count]


def stations(seed: int) -> dict[str, np.ndarray]:
    """The monitoring stations: code, name, division code, lon, lat, type (the same for every scale)."""
    rng = stream(seed, "environment/stations")
    boundaries = division_boundaries()
    codes, names, divisions, kinds, coords = [], [], [], [], []
    for division in ZHENGZHOU_DIVISIONS:
        for number, suffix in enumerate(LOCAL_SUFFIXES, start=1):
            codes.append(f"{division.code}{number:02d}")
            names.append(f"{division.name}{suffix}")
            divisions.append(division.code)
            kinds.append(LOCAL_TYPE)
        coords.append(points_in(rng, boundaries[division.code], STATION_SPREAD_M[1], len(LOCAL_SUFFIXES)))
    for code, name, division in NATIONAL_POINTS:
        codes.append(code)
        names.append(name)
        divisions.append(division)
        kinds.append(NATIONAL_TYPE)
        coords.append(points_in(rng, boundaries[division], STATION_SPREAD_M[0], 1))
    lonlat = np.vstack(coords)
    return {
        "code": np.array(codes),
        "name": np.array(names),
        "division": np.array(divisions),
        "lon": lonlat[:, 0],
        "lat": lonlat[:, 1],
        "type": np.array(kinds),
    }


def write_air_quality(
    out_dir: Path,
    people: Population,
    *,
    seed: int,
    scale: float,
    as_of: dt.date,
    defect_rate: float,
    days: int = 7,
    truth_dir: Path,
) -> SystemOutput:
    """Hourly readings of every station for the ``days`` days up to ``as_of``, one UTF-8 CSV per day.

    ``people`` and ``scale`` are accepted for the uniform generator signature: the network does not
    grow with the population. Writes ``stations.csv``, ``readings/aqi_YYYYMMDD.csv`` and, in
    ``truth_dir``, ``air_quality_readings.parquet`` and ``defects_environment__air_quality.csv``.
    The same arguments always give the same bytes.
    """
    del people, scale  # the monitoring network is the same for any population
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    system_dir = Path(out_dir) / Path(*AIR_QUALITY)
    readings_dir = system_dir / READINGS
    readings_dir.mkdir(parents=True, exist_ok=True)
    truth_dir = Path(truth_dir)
    truth_dir.mkdir(parents=True, exist_ok=True)
    for stale in readings_dir.glob("aqi_*.csv"):
        stale.unlink()

    network = stations(seed)
    _write_stations(system_dir / f"{STATIONS}.csv", network)
    first_day = day_number(as_of) - days + 1
    true = _readings(stream(seed, "environment/readings"), network, first_day, days, as_of)
    plan = _plan(stream(seed, "environment/defects"), network, true, defect_rate)
    written_rows = _write_readings(readings_dir, network, true, plan, first_day, days)

    defects = plan["rows"]
    write_defects(truth_dir / DEFECTS_FILE, *AIR_QUALITY, defects)
    write_truth(
        truth_dir / TRUTH_FILE,
        {
            "station_code": network["code"][true["station"]].tolist(),
            "timestamp": true["timestamp"].tolist(),
            "aqi": true["aqi"].tolist(),
            **{p: true[p].tolist() for p in POLLUTANTS},
            "primary_pollutant": true["primary"].tolist(),
            "quality_level": true["level"].tolist(),
            "file": true["file"].tolist(),
            "delivered": (~plan["missing"]).tolist(),
        },
    )
    key = "/".join(AIR_QUALITY)
    return SystemOutput(
        key=key,
        location=str(system_dir),
        counts={f"{key}/{STATIONS}": len(network["code"]), f"{key}/{READINGS}": written_rows},
        defects=dict(Counter(d.defect_kind for d in defects)),
    )


def _readings(
    rng: np.random.Generator, network: dict, first_day: int, days: int, as_of: dt.date
) -> dict[str, np.ndarray]:
    """True hourly readings, ordered by hour then station (the order the files list them in)."""
    count = len(network["code"])
    hours = days * 24
    station = np.tile(np.arange(count), hours)
    hour_index = np.repeat(np.arange(hours), count)
    seconds = first_day * SECONDS_PER_DAY + hour_index.astype(np.int64) * 3600
    hour_of_day = hour_index % 24
    season = np.cos(2 * np.pi * (as_of.timetuple().tm_yday - 15) / 365.25)  # 1 in mid-January, -1 in July
    pm_mean, o3_mean = 62 + 33 * season, 85 - 50 * season

    level = np.empty(days + 1)  # daily log level, one extra day to interpolate the last evening
    level[0] = rng.normal(0, EPISODE_SIGMA)
    shocks = rng.normal(0, EPISODE_SIGMA * np.sqrt(1 - EPISODE_PERSISTENCE**2), days)
    for day in range(days):
        level[day + 1] = EPISODE_PERSISTENCE * level[day] + shocks[day]
    city = np.exp(np.interp(np.arange(hours) / 24, np.arange(days + 1), level))[hour_index]
    diurnal = 1 + 0.22 * np.cos(2 * np.pi * (hour_of_day - 23) / 24) + 0.08 * np.cos(4 * np.pi * (hour_of_day - 8) / 24)
    county = np.array([code[4] != "0" for code in network["division"]])
    station_factor = np.exp(rng.normal(0, 0.12, count)) * np.where(county, 0.9, 1.0)
    traffic = np.exp(rng.normal(0, 0.2, count)) * np.where(county, 0.7, 1.0)
    n = len(station)

    def noise(sigma: float) -> np.ndarray:
        return np.exp(rng.normal(0, sigma, n))

    pm25 = np.maximum(3, np.rint(pm_mean * city * diurnal * station_factor[station] * noise(0.15)))
    pm10 = np.rint(pm25 * rng.uniform(1.3, 1.9, n) + rng.uniform(0, 15, n))
    rush = (
        1 + 0.35 * np.exp(-0.5 * ((hour_of_day - 8) / 1.5) ** 2) + 0.45 * np.exp(-0.5 * ((hour_of_day - 19) / 2) ** 2)
    )
    no2 = np.maximum(2, np.rint(32 * traffic[station] * rush * city**0.4 * noise(0.2)))
    so2 = np.maximum(2, np.rint(8 * station_factor[station] * city**0.3 * noise(0.3)))
    co = np.maximum(0.1, np.round(0.45 + 0.009 * pm25 * noise(0.1), 1))
    daylight = np.maximum(0, np.cos(2 * np.pi * (hour_of_day - 15) / 24))
    o3 = np.maximum(2, np.rint(o3_mean * (0.25 + 1.1 * daylight**1.5) / city**0.3 * noise(0.2)))
    values = {"PM2.5": pm25, "PM10": pm10, "O3": o3, "NO2": no2, "SO2": so2, "CO": co}
    index, primary, level_name = aqi(values)
    day_text = (seconds // SECONDS_PER_DAY).astype("datetime64[D]").astype("U10")
    files = concat("readings/aqi_", np.strings.replace(day_text.astype(StringDType()), "-", ""), ".csv")
    return {
        "station": station,
        "hour": hour_index,
        "seconds": seconds,
        "timestamp": format_timestamps(seconds),
        **values,
        "aqi": index,
        "primary": primary,
        "level": level_name,
        "file": files,
    }


def _plan(rng: np.random.Generator, network: dict, true: dict, defect_rate: float) -> dict:
    """Which rows are absent, distorted or doubled, and the ground-truth rows saying so."""
    n = len(true["station"])
    count = len(network["code"])
    missing = np.zeros(n, dtype=bool)
    kind = np.full(n, -1)  # index into RECORD_DEFECTS[1:] planted on a delivered row
    column = np.zeros(n, dtype=np.int64)
    odd_station = -1
    rows: list[DefectRow] = []
    if defect_rate <= 0 or n == 0:
        return {"missing": missing, "kind": kind, "column": column, "odd_station": odd_station, "rows": rows}
    odd_station = int(rng.integers(0, count))
    odd_format = int(rng.integers(0, len(TIMESTAMP_FORMATS)))
    targets = allocate(round(defect_rate * n), np.ones(len(RECORD_DEFECTS)))
    hours = n // count
    # Outages: runs of 2-12 hours at random stations until the target of missing hours is reached.
    grid = missing.reshape(hours, count)
    while grid.sum() < targets[0]:
        where = int(rng.integers(0, count))
        length = int(min(rng.integers(2, 13), targets[0] - grid.sum()))
        start = int(rng.integers(0, max(1, hours - length + 1)))
        grid[start : start + length, where] = True
    open_rows = ~missing & (true["station"] != odd_station)
    candidates = rng.permutation(np.flatnonzero(open_rows))
    taken = 0
    for k, target in enumerate(targets[1:]):
        chosen = np.sort(candidates[taken : taken + int(target)])
        taken += int(target)
        kind[chosen] = k
        column[chosen] = rng.integers(0, len(POLLUTANTS), len(chosen))
    keys = concat(network["code"][true["station"]].astype(StringDType()), "|", true["timestamp"])
    for row in np.flatnonzero(missing).tolist():
        rows.append(
            DefectRow(READINGS, str(keys[row]), "missing_hour", "", f"station offline: no row in {true['file'][row]}")
        )
    for row in np.flatnonzero(kind >= 0).tolist():
        defect = RECORD_DEFECTS[1 + kind[row]]
        pollutant = POLLUTANTS[column[row]]
        value = _number_text(true[pollutant][row : row + 1], pollutant)[0]
        if defect == "duplicate_row":
            rows.append(DefectRow(READINGS, str(keys[row]), defect, "", f"row sent twice in {true['file'][row]}"))
        else:
            shown = SENTINEL if defect == "sentinel_value" else ""
            rows.append(
                DefectRow(
                    READINGS, str(keys[row]), defect, POLLUTANT_COLUMNS[column[row]], f"{shown!r}, true {value!r}"
                )
            )
    odd = np.flatnonzero((true["station"] == odd_station) & ~missing)
    odd_text = _other_timestamps(true["seconds"][odd], odd_format)
    for row, text in zip(odd.tolist(), odd_text.tolist(), strict=True):
        rows.append(
            DefectRow(
                READINGS,
                str(keys[row]),
                "timestamp_format",
                "监测时间",
                f"{text!r}, true {str(true['timestamp'][row])!r}",
            )
        )
    return {
        "missing": missing,
        "kind": kind,
        "column": column,
        "odd_station": odd_station,
        "odd_format": odd_format,
        "rows": rows,
    }


TIMESTAMP_FORMATS = ("2025/12/31 5:00", "2025123105", "2025年12月31日05时", "2025-12-31T05:00:00")  # examples


def _other_timestamps(seconds: np.ndarray, choice: int) -> np.ndarray:
    """The times in one of the formats seen from station dataloggers besides 'YYYY-MM-DD HH:MM:SS'."""
    stamp = seconds.astype("datetime64[s]")
    y = stamp.astype("datetime64[Y]").astype(np.int64) + 1970
    m = stamp.astype("datetime64[M]").astype(np.int64) % 12 + 1
    d = (stamp.astype("datetime64[D]") - stamp.astype("datetime64[M]")).astype(np.int64) + 1
    h = (seconds // 3600) % 24

    def s(values: np.ndarray, width: int = 0) -> np.ndarray:
        out = values.astype(np.int64).astype(StringDType())
        return np.strings.zfill(out, width) if width else out

    if choice == 0:
        return concat(s(y), "/", s(m), "/", s(d), " ", s(h), ":00")
    if choice == 1:
        return concat(s(y), s(m, 2), s(d, 2), s(h, 2))
    if choice == 2:
        return concat(s(y), "年", s(m, 2), "月", s(d, 2), "日", s(h, 2), "时")
    iso = format_timestamps(seconds).astype(StringDType())
    return np.strings.replace(iso, " ", "T")


def _number_text(values: np.ndarray, pollutant: str) -> np.ndarray:
    if pollutant == "CO":
        return np.char.mod("%.1f", values).astype(StringDType())
    return np.asarray(values).astype(np.int64).astype(StringDType())


def _write_stations(path: Path, network: dict) -> None:
    columns = [
        network["code"].astype(StringDType()),
        network["name"].astype(StringDType()),
        network["division"].astype(StringDType()),
        np.char.mod("%.6f", network["lon"]).astype(StringDType()),
        np.char.mod("%.6f", network["lat"]).astype(StringDType()),
        network["type"].astype(StringDType()),
    ]
    path.write_bytes(_csv_text(STATION_COLUMNS, columns).encode(ENCODING))


def _csv_text(header: tuple[str, ...], columns: list[np.ndarray]) -> str:
    """Header and rows with Windows line ends; values never hold commas, quotes or line breaks."""
    parts: list = []
    for column in columns:
        parts += [column, ","]
    lines = concat(*parts[:-1], "\r\n") if len(columns[0]) else np.array([], dtype=StringDType())
    return ",".join(header) + "\r\n" + "".join(lines.tolist())


def _write_readings(readings_dir: Path, network: dict, true: dict, plan: dict, first_day: int, days: int) -> int:
    """One file per day; returns the rows written (duplicates included, missing hours not)."""
    station = true["station"]
    timestamps = true["timestamp"].astype(StringDType())
    if plan["odd_station"] >= 0:
        odd = station == plan["odd_station"]
        timestamps[odd] = _other_timestamps(true["seconds"][odd], plan["odd_format"])
    pollutant_text = []
    for index, pollutant in enumerate(POLLUTANTS):
        text = _number_text(true[pollutant], pollutant)
        hit = plan["column"] == index
        text[hit & (plan["kind"] == RECORD_DEFECTS.index("sentinel_value") - 1)] = SENTINEL
        text[hit & (plan["kind"] == RECORD_DEFECTS.index("blank_value") - 1)] = ""
        pollutant_text.append(text)
    columns = [
        network["code"][station].astype(StringDType()),
        network["name"][station].astype(StringDType()),
        timestamps,
        true["aqi"].astype(StringDType()),
        *pollutant_text,
        true["primary"].astype(StringDType()),
        true["level"].astype(StringDType()),
    ]
    doubled = plan["kind"] == RECORD_DEFECTS.index("duplicate_row") - 1
    order = np.repeat(np.arange(len(station)), np.where(plan["missing"], 0, np.where(doubled, 2, 1)))
    day_of_row = true["hour"][order] // 24
    bounds = np.searchsorted(day_of_row, np.arange(days + 1))
    for day in range(days):
        rows = order[bounds[day] : bounds[day + 1]]
        date = (np.datetime64(first_day + day, "D")).item()
        path = readings_dir / f"aqi_{date:%Y%m%d}.csv"
        path.write_bytes(_csv_text(READING_COLUMNS, [c[rows] for c in columns]).encode(ENCODING))
    return len(order)


def write_evolved_day(system_dir: Path, day: dt.date, seed: int) -> np.ndarray:
    """One more day's readings file, as the platform exports it each day (``citybase evolve``).

    Each day draws its own pollution level; no dirt is planted, so what lands can be checked against
    ``ground_truth/changes.csv``. Returns the record keys (station code + '|' + timestamp), in file order.
    """
    network = stations(seed)
    today = day_number(day)
    rng = stream(seed, f"environment/readings/{day.isoformat()}")
    true = _readings(rng, network, today, 1, day)
    _write_readings(Path(system_dir) / READINGS, network, true, _plan(rng, network, true, 0.0), today, 1)
    return concat(network["code"][true["station"]].astype(StringDType()), "|", true["timestamp"])
