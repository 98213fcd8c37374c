"""Civil affairs (民政局): marriage registrations (婚姻登记) and the standard address library (地名地址库).

Spouses are adult residents of the household registration, of opposite sex, registered at the
marriage registry office (婚姻登记处) of the district where one of them holds their hukou. The address
library holds one standard address per distinct registered household address, split into its parts
and placed on the map. The system is a SQL database (a SQLite file in embedded mode) with known
defects, like the others; ``write_table`` and ``plan_defects`` here are shared with ``registry_events``.
"""

from __future__ import annotations

import csv
import datetime as dt
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.dtypes import StringDType

from citybase.codes import ZHENGZHOU_DIVISIONS
from citybase.codes.id_number import ID_CHECK_CHARS
from citybase.simulator.defects import HOMOPHONE_NAME, defect_weights
from citybase.simulator.formats import (
    SECONDS_PER_DAY,
    concat,
    day_number,
    digits,
    format_dates,
    format_timestamps,
    later_touch,
    office_hours,
    years_before,
)
from citybase.simulator.names import mistypable_parts, mistype_names
from citybase.simulator.output import SystemOutput
from citybase.simulator.planning import _CENTRES as DIVISION_CENTRES
from citybase.simulator.population import DIVISION_CODES, MANGSHAN, Households, Population
from citybase.simulator.sampling import allocate, runs, stream, weighted_top_k
from citybase.simulator.writer import BATCH_ROWS, CHUNK_ROWS, DEFECT_COLUMNS, sqlite_database

CIVIL_REGISTRY = ("civil_affairs", "civil_registry")  # (department, system)
DEFECTS_FILE = "defects_civil_affairs__civil_registry.csv"
TRUTH_FILE = "marriage_registrations.parquet"
MARRIAGES_PER_RESIDENT_YEAR = 0.007  # Zhengzhou: about 7 marriages per 1000 residents a year
DIVORCE_SHARE = 0.4  # divorces registered, as a share of marriages
YEARS = 10
MARRIAGE, DIVORCE = 0, 1
REGISTRATION_TYPES = np.array(["结婚", "离婚"], dtype=StringDType())
_CERTIFICATE_LETTER = np.array(["J", "L"], dtype=StringDType())  # 结婚证 J…, 离婚证 L…
# Legal marriage ages (婚姻法): men 22, women 20, in days counting the most leap days the years can hold.
HUSBAND_MIN_DAYS, WIFE_MIN_DAYS = 22 * 365 + 6, 20 * 365 + 5
_BIRTH_WINDOW = 60  # days: a spouse is drawn among those born this close before the target birth day
MIN_MARRIAGE_DAYS = 30  # before a divorce can be registered
CITY_BOUNDS = ((112.7, 114.2), (34.2, 34.98))  # (lon, lat) ranges
_OFFICES = np.array([f"{division.name}婚姻登记处" for division in ZHENGZHOU_DIVISIONS], dtype=StringDType())
_CENTRE = np.array([DIVISION_CENTRES[division.code] for division in ZHENGZHOU_DIVISIONS])
_URBAN = np.array([division.code[4] == "0" for division in ZHENGZHOU_DIVISIONS])
STALE_DIVISION_CODE = str(MANGSHAN)  # 芒山区, renamed 惠济区 (410108) in 2003
HUIJI = [division.code for division in ZHENGZHOU_DIVISIONS].index("410108")
STALE_CODE_SHARE = 0.2  # of the defect rate: stale codes are rarer than typing errors

MARRIAGES_TABLE = "marriage_registrations"
ADDRESSES_TABLE = "standard_addresses"
MARRIAGE_DEFECT_KINDS = (
    "bad_check_digit", "missing_field", "duplicate_row", "impossible_date", "orphan_marriage", HOMOPHONE_NAME,
)  # fmt: skip
ADDRESS_DEFECT_KINDS = ("stale_division_code",)
CIVIL_DEFECT_KINDS = MARRIAGE_DEFECT_KINDS + ADDRESS_DEFECT_KINDS


# --- shared table writing and defect planning ----------------------------------------------------------------------

Render = Callable[[np.ndarray], dict[str, np.ndarray]]


