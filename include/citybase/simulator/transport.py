"""The Transport Bureau's bus network and ridership (交通运输局 公交线网与客流), as file drops.

The bus company's scheduling system exports the network as UTF-8 CSVs (with a BOM) under
``transport/bus_network/``: ``lines.csv`` (线路), ``stops.csv`` (站点, each inside the division it
names) and ``line_stops.csv`` (each line's stops in order), and the card and QR-code ridership as one
GB18030 CSV per day (the system exports the GBK family): ``ridership/ridership_YYYYMMDD.csv`` with the
boardings and alightings of every line at every one of its stops.

Sizes: Zhengzhou's buses carry about 1.5 million trips a day on about 300 lines and 5,000 stops.
Ridership scales with ``scale``; the network with it too but never below 20 lines (a small city still
runs a real network). Lines are random walks of 10-40 stops 450-900 m apart from a point near a
division's centre (divisions weighted by residents, districts favoured); a new stop within 200 m of an
existing one is that stop, so lines share stops in the centre. Weekends carry 15-20 % less.

The dirt, every instance in ``defects_transport__bus_network.csv`` (ridership record_key = date + '|'
+ line id + '|' + stop id, the true ids): ``negative_count`` (a count written negative),
``orphan_stop`` (a stop id that is not in stops.csv: a retired stop the card readers still report),
``duplicate_row`` (a row sent twice, next to itself) and ``missing_file`` (one day's file never
arrived; record_key = the file name).
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
from citybase.simulator.environment import points_in
from citybase.simulator.formats import concat, day_number, digits
from citybase.simulator.output import SystemOutput
from citybase.simulator.planning import division_boundaries, to_degrees, to_metres
from citybase.simulator.population import Population
from citybase.simulator.sampling import allocate, stream

BUS_NETWORK = ("transport", "bus_network")
LINES, STOPS, LINE_STOPS, RIDERSHIP = "lines", "stops", "line_stops", "ridership"
# UTF-8 with a BOM (Excel's "CSV UTF-8"): line_stops.csv has Chinese only in its header, too little for the
# connector to tell UTF-8 from GB18030 without one.
NETWORK_ENCODING, RIDERSHIP_ENCODING = "utf-8-sig", "gb18030"
DEFECTS_FILE = "defects_transport__bus_network.csv"
TRUTH_FILE = "bus_ridership.parquet"
RECORD_DEFECTS = ("negative_count", "orphan_stop", "duplicate_row")
FILE_DEFECTS = ("missing_file",)

LINES_AT_FULL_SCALE, MIN_LINES = 300, 20
TRIPS_PER_DAY = 1_500_000  # at scale 1.0
WEEKDAY_FACTOR = np.array([1.0, 1.0, 1.0, 1.0, 1.02, 0.85, 0.8])  # Monday .. Sunday
OPERATOR = "郑州公交"
STOPS_PER_LINE = (10, 41)
GRID_M = 600.0  # the street grid lines run along, one stop at each crossing
TURN_SHARE = 0.2  # a line turns left or right at this share of crossings
SHARE_RADIUS_M = 1.0  # a line calling at a crossing another line serves shares its stop
JITTER_M = 60.0  # the stop's post stands a little off the crossing
DETOUR = 1.1  # road length over the straight stop-to-stop distance
URBAN_WEIGHT = 3.0  # lines per resident in the districts against the counties
START_SPREAD_M = 5_000.0

LINE_COLUMNS = ("线路编号", "线路名称", "运营单位", "起点站", "终点站", "线路长度(公里)")
STOP_COLUMNS = ("站点编号", "站点名称", "行政区划代码", "经度", "纬度")
LINE_STOP_COLUMNS = ("线路编号", "站序", "站点编号")
RIDERSHIP_COLUMNS = ("日期", "线路编号", "站点编号", "上车人数", "下车人数")
_ROAD_NAMES = (
    "农业路 文化路 花园路 金水路 中原路 建设路 嵩山路 大学路 航海路 "
    "紫荆山路 未来路 经三路 纬五路 东风路 丰产路 南阳路 桐柏路 秦岭路 "
    "伏牛路 工人路 陇海路 京广路 人民路 商城路 城东路 黄河路 红专路 政七街 "
    "商都路 农科路 索河路 长江路 淮河路 兴华街 福华街 国基路 北三环 南三环 "
    "西三环 东三环 中州大道 郑汴路 民主路 博学路 科学大道 莲花街 须水河路 "
    "化工路 华山路 沙口路 连霍路 龙湖中环路 "
)
ROADS = tuple(_ROAD_NAMES.split())
STOP_SUFFIXES = ("站", "口站", "东站", "西站", "南站", "北站")


def _network(rng: np.random.Generator, people: Population, scale: float) -> dict:
    """Lines as walks of stops; stops shared between lines when close; all inside their division."""
    boundaries = division_boundaries()
    urban = np.array([d.code[4] == "0" for d in ZHENGZHOU_DIVISIONS])
    residents = np.bincount(people.division, minlength=len(ZHENGZHOU_DIVISIONS)).astype(np.float64) + 1
    line_count = max(MIN_LINES, round(LINES_AT_FULL_SCALE * scale))
    home = np.repeat(np.arange(len(urban)), allocate(line_count, residents * np.where(urban, URBAN_WEIGHT, 1.0)))
    stop_x, stop_y, stop_division = np.empty(0), np.empty(0), np.empty(0, dtype=np.int64)
    sequences = []
    for division in home.tolist():
        shape = boundaries[ZHENGZHOU_DIVISIONS[division].code]
        while True:  # retry walks that leave the city too soon
            start = points_in(rng, shape, START_SPREAD_M, 1)[0]
            x0, y0 = to_metres(start[:1], start[1:])
            length = int(rng.integers(*STOPS_PER_LINE))
            turns = np.where(rng.random(length - 1) < TURN_SHARE, rng.choice([-1, 1], length - 1), 0)
            heading = (int(rng.integers(0, 4)) + np.cumsum(turns)) * (np.pi / 2)  # along the street grid
            xs = np.rint(x0 / GRID_M) * GRID_M + np.r_[0, np.cumsum(GRID_M * np.rint(np.cos(heading)))]
            ys = np.rint(y0 / GRID_M) * GRID_M + np.r_[0, np.cumsum(GRID_M * np.rint(np.sin(heading)))]
            lon, lat = (np.round(v, 6) for v in to_degrees(xs, ys))
            owner = _division_of(boundaries, lon, lat)
            inside = np.cumprod(owner >= 0).astype(bool)  # the walk ends where it would leave the city
            if inside.sum() >= STOPS_PER_LINE[0]:
                break
        xs, ys, owner = xs[inside], ys[inside], owner[inside]
        ids = np.full(len(xs), -1)
        if len(stop_x):
            distance = np.hypot(xs[:, None] - stop_x[None, :], ys[:, None] - stop_y[None, :])
            nearest = distance.argmin(axis=1)
            close = distance[np.arange(len(xs)), nearest] <= SHARE_RADIUS_M
            ids[close] = nearest[close]
        new = ids < 0
        ids[new] = len(stop_x) + np.arange(int(new.sum()))
        stop_x, stop_y = np.r_[stop_x, xs[new]], np.r_[stop_y, ys[new]]
        stop_division = np.r_[stop_division, owner[new]]
        _, first = np.unique(ids, return_index=True)  # a walk crossing itself calls at a stop once
        sequences.append(ids[np.sort(first)])
    jitter = rng.uniform(-JITTER_M, JITTER_M, (2, len(stop_x)))
    lon, lat = (np.round(v, 6) for v in to_degrees(stop_x + jitter[0], stop_y + jitter[1]))
    moved = _division_of(boundaries, lon, lat) != stop_division  # a post off the crossing must stay in the division
    lon[moved], lat[moved] = (np.round(v, 6) for v in to_degrees(stop_x[moved], stop_y[moved]))
    x, y = to_metres(lon, lat)
    lengths = [DETOUR * float(np.hypot(np.diff(x[s]), np.diff(y[s])).sum()) / 1000 for s in sequences]
    return {"lon": lon, "lat": lat, "division": stop_division, "sequences": sequences, "length_km": lengths}


def _division_of(boundaries: dict, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Index into ZHENGZHOU_DIVISIONS of the division holding each point, -1 outside the city."""
    owner = np.full(len(lon), -1)
    for index, division in enumerate(ZHENGZHOU_DIVISIONS):
        owner[(owner < 0) & shapely.contains_xy(boundaries[division.code], lon, lat)] = index
    return owner


