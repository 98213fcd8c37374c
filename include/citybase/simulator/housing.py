"""Housing (住房保障和房屋管理局): the real-estate register (不动产登记) of flats and village houses.

Owners are adult residents from the household registration and the units lie in buildings of the
planning bureau's cadastre, so later stages can link three departments exactly as a real city's
base databases do: owner ID number -> person, building id -> building -> parcel -> division.
The system is a SQL database (a SQLite file in embedded mode) with known defects, like the others.

Call ``planning.write_land_planning`` first and pass the ``Cadastre`` it returns.
"""

from __future__ import annotations

import csv
import datetime as dt
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.dtypes import StringDType

from citybase.codes import ZHENGZHOU_DIVISIONS
from citybase.codes.id_number import ID_CHECK_CHARS
from citybase.simulator.formats import (
    SECONDS_PER_DAY,
    concat,
    day_number,
    digits,
    format_dates,
    format_timestamps,
    later_touch,
)
from citybase.simulator.output import SystemOutput
from citybase.simulator.planning import RURAL_HOUSING, URBAN_HOUSING, Cadastre
from citybase.simulator.population import DIVISION_SHARES, Households, Population
from citybase.simulator.sampling import allocate, runs, stream
from citybase.simulator.writer import BATCH_ROWS, CHUNK_ROWS, DEFECT_COLUMNS, sqlite_database

PROPERTY_REGISTRY = ("housing", "property_registry")  # (department, system)
REGISTRATIONS_PER_HOUSEHOLD = 0.9
DEFECTS_FILE = "defects_housing__property_registry.csv"
TRUTH_FILE = "property_registrations.parquet"
PROPERTY_DEFECT_KINDS = ("bad_check_digit", "missing_field", "duplicate_row", "orphan_building")
UNIFIED_REGISTRATION = dt.date(2016, 1, 1)  # certificates in this numbering since the 2015 regulations
ADULT_DAYS = 6575  # 18 years, counting the most leap days they can hold
SAME_DIVISION_SHARE = 0.85  # owners mostly own where their hukou is
_HEAD_WEIGHT, _ADULT_WEIGHT, _COLLECTIVE_WEIGHT = 4.0, 1.0, 0.1
# Certificates are issued by the city for its districts and by each county or county-level city.
_AUTHORITIES, _AUTHORITY_OF_DIVISION = np.unique(
    [division.name if division.code[4] != "0" else "郑州市" for division in ZHENGZHOU_DIVISIONS], return_inverse=True
)
_AUTHORITIES = _AUTHORITIES.astype(StringDType())

TABLE = "property_registrations"
DDL = f"""
    CREATE TABLE {TABLE} (
        registration_id INTEGER PRIMARY KEY,
        registration_no TEXT,
        owner_id_number TEXT,
        owner_name TEXT,
        building_id TEXT,
        unit TEXT,
        area_m2 REAL,
        registered_on TEXT,
        updated_at TEXT
    )"""
COLUMNS = ("registration_no", "owner_id_number", "owner_name", "building_id", "unit", "area_m2", "registered_on")
TRUTH_SCHEMA = pa.schema(
    [
        ("registration_id", pa.int64()),
        ("registration_no", pa.string()),
        ("owner_id_number", pa.string()),
        ("owner_name", pa.string()),
        ("owner_person_id", pa.int64()),  # the hukou person_id, which the system itself does not hold
        ("building_id", pa.string()),
        ("unit", pa.string()),
        ("area_m2", pa.float64()),
        ("registered_on", pa.string()),
        ("updated_at", pa.string()),
    ]
)


@dataclass(frozen=True, eq=False)
class Registrations:
    """One entry per registration, in registration_id order (id = position + 1)."""

    owner: np.ndarray  # index into Population
    building: np.ndarray  # index into the cadastre's buildings
    unit: np.ndarray  # text
    area: np.ndarray  # m²
    registered_on: np.ndarray  # day number
    number: np.ndarray  # certificate number text
    updated_at: np.ndarray  # seconds

    def __len__(self) -> int:
        return len(self.owner)