@dataclass(frozen=True)
class EventTable:
    """A table keyed 1, 2, 3... by position: its DDL and its columns after the key, in order."""

    name: str
    key: str
    columns: tuple[tuple[str, str], ...]  # (column, SQL type), the key excluded

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)

    @property
    def ddl(self) -> str:
        body = ",\n    ".join(f"{name} {kind}" for name, kind in self.columns)
        return f"CREATE TABLE {self.name} (\n    {self.key} INTEGER PRIMARY KEY,\n    {body}\n)"


@dataclass(frozen=True)
class Kind:
    """A defect kind: ``spoil(rng, true columns of the chosen rows) -> (column, wrong values, details)``;
    no ``spoil`` means the rows are entered twice. ``eligible`` limits which rows may carry it."""

    name: str
    spoil: Callable[[np.random.Generator, dict[str, np.ndarray]], tuple[str, list, list[str]]] | None = None
    eligible: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class Plan:
    rows: int
    duplicate_of: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    overrides: dict[str, tuple[np.ndarray, list]] = field(default_factory=dict)  # column -> (positions, values)
    records: list[tuple[int, str, str, str]] = field(default_factory=list)  # (record_key, kind, column, detail)

    @property
    def table_rows(self) -> int:
        return self.rows + len(self.duplicate_of)

    def counts(self, kinds: tuple[str, ...]) -> dict[str, int]:
        counts = dict.fromkeys(kinds, 0)
        for record in self.records:
            counts[record[1]] += 1
        return counts


def plan_defects(rng: np.random.Generator, rows: int, rate: float, kinds: list[Kind], render: Render) -> Plan:
    """A ``rate`` share of the rows split across ``kinds`` as ``defects.defect_weights`` says (homophone
    typos a fixed share, the others evenly): one defect per row, none on a copy."""
    if rows == 0 or rate <= 0:
        return Plan(rows)
    weights = defect_weights([kind.name for kind in kinds])
    copies = weights[[kind.spoil is None for kind in kinds]].sum() / weights.sum()
    total = min(round(rate * rows / (1 - rate * copies)), rows)  # copies add rows: aim at rate of the table
    quotas = allocate(total, weights)
    taken = np.zeros(rows, dtype=bool)
    duplicates, changes, records = [], {}, []
    for kind, quota in zip(kinds, quotas.tolist(), strict=True):
        free = ~taken if kind.eligible is None else kind.eligible & ~taken
        candidates = np.flatnonzero(free)
        chosen = np.sort(rng.choice(candidates, min(quota, len(candidates)), replace=False))
        taken[chosen] = True
        if kind.spoil is None:
            duplicates.append(chosen)
            continue
        column, values, details = kind.spoil(rng, render(chosen))
        changes.setdefault(column, {}).update(zip(chosen.tolist(), values, strict=True))
        records.extend(
            (row + 1, kind.name, column, detail) for row, detail in zip(chosen.tolist(), details, strict=True)
        )
    duplicate_of = np.concatenate(duplicates) if duplicates else np.empty(0, dtype=np.int64)
    copies = enumerate(duplicate_of.tolist())
    records.extend((rows + copy + 1, "duplicate_row", "", f"duplicate of {row + 1}") for copy, row in copies)
    overrides = {}
    for column, change in changes.items():
        ordered = sorted(change.items())
        overrides[column] = (np.array([p for p, _ in ordered], dtype=np.int64), [v for _, v in ordered])
    return Plan(rows, duplicate_of.astype(np.int64), overrides, sorted(records))


def bad_check_digit(column: str) -> Callable:
    def spoil(rng: np.random.Generator, true: dict[str, np.ndarray]) -> tuple[str, list, list[str]]:
        codes = true[column].tolist()
        values, details = [], []
        for code, shift in zip(codes, rng.integers(1, 11, len(codes)).tolist(), strict=True):
            wrong = ID_CHECK_CHARS[(ID_CHECK_CHARS.index(code[-1]) + shift) % len(ID_CHECK_CHARS)]
            values.append(code[:-1] + wrong)
            details.append(f"check character {wrong}, true {code[-1]}")
        return column, values, details

    return spoil


def missing(column: str) -> Callable:
    def spoil(rng: np.random.Generator, true: dict[str, np.ndarray]) -> tuple[str, list, list[str]]:
        del rng
        count = len(true[column])
        return column, [None] * count, [f"{column} is NULL, true {value}" for value in true[column].tolist()]

    return spoil