def write_bus_network(
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
    """The network files and a ridership file per day for the ``days`` days up to ``as_of``.

    Writes ``lines.csv``, ``stops.csv``, ``line_stops.csv``, ``ridership/ridership_YYYYMMDD.csv`` and, in
    ``truth_dir``, ``bus_ridership.parquet`` and ``defects_transport__bus_network.csv``. The same
    arguments always give the same bytes.
    """
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    system_dir = Path(out_dir) / Path(*BUS_NETWORK)
    ridership_dir = system_dir / RIDERSHIP
    ridership_dir.mkdir(parents=True, exist_ok=True)
    truth_dir = Path(truth_dir)
    truth_dir.mkdir(parents=True, exist_ok=True)
    for stale in ridership_dir.glob("ridership_*.csv"):
        stale.unlink()

    rng = stream(seed, "transport/network")
    network = _network(rng, people, scale)
    stop_ids, line_ids, line_names = _identifiers(rng, network)
    stop_names = _stop_names(rng, len(stop_ids))
    sequences = network["sequences"]
    line_of = np.repeat(np.arange(len(sequences)), [len(s) for s in sequences])
    stop_of = np.concatenate(sequences)
    order = np.concatenate([np.arange(1, len(s) + 1) for s in sequences])
    division_codes = np.array([d.code for d in ZHENGZHOU_DIVISIONS])

    _write(
        system_dir / f"{LINES}.csv",
        LINE_COLUMNS,
        [
            line_ids,
            line_names,
            np.full(len(line_ids), OPERATOR),
            stop_names[[s[0] for s in sequences]],
            stop_names[[s[-1] for s in sequences]],
            np.char.mod("%.1f", network["length_km"]),
        ],
        NETWORK_ENCODING,
    )
    _write(
        system_dir / f"{STOPS}.csv",
        STOP_COLUMNS,
        [
            stop_ids,
            stop_names,
            division_codes[network["division"]],
            np.char.mod("%.6f", network["lon"]),
            np.char.mod("%.6f", network["lat"]),
        ],
        NETWORK_ENCODING,
    )
    _write(
        system_dir / f"{LINE_STOPS}.csv",
        LINE_STOP_COLUMNS,
        [line_ids[line_of], order, stop_ids[stop_of]],
        NETWORK_ENCODING,
    )

    first_day = day_number(as_of) - days + 1
    ride = _ridership(stream(seed, "transport/ridership"), line_of, stop_of, len(line_ids), first_day, days, scale)
    ride["date"] = np.repeat((first_day + np.arange(days)).astype("datetime64[D]").astype("U10"), len(line_of))
    ride["line_id"] = np.tile(line_ids[line_of], days)
    ride["stop_id"] = np.tile(stop_ids[stop_of], days)
    defects, written = _plant(stream(seed, "transport/defects"), ride, stop_ids, days, defect_rate)
    rows = _write_ridership(ridership_dir, ride, written, first_day, days)

    write_defects(truth_dir / DEFECTS_FILE, *BUS_NETWORK, defects)
    write_truth(
        truth_dir / TRUTH_FILE,
        {
            "date": ride["date"].tolist(),
            "line_id": ride["line_id"].tolist(),
            "stop_id": ride["stop_id"].tolist(),
            "boardings": ride["boardings"].tolist(),
            "alightings": ride["alightings"].tolist(),
            "delivered": (ride["day"] != written["missing_day"]).tolist(),
        },
    )
    key = "/".join(BUS_NETWORK)
    return SystemOutput(
        key=key,
        location=str(system_dir),
        counts={
            f"{key}/{LINES}": len(line_ids),
            f"{key}/{STOPS}": len(stop_ids),
            f"{key}/{LINE_STOPS}": len(line_of),
            f"{key}/{RIDERSHIP}": rows,
        },
        defects=dict(Counter(d.defect_kind for d in defects)),
    )


def _identifiers(rng: np.random.Generator, network: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stop ids ('ZD' + 6 digits, spread out: ids freed by retired stops are not reused), line ids and names."""
    stops, lines = len(network["lon"]), len(network["sequences"])
    serials = np.sort(rng.choice(stops * 4, stops, replace=False)) + 100_000
    stop_ids = concat("ZD", digits(serials, 6))
    numbers = np.sort(rng.choice(np.arange(1, max(999, 3 * lines)), lines, replace=False))
    return stop_ids, concat("XL", digits(numbers, 4)), concat(numbers.astype(StringDType()), "路")


def _stop_names(rng: np.random.Generator, count: int) -> np.ndarray:
    """Distinct names of the kind '农业路文化路站': two crossing roads and a suffix."""
    roads = np.array(ROADS, dtype=StringDType())
    r, s = len(roads), len(STOP_SUFFIXES)
    pairs = rng.choice(r * (r - 1) * s, count, replace=False)
    first, rest = pairs // ((r - 1) * s), pairs % ((r - 1) * s)
    second = rest // s
    second = second + (second >= first)  # never a road crossing itself
    return concat(roads[first], roads[second], np.array(STOP_SUFFIXES, dtype=StringDType())[rest % s])


def _ridership(
    rng: np.random.Generator,
    line_of: np.ndarray,
    stop_of: np.ndarray,
    lines: int,
    first_day: int,
    days: int,
    scale: float,
) -> dict:
    """Boardings and alightings per day and line stop; each line's day has as many of one as of the other."""
    weekday = (first_day + np.arange(days) + 3) % 7  # 1970-01-01 was a Thursday
    totals = rng.poisson(TRIPS_PER_DAY * scale * WEEKDAY_FACTOR[weekday] * rng.lognormal(0, 0.03, days))
    line_weight = rng.lognormal(0, 0.6, lines) * np.bincount(line_of, minlength=lines)
    stop_weight = rng.lognormal(0, 0.8, int(stop_of.max()) + 1)
    pair = stop_weight[stop_of] * rng.lognormal(0, 0.3, len(stop_of))
    width = int(np.bincount(line_of).max())
    position = np.arange(len(line_of)) - np.searchsorted(line_of, line_of)
    board_p = np.zeros((lines, width))
    board_p[line_of, position] = pair
    alight_p = np.zeros((lines, width))
    alight_p[line_of, position] = stop_weight[stop_of] * rng.lognormal(0, 0.3, len(stop_of))
    board_p /= board_p.sum(axis=1, keepdims=True)
    alight_p /= alight_p.sum(axis=1, keepdims=True)
    share = line_weight / line_weight.sum()
    boardings, alightings = [], []
    for total in totals.tolist():
        per_line = rng.multinomial(total, share)
        boardings.append(rng.multinomial(per_line, board_p)[line_of, position])
        alightings.append(rng.multinomial(per_line, alight_p)[line_of, position])
    return {
        "day": np.repeat(np.arange(days), len(line_of)),
        "boardings": np.concatenate(boardings),
        "alightings": np.concatenate(alightings),
    }


def _plant(
    rng: np.random.Generator, ride: dict, stop_ids: np.ndarray, days: int, defect_rate: float
) -> tuple[list[DefectRow], dict]:
    """The ridership rows as written, one defect at most per row, and the ground truth of each."""
    n = len(ride["day"])
    written = {
        "boardings": ride["boardings"].astype(np.int64).copy(),
        "alightings": ride["alightings"].astype(np.int64).copy(),
        "stop_id": ride["stop_id"].astype(StringDType()).copy(),
        "doubled": np.zeros(n, dtype=bool),
        "missing_day": -1,
    }
    defects: list[DefectRow] = []
    if defect_rate <= 0 or n == 0:
        return defects, written
    if days >= 2:
        written["missing_day"] = int(rng.integers(0, days))
    day_text = np.strings.replace(ride["date"].astype(StringDType()), "-", "")
    files = concat("ridership/ridership_", day_text, ".csv")
    keys = concat(ride["date"].astype(StringDType()), "|", ride["line_id"], "|", ride["stop_id"])
    open_rows = rng.permutation(np.flatnonzero(ride["day"] != written["missing_day"]))
    targets = allocate(min(round(defect_rate * n), len(open_rows)), np.ones(len(RECORD_DEFECTS)))
    chosen = np.split(open_rows, np.cumsum(targets))[: len(RECORD_DEFECTS)]

    negative = np.sort(chosen[0])
    column = np.where(rng.random(len(negative)) < 0.5, "boardings", "alightings")
    for row, name in zip(negative.tolist(), column.tolist(), strict=True):
        true = int(written[name][row])
        written[name][row] = -max(true, 1) if rng.random() < 0.7 else -int(rng.integers(1, 100))
        header = "上车人数" if name == "boardings" else "下车人数"
        defects.append(
            DefectRow(RIDERSHIP, str(keys[row]), "negative_count", header, f"{written[name][row]}, true {true}")
        )
    orphan = np.sort(chosen[1])
    known = set(stop_ids.tolist())
    retired = [f"ZD{v:06d}" for v in range(900_000, 900_000 + 4 * len(orphan) + 8) if f"ZD{v:06d}" not in known]
    for row in orphan.tolist():
        ghost = retired[int(rng.integers(0, len(retired)))]
        defects.append(
            DefectRow(RIDERSHIP, str(keys[row]), "orphan_stop", "站点编号", f"{ghost!r}, true {ride['stop_id'][row]!r}")
        )
        written["stop_id"][row] = ghost
    doubled = np.sort(chosen[2])
    written["doubled"][doubled] = True
    for row in doubled.tolist():
        defects.append(DefectRow(RIDERSHIP, str(keys[row]), "duplicate_row", "", f"row sent twice in {files[row]}"))
    if written["missing_day"] >= 0:
        name = str(files[np.searchsorted(ride["day"], written["missing_day"])])
        defects.append(DefectRow(RIDERSHIP, name, "missing_file", "", "the day's export never arrived"))
    return defects, written


def _write_ridership(ridership_dir: Path, ride: dict, written: dict, first_day: int, days: int) -> int:
    """One GB18030 file per day except the missing one; returns the rows written."""
    columns = [ride["date"], ride["line_id"], written["stop_id"], written["boardings"], written["alightings"]]
    copies = np.where(written["doubled"], 2, 1)
    copies[ride["day"] == written["missing_day"]] = 0
    order = np.repeat(np.arange(len(copies)), copies)
    bounds = np.searchsorted(ride["day"][order], np.arange(days + 1))
    for day in range(days):
        if day == written["missing_day"]:
            continue
        rows = order[bounds[day] : bounds[day + 1]]
        date = np.datetime64(first_day + day, "D").item()
        _write(
            ridership_dir / f"ridership_{date:%Y%m%d}.csv",
            RIDERSHIP_COLUMNS,
            [c[rows] for c in columns],
            RIDERSHIP_ENCODING,
        )
    return len(order)


def _write(path: Path, header: tuple[str, ...], columns: list, encoding: str) -> None:
    """Header and rows with Windows line ends; values never hold commas, quotes or line breaks."""
    parts: list = []
    for column in columns:
        parts += [np.asarray(column).astype(StringDType()), ","]
    body = "".join(concat(*parts[:-1], "\r\n").tolist()) if len(columns[0]) else ""
    path.write_bytes((",".join(header) + "\r\n" + body).encode(encoding))


def write_evolved_day(system_dir: Path, day: dt.date, seed: int, scale: float) -> np.ndarray:
    """One more day's ridership file over the network the bureau publishes in line_stops.csv (``citybase evolve``).

    No dirt is planted, so what lands can be checked against ``ground_truth/changes.csv``. Returns the
    record keys (date + '|' + line id + '|' + stop id), in file order.
    """
    system_dir = Path(system_dir)
    text = (system_dir / f"{LINE_STOPS}.csv").read_text(encoding=NETWORK_ENCODING)
    rows = [line.split(",") for line in text.splitlines()[1:]]  # values never hold commas
    line_ids, line_of = np.unique(np.array([r[0] for r in rows], dtype=StringDType()), return_inverse=True)
    stop_ids, stop_of = np.unique(np.array([r[2] for r in rows], dtype=StringDType()), return_inverse=True)
    today = day_number(day)
    rng = stream(seed, f"transport/ridership/{day.isoformat()}")
    ride = _ridership(rng, line_of, stop_of, len(line_ids), today, 1, scale)
    ride["date"] = np.full(len(rows), day.isoformat(), dtype=StringDType())
    ride["line_id"], ride["stop_id"] = line_ids[line_of], stop_ids[stop_of]
    written = {
        "boardings": ride["boardings"],
        "alightings": ride["alightings"],
        "stop_id": ride["stop_id"],
        "doubled": np.zeros(len(rows), dtype=bool),
        "missing_day": -1,
    }
    _write_ridership(system_dir / RIDERSHIP, ride, written, today, 1)
    return concat(ride["date"], "|", ride["line_id"], "|", ride["stop_id"])