def write_property_registry(
    out_dir: Path,
    people: Population,
    households: Households,
    cadastre: Cadastre,
    *,
    seed: int,
    scale: float,
    as_of: dt.date,
    defect_rate: float,
    truth_dir: Path,
) -> SystemOutput:
    """Write ``out_dir/housing/property_registry.sqlite``, its true rows and its defects.

    ``scale`` is already reflected in ``households`` (0.9 registrations each); it is accepted so all
    generators share one signature.
    """
    del scale
    path = Path(out_dir) / PROPERTY_REGISTRY[0] / f"{PROPERTY_REGISTRY[1]}.sqlite"
    for stale in (path, *(path.with_name(path.name + s) for s in ("-journal", "-wal", "-shm"))):
        stale.unlink(missing_ok=True)
    truth_dir = Path(truth_dir)
    truth_dir.mkdir(parents=True, exist_ok=True)
    registrations = simulate_registrations(people, households, cadastre, seed=seed, as_of=as_of)
    defects = _plan_defects(stream(seed, "defects/property_registry"), registrations, people, cadastre, defect_rate)
    with sqlite_database(path) as connection:
        _write_table(connection, registrations, people, cadastre, defects, truth_dir / TRUTH_FILE)
    with (truth_dir / DEFECTS_FILE).open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(DEFECT_COLUMNS)
        writer.writerows((*PROPERTY_REGISTRY, TABLE, *record) for record in defects.records)
    counts = dict.fromkeys(PROPERTY_DEFECT_KINDS, 0)
    for record in defects.records:
        counts[record[1]] += 1
    key = "/".join(PROPERTY_REGISTRY)
    return SystemOutput(
        key=key,
        location=f"sqlite:///{path}",
        counts={f"{key}/{TABLE}": len(registrations) + len(defects.duplicate_of)},
        defects=counts,
    )