def homophone(column: str) -> Callable:
    """The name re-keyed with one character swapped for a same-sound one (``names.mistype_names``)."""

    def spoil(rng: np.random.Generator, true: dict[str, np.ndarray]) -> tuple[str, list, list[str]]:
        typed, details = mistype_names(rng, true[column])
        return column, typed.tolist(), details.tolist()

    return spoil


def impossible_date(column: str) -> Callable:
    """A 30 February (or 31 April) in the true date's year: a date that does not exist."""

    def spoil(rng: np.random.Generator, true: dict[str, np.ndarray]) -> tuple[str, list, list[str]]:
        dates = true[column].tolist()
        month_day = np.array(["-02-30", "-02-31", "-04-31", "-06-31", "-09-31", "-11-31"])
        tails = month_day[rng.integers(0, len(month_day), len(dates))].tolist()
        values = [date[:4] + tail for date, tail in zip(dates, tails, strict=True)]
        details = [f"date {value} does not exist, true {date}" for value, date in zip(values, dates, strict=True)]
        return column, values, details

    return spoil


def write_table(
    connection: sqlite3.Connection, table: EventTable, render: Render, plan: Plan, truth: pq.ParquetWriter | None = None
) -> None:
    """(Re)create ``table`` and load its rows, copies last, defects applied; true rows go to ``truth``."""
    connection.execute(f"DROP TABLE IF EXISTS {table.name}")
    connection.execute(table.ddl)
    names = table.column_names
    insert = f"INSERT INTO {table.name} VALUES ({', '.join('?' * (len(names) + 1))})"
    order = np.r_[np.arange(plan.rows), plan.duplicate_of].astype(np.int64)
    for start in range(0, len(order), CHUNK_ROWS):
        source = order[start : start + CHUNK_ROWS]
        columns = render(source)
        true_rows = max(0, min(len(source), plan.rows - start))
        if truth is not None and true_rows:
            keys = np.arange(start + 1, start + true_rows + 1)
            chunk = {name: keys if name == table.key else columns[name][:true_rows] for name in truth.schema.names}
            truth.write_table(pa.Table.from_pydict({k: pa.array(v) for k, v in chunk.items()}, truth.schema))
        for batch in range(0, len(source), BATCH_ROWS):  # Python objects for a batch at a time
            batch_stop = min(batch + BATCH_ROWS, len(source))
            values = {name: columns[name][batch:batch_stop].tolist() for name in names}
            for column, (positions, replacements) in plan.overrides.items():
                first, last = np.searchsorted(positions, [start + batch, start + min(batch_stop, true_rows)])
                for position, replacement in zip(positions[first:last].tolist(), replacements[first:last], strict=True):
                    values[column][position - start - batch] = replacement
            keys = range(start + batch + 1, start + batch_stop + 1)
            connection.executemany(insert, zip(keys, *(values[name] for name in names), strict=True))
    connection.execute(f"CREATE INDEX {table.name}_updated_at ON {table.name} (updated_at)")


def write_defects(path: Path, tables: list[tuple[str, str, str, Plan]]) -> None:
    """One line per planted defect, for (department, system, table, plan)."""
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(DEFECT_COLUMNS)
        for department, system, table, plan in tables:
            writer.writerows((department, system, table, *record) for record in plan.records)


def fresh_path(path: Path) -> Path:
    for stale in (path, *(path.with_name(path.name + s) for s in ("-journal", "-wal", "-shm"))):
        stale.unlink(missing_ok=True)
    return path


# --- marriage registrations ----------------------------------------------------------------------------------------

MARRIAGES = EventTable(
    MARRIAGES_TABLE,
    "registration_id",
    (
        ("certificate_no", "TEXT"),
        ("registration_type", "TEXT"),
        ("marriage_certificate_no", "TEXT"),  # a divorce: the certificate of the marriage it ends
        ("husband_id_number", "TEXT"),
        ("husband_name", "TEXT"),
        ("wife_id_number", "TEXT"),
        ("wife_name", "TEXT"),
        ("registered_on", "TEXT"),
        ("registry_office", "TEXT"),
        ("updated_at", "TEXT"),
    ),
)
MARRIAGES_TRUTH = pa.schema(
    [
        ("registration_id", pa.int64()),
        *((name, pa.string()) for name in MARRIAGES.column_names),
        ("husband_person_id", pa.int64()),  # hukou person_ids, which the system itself does not hold
        ("wife_person_id", pa.int64()),
    ]
)


@dataclass(frozen=True, eq=False)
class Registrations:
    """One entry per registration, in registration_id order (id = position + 1)."""

    kind: np.ndarray  # MARRIAGE or DIVORCE
    husband: np.ndarray  # index into Population
    wife: np.ndarray
    day: np.ndarray  # day number
    office: np.ndarray  # index into ZHENGZHOU_DIVISIONS
    certificate: np.ndarray  # text
    marriage_certificate: np.ndarray  # text, empty for a marriage
    updated_at: np.ndarray  # seconds

    def __len__(self) -> int:
        return len(self.kind)


def simulate_marriages(people: Population, *, seed: int, as_of: dt.date) -> Registrations:
    """Ten years of marriages (7 per 1000 residents a year) and the divorces (40 % as many) ending some."""
    rng = stream(seed, "civil_affairs/marriages")
    last = day_number(as_of)
    first = day_number(years_before(as_of, YEARS)) + 1
    count = round(MARRIAGES_PER_RESIDENT_YEAR * YEARS * len(people))
    day = np.sort(rng.integers(first, last + 1, count))
    weekday = (day + 3) % 7  # 1970-01-01 was a Thursday; offices close at weekends
    day = np.where(weekday >= 5, day - (weekday - 4), day)
    day = np.maximum(day, first)
    husband_age = 22 * 365.25 + rng.gamma(2.0, 3.0, count) * 365.25
    wife_age = np.maximum(husband_age - rng.normal(2.0, 2.5, count) * 365.25, 20 * 365.25)
    husband = _spouses(rng, people, people.male, day, day - husband_age.astype(np.int64), HUSBAND_MIN_DAYS)
    wife = _spouses(rng, people, ~people.male, day, day - wife_age.astype(np.int64), WIFE_MIN_DAYS)
    keep = (husband >= 0) & (wife >= 0)
    husband, wife, day = husband[keep], wife[keep], day[keep]
    count = len(day)
    office = np.where(rng.random(count) < 0.5, people.division[husband], people.division[wife])

    # Divorces end the older marriages more often; registered at the office that married the couple.
    span = last - day
    can_end = np.flatnonzero(span >= MIN_MARRIAGE_DAYS)
    ended = can_end[weighted_top_k(rng, span[can_end].astype(np.float64), round(DIVORCE_SHARE * count))]
    divorce_day = day[ended] + MIN_MARRIAGE_DAYS + (rng.random(len(ended)) * (span[ended] - MIN_MARRIAGE_DAYS + 1))
    kind = np.r_[np.full(count, MARRIAGE), np.full(len(ended), DIVORCE)]
    of_marriage = np.r_[np.full(count, -1), ended]  # the marriage a divorce ends
    husband, wife = np.r_[husband, husband[ended]], np.r_[wife, wife[ended]]
    day, office = np.r_[day, divorce_day.astype(np.int64)], np.r_[office, office[ended]]

    total = len(kind)
    order = np.lexsort((rng.random(total), day))
    position = np.empty(total, dtype=np.int64)
    position[order] = np.arange(total)
    kind, husband, wife, day, office, of_marriage = (a[order] for a in (kind, husband, wife, day, office, of_marriage))
    year = day.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    book = (kind * 100 + office) * 10_000 + year
    by_book = np.lexsort((np.arange(total), book))
    _, serial = runs(book[by_book])
    number = np.empty(total, dtype=np.int64)
    number[by_book] = serial + 1
    certificate = concat(
        _CERTIFICATE_LETTER[kind], DIVISION_CODES[office].astype(StringDType()), "-", year.astype(StringDType()), "-",
        digits(number, 6),
    )  # fmt: skip
    marriage_certificate = np.full(total, "", dtype=StringDType())
    divorce = of_marriage >= 0
    marriage_certificate[divorce] = certificate[position[of_marriage[divorce]]]
    opened = office_hours(rng, day)
    updated = later_touch(rng, opened, (last + 1) * SECONDS_PER_DAY - 1, untouched_share=0.8)
    return Registrations(kind, husband, wife, day, office, certificate, marriage_certificate, updated)