def simulate_registrations(
    people: Population, households: Households, cadastre: Cadastre, *, seed: int, as_of: dt.date
) -> Registrations:
    """Flats in residential buildings registered to adults, mostly in the division of their hukou."""
    rng = stream(seed, "housing/registrations")
    count = round(REGISTRATIONS_PER_HOUSEHOLD * len(households))
    last_day = day_number(as_of)
    adults = np.flatnonzero(people.birth <= last_day - ADULT_DAYS)
    if count == 0 or len(adults) == 0:
        raise ValueError("the city needs adult residents to own property")
    collective = households.collective[people.household[adults]]
    is_head = households.head[people.household[adults]] == adults
    weight = np.where(collective, _COLLECTIVE_WEIGHT, np.where(is_head, _HEAD_WEIGHT, _ADULT_WEIGHT))
    owner = adults[rng.choice(len(adults), count, p=weight / weight.sum())]
    del adults, collective, is_head, weight

    division = people.division[owner]
    elsewhere = rng.random(count) >= SAME_DIVISION_SHARE
    division[elsewhere] = rng.choice(len(ZHENGZHOU_DIVISIONS), int(elsewhere.sum()), p=DIVISION_SHARES)
    building, slot, per_floor = _place(rng, cadastre, division)
    # Pair owners and units division by division, at random within each (the few a full division turns
    # away end up in the neighbouring division of the sort order).
    owner = owner[np.lexsort((rng.random(count), division))]
    del division, elsewhere
    placed = np.lexsort((rng.random(count), cadastre.parcel_division[cadastre.building_parcel[building]]))
    building, slot, per_floor = building[placed], slot[placed], per_floor[placed]

    homestead = cadastre.building_land_use[building] == RURAL_HOUSING
    floors = cadastre.building_floors[building]
    stairwell = slot // (floors * per_floor) + 1
    floor = (slot // per_floor) % floors + 1
    room = slot % per_floor + 1
    unit = np.where(
        homestead,
        "整幢",
        concat(stairwell.astype(StringDType()), "单元", floor.astype(StringDType()), digits(room, 2)),
    ).astype(StringDType())
    area = np.where(
        homestead, rng.uniform(120, 280, count), np.clip(rng.lognormal(np.log(95), 0.3, count), 35, 300)
    ).round(2)
    completed = np.array([day_number(dt.date(int(year), 7, 1)) for year in range(1900, as_of.year + 1)])[
        cadastre.building_completed[building] - 1900
    ]
    earliest = np.maximum.reduce(
        [completed, people.birth[owner] + ADULT_DAYS, np.full(count, day_number(UNIFIED_REGISTRATION))]
    )
    earliest = np.minimum(earliest, last_day)
    registered = earliest + (rng.random(count) ** 0.7 * (last_day - earliest + 1)).astype(np.int64)

    del homestead, floors, stairwell, floor, room, completed, earliest, slot, per_floor, placed
    order = np.lexsort((rng.random(count), registered))  # the register numbers registrations as they come
    # One copy at a time, in narrow types: at scale 1.0 there are 3.7 million registrations.
    owner, building = owner.astype(np.int32)[order], building.astype(np.int32)[order]
    unit, area, registered = unit[order], area[order], registered.astype(np.int32)[order]
    del order
    authority = _AUTHORITY_OF_DIVISION[cadastre.parcel_division[cadastre.building_parcel[building]]]
    year = registered.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    by_book = np.lexsort((np.arange(count), year, authority))
    _, serial = runs((authority * 10_000 + year)[by_book])
    number = np.empty(count, dtype=np.int64)
    number[by_book] = serial + 1
    certificate = concat(
        "豫(", year.astype(StringDType()), ")", _AUTHORITIES[authority], "不动产权第", digits(number, 7), "号"
    )
    opened = registered.astype(np.int64) * SECONDS_PER_DAY + rng.integers(30_600, 63_000, count)
    updated = later_touch(rng, opened, (last_day + 1) * SECONDS_PER_DAY - 1, untouched_share=0.5)
    return Registrations(owner, building, unit, area, registered, certificate, updated)


def _place(
    rng: np.random.Generator, cadastre: Cadastre, division: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A residential building and a free unit slot for each registration, filling buildings by capacity.

    Returns the building, the slot (unique within the building) and the building's units per floor,
    in building order; ``division`` (where each owner would buy) sets how many units each division sells.
    """
    land_use = cadastre.building_land_use
    residential = np.flatnonzero((land_use == URBAN_HOUSING) | (land_use == RURAL_HOUSING))
    if len(residential) == 0:
        residential = np.arange(len(land_use))  # a city too small to have housing: people live anywhere
    per_floor = np.where(land_use[residential] == RURAL_HOUSING, 1, rng.integers(2, 5, len(residential)))
    footprint = cadastre.building_footprint[residential]
    stairwells = 1 + (footprint > 300) + (footprint > 700)
    capacity = np.where(
        land_use[residential] == RURAL_HOUSING, 1, cadastre.building_floors[residential] * per_floor * stairwells
    )
    building_division = cadastre.parcel_division[cadastre.building_parcel[residential]]
    supply = np.bincount(building_division, weights=capacity, minlength=len(ZHENGZHOU_DIVISIONS))
    demand = np.bincount(division, minlength=len(ZHENGZHOU_DIVISIONS))
    if demand.sum() > supply.sum():  # tiny cities: let units stack beyond the buildings' floors
        capacity = capacity * int(np.ceil(demand.sum() / supply.sum()))
        supply = np.bincount(building_division, weights=capacity, minlength=len(ZHENGZHOU_DIVISIONS))
    # Where a division's demand exceeds its housing, the excess buys in divisions with room to spare.
    excess = np.maximum(demand - supply, 0).astype(np.int64)
    demand = np.minimum(demand, supply).astype(np.int64)
    spare = supply - demand
    demand += allocate(int(excess.sum()), spare) if excess.sum() else 0

    counts = np.zeros(len(residential), dtype=np.int64)
    for index in range(len(ZHENGZHOU_DIVISIONS)):
        where = np.flatnonzero(building_division == index)
        if demand[index]:
            counts[where] = allocate(int(demand[index]), capacity[where])
    building = np.repeat(np.arange(len(residential)), counts)
    _, rank = runs(building)
    taken, cap = counts[building], capacity[building]
    low, high = rank * cap // taken, (rank + 1) * cap // taken  # spread the taken units over the building
    slot = low + (rng.random(len(building)) * (high - low)).astype(np.int64)
    return residential[building], slot, per_floor[building]


# --- defects and writing -------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Defects:
    duplicate_of: np.ndarray  # positions of the registrations entered twice, the copies following the true rows
    overrides: dict[str, tuple[np.ndarray, list[str | None]]]  # column -> (sorted positions, values)
    records: list[tuple[int, str, str, str]]  # (record_key, kind, column, detail)


def _plan_defects(
    rng: np.random.Generator, registrations: Registrations, people: Population, cadastre: Cadastre, rate: float
) -> _Defects:
    """A ``rate`` share of the rows split evenly across the kinds; one defect per row, none on an original."""
    rows = len(registrations)
    total = min(round(rate * rows / (1 - rate / len(PROPERTY_DEFECT_KINDS))), rows)
    chosen = rng.choice(rows, total, replace=False)
    bad_check, missing, duplicated, orphan = np.split(chosen, np.cumsum(allocate(total, np.ones(4)))[:-1])
    overrides: dict[str, dict[int, str | None]] = {"owner_id_number": {}, "owner_name": {}, "building_id": {}}
    records = []
    ids = people.id_numbers(registrations.owner[bad_check]).tolist()
    for row, code, shift in zip(bad_check.tolist(), ids, rng.integers(1, 11, len(ids)).tolist(), strict=True):
        wrong = ID_CHECK_CHARS[(ID_CHECK_CHARS.index(code[-1]) + shift) % len(ID_CHECK_CHARS)]
        overrides["owner_id_number"][row] = code[:-1] + wrong
        records.append((row + 1, "bad_check_digit", "owner_id_number", f"check character {wrong}, true {code[-1]}"))
    for row in missing.tolist():
        overrides["owner_name"][row] = None
        records.append((row + 1, "missing_field", "owner_name", "owner_name is NULL"))
    records.extend(
        (rows + copy + 1, "duplicate_row", "", f"duplicate of {original + 1}")
        for copy, original in enumerate(duplicated.tolist())
    )
    # An orphan names a building number past the last one on its parcel, so no such building exists.
    building = registrations.building[orphan]
    parcel = cadastre.building_parcel[building]
    on_parcel = np.bincount(cadastre.building_parcel, minlength=len(cadastre.parcel_number))[parcel]
    ghost = concat(cadastre.parcel_number[parcel], "F", digits(on_parcel + rng.integers(1, 10, len(orphan)), 4))
    true_ids = cadastre.building_id[building].tolist()
    for row, wrong, true in zip(orphan.tolist(), ghost.tolist(), true_ids, strict=True):
        overrides["building_id"][row] = wrong
        records.append((row + 1, "orphan_building", "building_id", f"building {wrong} does not exist, true {true}"))
    ordered = {column: sorted(changes.items()) for column, changes in overrides.items()}
    arrays = {
        column: (np.array([p for p, _ in changes], dtype=np.int64), [v for _, v in changes])
        for column, changes in ordered.items()
    }
    return _Defects(duplicated, arrays, sorted(records))


def _write_table(
    connection: sqlite3.Connection,
    registrations: Registrations,
    people: Population,
    cadastre: Cadastre,
    defects: _Defects,
    truth_path: Path,
) -> None:
    connection.execute(DDL)
    insert = f"INSERT INTO {TABLE} VALUES ({', '.join('?' * (len(COLUMNS) + 2))})"
    rows = len(registrations)
    order = np.r_[np.arange(rows), defects.duplicate_of].astype(np.int64)
    with pq.ParquetWriter(truth_path, TRUTH_SCHEMA) as truth:
        for start in range(0, len(order), CHUNK_ROWS):
            source = order[start : start + CHUNK_ROWS]
            owner = registrations.owner[source]
            columns = {
                "registration_id": np.arange(start + 1, start + len(source) + 1),
                "registration_no": registrations.number[source],
                "owner_id_number": people.id_numbers(owner),
                "owner_name": people.names(owner),
                "owner_person_id": owner + 1,
                "building_id": cadastre.building_id[registrations.building[source]],
                "unit": registrations.unit[source],
                "area_m2": registrations.area[source],
                "registered_on": format_dates(registrations.registered_on[source]),
                "updated_at": format_timestamps(registrations.updated_at[source]),
            }
            true_rows = max(0, min(len(source), rows - start))
            if true_rows:
                truth.write_table(
                    pa.Table.from_pydict({name: columns[name][:true_rows] for name in TRUTH_SCHEMA.names}, TRUTH_SCHEMA)
                )
            names = ("registration_id", *COLUMNS, "updated_at")
            for batch in range(0, len(source), BATCH_ROWS):  # Python objects for a batch at a time
                batch_stop = min(batch + BATCH_ROWS, len(source))
                values = {name: columns[name][batch:batch_stop].tolist() for name in names}
                for column, (positions, replacements) in defects.overrides.items():
                    first, last = np.searchsorted(positions, [start + batch, start + min(batch_stop, true_rows)])
                    changes = zip(positions[first:last].tolist(), replacements[first:last], strict=True)
                    for position, replacement in changes:
                        values[column][position - start - batch] = replacement
                connection.executemany(insert, zip(*(values[name] for name in names), strict=True))
    connection.execute(f"CREATE INDEX {TABLE}_updated_at ON {TABLE} (updated_at)")