def _spouses(
    rng: np.random.Generator, people: Population, sex: np.ndarray, day: np.ndarray, target: np.ndarray, min_days: int
) -> np.ndarray:
    """A resident of the given sex born shortly before each ``target`` day and old enough to marry on ``day``;
    -1 where nobody is."""
    candidates = np.flatnonzero(sex)
    candidates = candidates[np.argsort(people.birth[candidates], kind="stable")]
    births = people.birth[candidates]
    target = np.minimum(target, day - min_days)
    high = np.searchsorted(births, target, side="right")
    low = np.searchsorted(births, target - _BIRTH_WINDOW, side="left")
    low = np.minimum(low, np.maximum(high - 1, 0))
    pick = low + (rng.random(len(day)) * (high - low)).astype(np.int64)
    return (
        np.where(high > 0, candidates[np.minimum(pick, len(candidates) - 1)], -1)
        if len(candidates)
        else -(np.ones(len(day), dtype=np.int64))
    )


def _render_marriages(registrations: Registrations, people: Population) -> Render:
    def render(rows: np.ndarray) -> dict[str, np.ndarray]:
        husband, wife = registrations.husband[rows], registrations.wife[rows]
        marriage_certificate = registrations.marriage_certificate[rows]
        return {
            "certificate_no": registrations.certificate[rows],
            "registration_type": REGISTRATION_TYPES[registrations.kind[rows]],
            "marriage_certificate_no": np.where(marriage_certificate == "", None, marriage_certificate),
            "husband_id_number": people.id_numbers(husband),
            "husband_name": people.names(husband),
            "wife_id_number": people.id_numbers(wife),
            "wife_name": people.names(wife),
            "registered_on": format_dates(registrations.day[rows]),
            "registry_office": _OFFICES[registrations.office[rows]],
            "updated_at": format_timestamps(registrations.updated_at[rows]),
            "husband_person_id": husband + 1,
            "wife_person_id": wife + 1,
        }

    return render


def _orphan_marriage(registrations: Registrations) -> Callable:
    """A divorce naming a marriage certificate past the last one its office issued that year."""
    issued = registrations.certificate[registrations.kind == MARRIAGE]
    books, serials = np.strings.slice(issued, 0, 13), np.strings.slice(issued, 13, None).astype(np.int64)
    last_serial: dict[str, int] = {}
    for book, serial in zip(books.tolist(), serials.tolist(), strict=True):
        last_serial[book] = max(serial, last_serial.get(book, 0))

    def spoil(rng: np.random.Generator, true: dict[str, np.ndarray]) -> tuple[str, list, list[str]]:
        values, details = [], []
        certificates = true["marriage_certificate_no"].tolist()
        for certificate, step in zip(certificates, rng.integers(1, 50, len(certificates)).tolist(), strict=True):
            book = certificate[:13]
            wrong = f"{book}{last_serial.get(book, 0) + step:06d}"
            values.append(wrong)
            details.append(f"marriage certificate {wrong} does not exist, true {certificate}")
        return "marriage_certificate_no", values, details

    return spoil


# --- standard addresses --------------------------------------------------------------------------------------------

ADDRESSES = EventTable(
    ADDRESSES_TABLE,
    "address_id",
    (
        ("standard_address", "TEXT"),
        ("division_code", "TEXT"),
        ("street", "TEXT"),  # 街道 or 乡镇
        ("road", "TEXT"),  # road, or the village in a town
        ("house_number", "TEXT"),
        ("building", "TEXT"),
        ("longitude", "REAL"),
        ("latitude", "REAL"),
        ("updated_at", "TEXT"),
    ),
)


@dataclass(frozen=True, eq=False)
class StandardAddresses:
    address: np.ndarray  # text, sorted
    division: np.ndarray  # index into ZHENGZHOU_DIVISIONS
    street: np.ndarray
    road: np.ndarray
    house_number: np.ndarray
    building: np.ndarray  # empty in villages
    lon: np.ndarray
    lat: np.ndarray
    updated_at: np.ndarray  # seconds

    def __len__(self) -> int:
        return len(self.address)


def simulate_addresses(households: Households, *, seed: int, as_of: dt.date) -> StandardAddresses:
    """One standard address per distinct household address, split into its parts and placed near its street.

    The addresses are split a chunk at a time: splitting all at once makes a dozen whole-city string arrays.
    """
    rng = stream(seed, "civil_affairs/addresses")
    address, first, inverse = np.unique(households.address, return_index=True, return_inverse=True)
    address = address.astype(StringDType(), copy=False)  # already StringDType: a copy would cost hundreds of MB
    division = households.division[first]
    del first
    parts = street, road, house_number, building = tuple(np.empty(len(address), dtype=StringDType()) for _ in range(4))
    street_keys = []  # each chunk's distinct "division|street"
    for start in range(0, len(address), CHUNK_ROWS):
        chunk = slice(start, start + CHUNK_ROWS)
        for whole, part in zip(parts, _split_addresses(address[chunk], division[chunk]), strict=True):
            whole[chunk] = part
        street_keys.append(np.unique(_street_keys(division[chunk], street[chunk])))

    # Streets scatter round their division's centre, addresses round their street.
    streets = np.unique(np.concatenate(street_keys)) if street_keys else np.empty(0, dtype=StringDType())
    street_division = np.strings.partition(streets, _text("|"))[0].astype(np.int64)
    spread = np.where(_URBAN[street_division], 0.025, 0.07)
    street_centre = _CENTRE[street_division] + rng.normal(0, 1, (len(streets), 2)) * spread[:, None]
    street_position = {key: position for position, key in enumerate(streets.tolist())}
    street_index = np.empty(len(address), dtype=np.int64)
    for start in range(0, len(address), CHUNK_ROWS):
        chunk = slice(start, start + CHUNK_ROWS)
        keys, key_of_row = np.unique(_street_keys(division[chunk], street[chunk]), return_inverse=True)
        # not np.searchsorted: on StringDType it misplaces keys (NumPy 2.4)
        street_index[chunk] = np.array([street_position[key] for key in keys.tolist()], dtype=np.int64)[key_of_row]
    point = street_centre[street_index] + rng.normal(0, 0.004, (len(address), 2))
    del street_index
    lon = np.clip(point[:, 0], *CITY_BOUNDS[0]).round(6)
    lat = np.clip(point[:, 1], *CITY_BOUNDS[1]).round(6)
    del point

    since = np.full(len(address), np.iinfo(np.int64).max)
    np.minimum.at(since, inverse.ravel(), households.registered_at)
    updated = later_touch(rng, since, (day_number(as_of) + 1) * SECONDS_PER_DAY - 1, untouched_share=0.6)
    return StandardAddresses(address, division, street, road, house_number, building, lon, lat, updated)


def _split_addresses(address: np.ndarray, division: np.ndarray) -> tuple[np.ndarray, ...]:
    """Street (街道 or 乡镇), road (or village), house number and building (empty in villages) of each address."""
    prefix = 3 + np.strings.str_len(np.array([d.name for d in ZHENGZHOU_DIVISIONS], dtype=StringDType()))[division]
    rest = np.strings.slice(address, prefix, None)
    street, tail = np.empty(len(address), dtype=StringDType()), np.empty(len(address), dtype=StringDType())
    pending = np.ones(len(address), dtype=bool)
    for marker in ("街道", "镇", "乡"):
        before, sep, after = np.strings.partition(rest, _text(marker))
        found = pending & (sep != "")
        street[found] = np.strings.add(before[found], marker)
        tail[found] = after[found]
        pending &= ~found
    street[pending], tail[pending] = "", rest[pending]
    village = np.strings.find(tail, _text("村")) >= 0
    head, _, after_number = np.strings.partition(tail, _text("号"))
    road = np.strings.rstrip(head, _text("0123456789"))
    house_number = np.strings.add(np.strings.slice(head, np.strings.str_len(road), None), "号")
    building_part, sep, _ = np.strings.partition(after_number, _text("号楼"))
    building = np.where(sep != "", np.strings.add(building_part, "号楼"), "").astype(StringDType())
    village_name, _, village_rest = np.strings.partition(tail, _text("村"))
    road[village] = np.strings.add(village_name[village], "村")
    house_number[village] = village_rest[village]
    building[village] = ""
    return street, road, house_number, building


def _street_keys(division: np.ndarray, street: np.ndarray) -> np.ndarray:
    """'division index|street': a street name may recur in another division."""
    return concat(division.astype(StringDType()), "|", street)


def _text(value: str) -> np.ndarray:
    return np.asarray(value, dtype=StringDType())


def _render_addresses(addresses: StandardAddresses) -> Render:
    def render(rows: np.ndarray) -> dict[str, np.ndarray]:
        building = addresses.building[rows]
        return {
            "standard_address": addresses.address[rows],
            "division_code": DIVISION_CODES[addresses.division[rows]].astype("U6"),
            "street": addresses.street[rows],
            "road": addresses.road[rows],
            "house_number": addresses.house_number[rows],
            "building": np.where(building == "", None, building),
            "longitude": addresses.lon[rows],
            "latitude": addresses.lat[rows],
            "updated_at": format_timestamps(addresses.updated_at[rows]),
        }

    return render


def _stale_division(rng: np.random.Generator, true: dict[str, np.ndarray]) -> tuple[str, list, list[str]]:
    del rng
    codes = true["division_code"].tolist()
    details = [f"obsolete division code {STALE_DIVISION_CODE} (芒山区), true {code}" for code in codes]
    return "division_code", [STALE_DIVISION_CODE] * len(codes), details


# --- the system ----------------------------------------------------------------------------------------------------


def write_civil_registry(
    out_dir: Path,
    people: Population,
    households: Households,
    *,
    seed: int,
    scale: float,
    as_of: dt.date,
    defect_rate: float,
    truth_dir: Path,
) -> SystemOutput:
    """Write ``out_dir/civil_affairs/civil_registry.sqlite``, its true marriage registrations and its defects.

    ``scale`` is already reflected in ``people``; it is accepted so all generators share one signature.
    """
    del scale
    path = fresh_path(Path(out_dir) / CIVIL_REGISTRY[0] / f"{CIVIL_REGISTRY[1]}.sqlite")
    truth_dir = Path(truth_dir)
    truth_dir.mkdir(parents=True, exist_ok=True)

    registrations = simulate_marriages(people, seed=seed, as_of=as_of)
    render_marriages = _render_marriages(registrations, people)
    husband, wife = registrations.husband, registrations.wife
    marriage_plan = plan_defects(
        stream(seed, "defects/civil_registry/marriages"),
        len(registrations),
        defect_rate,
        [
            Kind("bad_check_digit", bad_check_digit("husband_id_number")),
            Kind("bad_check_digit", bad_check_digit("wife_id_number")),
            Kind("missing_field", missing("husband_name")),
            Kind("missing_field", missing("wife_name")),
            Kind("duplicate_row"),
            Kind("impossible_date", impossible_date("registered_on")),
            Kind("orphan_marriage", _orphan_marriage(registrations), registrations.kind == DIVORCE),
            Kind(
                HOMOPHONE_NAME,
                homophone("husband_name"),
                mistypable_parts(people.surname[husband], people.given1[husband], people.given2[husband]),
            ),
            Kind(
                HOMOPHONE_NAME,
                homophone("wife_name"),
                mistypable_parts(people.surname[wife], people.given1[wife], people.given2[wife]),
            ),
        ],
        render_marriages,
    )
    addresses = simulate_addresses(households, seed=seed, as_of=as_of)
    render_addresses = _render_addresses(addresses)
    in_huiji = addresses.division == HUIJI
    address_plan = plan_defects(
        stream(seed, "defects/civil_registry/addresses"),
        len(addresses),
        defect_rate * STALE_CODE_SHARE,
        [Kind("stale_division_code", _stale_division, in_huiji if in_huiji.any() else None)],
        render_addresses,
    )
    with sqlite_database(path) as connection, pq.ParquetWriter(truth_dir / TRUTH_FILE, MARRIAGES_TRUTH) as truth:
        write_table(connection, MARRIAGES, render_marriages, marriage_plan, truth)
        write_table(connection, ADDRESSES, render_addresses, address_plan)
    tables = [(MARRIAGES_TABLE, marriage_plan), (ADDRESSES_TABLE, address_plan)]
    write_defects(truth_dir / DEFECTS_FILE, [(*CIVIL_REGISTRY, table, plan) for table, plan in tables])
    key = "/".join(CIVIL_REGISTRY)
    return SystemOutput(
        key=key,
        location=f"sqlite:///{path}",
        counts={
            f"{key}/{MARRIAGES_TABLE}": marriage_plan.table_rows,
            f"{key}/{ADDRESSES_TABLE}": address_plan.table_rows,
        },
        defects={**marriage_plan.counts(MARRIAGE_DEFECT_KINDS), **address_plan.counts(ADDRESS_DEFECT_KINDS)},
    )
