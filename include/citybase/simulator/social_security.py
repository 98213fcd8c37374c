"""HR & Social Security (人社局) social insurance records, served to citybase over a REST API.

Insured persons are drawn from the simulated residents and their employers from the simulated
business registry, so later stages can link the three systems by ID number and USCC exactly as a
real city's base databases do. Shares follow the broad shape of Zhengzhou's figures: most
working-age residents insured, about seven in ten of them through an employer, the rest as
flexible workers (灵活就业); some retirees drawing a pension; a few % of employers in arrears.

Volumes at scale 1.0 (12.6 M residents, 2 M market entities), seed 42, measured: 6.92 M insured
persons, 11.1 M contribution rows (the last 12 months of a 20 % sample of paying persons: the
ledger export is sampled so the table stays well under 20 M rows) and 21 k employers in arrears;
2.3 GB of SQLite, written in about 110 s (6 s at scale 0.1). Each scales linearly.

The store is one SQLite file, ``<data_dir>/hr_social_security/social_insurance.sqlite``, which the
API server (``api_server.py``) serves with keyset pagination on each table's integer key.

The defect planner here (``plan_record_defects``) is shared with the court system (``courts.py``):
API-fed systems carry more kinds of dirt than the SQL ones (lower-case x, stray whitespace,
references to entities the registry does not know, names re-keyed with a homophone typo).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.dtypes import StringDType

from citybase.codes.id_number import ID_CHECK_CHARS
from citybase.codes.uscc import USCC_ALPHABET
from citybase.simulator.api_server import API_PREFIX, register_api_tables
from citybase.simulator.defects import HOMOPHONE_NAME, DefectRecord, Defects, _impossible_dates, defect_weights
from citybase.simulator.formats import (
    SECONDS_PER_DAY,
    day_number,
    format_dates,
    format_timestamps,
    later_touch,
    office_hours,
    office_seconds,
    years_before,
)
from citybase.simulator.identifiers import uscc_codes
from citybase.simulator.market import LIVE, OPERATING, Enterprises
from citybase.simulator.names import mistypable_parts, mistype_names
from citybase.simulator.output import SystemOutput
from citybase.simulator.population import ADULT_AGE, DIVISION_CODES, Population
from citybase.simulator.sampling import allocate, stream
from citybase.simulator.writer import Table, Truth, sqlite_database, write_defects_csv, write_numbered_rows, write_rows

DEPARTMENT, SYSTEM = "hr_social_security", "social_insurance"
DEPARTMENT_ZH, SYSTEM_ZH = "郑州市人力资源和社会保障局", "社会保险信息系统"

API_DEFECT_KINDS = (
    "bad_check_digit",
    "lowercase_x",
    "missing_field",
    "stray_whitespace",
    "duplicate_row",
    "impossible_date",
    "orphan_reference",
    HOMOPHONE_NAME,
)

INSURANCE_TYPES = ("养老", "医疗", "失业", "工伤", "生育")
ALL_FIVE, PENSION_AND_MEDICAL = 0b11111, 0b00011
# Monthly contribution rate (employer + employee, rounded) per type, by position in INSURANCE_TYPES.
EMPLOYEE_RATES = np.array([0.24, 0.10, 0.01, 0.004, 0.007])
FLEXIBLE_RATES = np.array([0.20, 0.08, 0.0, 0.0, 0.0])
STATUSES = np.array(["参保缴费", "暂停缴费", "终止参保", "退休"], dtype=StringDType())
PAYING, SUSPENDED, TERMINATED, RETIRED = range(len(STATUSES))

RECORDS_START = day_number(dt.date(1998, 1, 1))  # records before the 1998 unification were not migrated
WORKING_AGE_INSURED = 0.78
WITH_EMPLOYER = 0.72  # of insured working-age residents; the others contribute as flexible workers
RETIREES_INSURED = 0.30  # many older residents are in the rural residents' scheme, another system
RETIREMENT_AGE = {"male": 60, "female": 55}  # the 2025 gradual reform is ignored
BASE_FLOOR, BASE_CEILING = 3_500.0, 19_000.0  # roughly Henan's contribution base bounds, yuan/month
MEAN_TENURE_YEARS = 6.0
CONTRIBUTION_MONTHS = 12
CONTRIBUTION_SAMPLE = 0.20
ARREARS_SHARE = 0.03  # of employers with paying employees
# Employer size: entity types differ in headcount; capital (万元) stands in for size within a type.
_EMPLOYER_TYPE_WEIGHT = np.array([0.4, 1.0, 3.0, 0.5, 0.5, 0.3])

_INSURANCE_TYPE_TEXT = np.array(
    [",".join(t for bit, t in enumerate(INSURANCE_TYPES) if mask >> bit & 1) for mask in range(32)],
    dtype=StringDType(),
)

INSURED_PERSONS = Table(
    name="insured_persons",
    ddl="""
        CREATE TABLE insured_persons (
            insured_id INTEGER PRIMARY KEY,
            id_number TEXT,
            name TEXT,
            insurance_types TEXT,
            employer_uscc TEXT,
            start_date TEXT,
            status TEXT,
            updated_at TEXT
        )""",
    key="insured_id",
    columns=("id_number", "name", "insurance_types", "employer_uscc", "start_date", "status", "updated_at"),
    indexes=("updated_at",),
)
CONTRIBUTIONS = Table(
    name="contributions",
    ddl="""
        CREATE TABLE contributions (
            contribution_id INTEGER PRIMARY KEY,
            insured_id INTEGER,
            month TEXT,
            base REAL,
            amount REAL,
            paid_at TEXT
        )""",
    key="contribution_id",
    columns=("insured_id", "month", "base", "amount", "paid_at"),
    indexes=("paid_at",),
)
ARREARS = Table(
    name="arrears",
    ddl="""
        CREATE TABLE arrears (
            arrears_id INTEGER PRIMARY KEY,
            employer_uscc TEXT,
            months_owed INTEGER,
            amount REAL,
            since TEXT,
            updated_at TEXT
        )""",
    key="arrears_id",
    columns=("employer_uscc", "months_owed", "amount", "since", "updated_at"),
    indexes=("updated_at",),
)
INSURED_TRUTH_COLUMNS = ("id_number", "name", "insurance_types", "employer_uscc", "start_date", "status", "person_id")
ARREARS_TRUTH_COLUMNS = ("employer_uscc", "months_owed", "amount", "since")


# ---------------------------------------------------------------------------------------------------
# Defects shared by the API-fed systems


@dataclass(frozen=True)
class RecordDefectTargets:
    """Which columns of a table each defect kind touches; None where the table has no such column."""

    id_column: str | None = None  # an 18-character GB 11643 ID number
    missing_columns: tuple[str, ...] = ()
    whitespace_columns: tuple[str, ...] = ()
    date_column: str | None = None  # 'YYYY-MM-DD'
    reference_column: str | None = None  # a USCC that should name a registered enterprise
    name_column: str | None = None  # a person's name, re-keyed from another system


_WHITESPACE = (("leading space", " {}"), ("trailing space", "{} "), ("trailing ideographic space", "{}\u3000"))


def plan_record_defects(
    rng: np.random.Generator,
    rows: int,
    defect_rate: float,
    targets: RecordDefectTargets,
    render: Callable[[np.ndarray], dict[str, np.ndarray]],
    as_of: dt.date,
    *,
    has_id: np.ndarray,
    id_ends_x: np.ndarray,
    has_reference: np.ndarray,
    orphan_codes: Callable[[np.random.Generator, int], np.ndarray],
    can_mistype: np.ndarray | None = None,
) -> Defects:
    """A ``defect_rate`` share of records, split over the kinds the table has columns for as
    ``defects.defect_weights`` says (homophone typos a fixed share, the other kinds evenly).

    As in ``defects.plan_defects``: every defective record carries exactly one defect and the
    original of a duplicate none. ``has_id``/``id_ends_x``/``has_reference``/``can_mistype`` say which
    rows can carry an ID defect, a lower-cased X, an orphan reference, or a homophone typo in the
    name; scarce kinds are placed first.
    """
    kinds = {
        "lowercase_x": id_ends_x if targets.id_column else None,
        "bad_check_digit": has_id if targets.id_column else None,
        "missing_field": has_id if targets.missing_columns else None,
        "orphan_reference": has_reference if targets.reference_column else None,
        HOMOPHONE_NAME: can_mistype if targets.name_column else None,
        "stray_whitespace": np.ones(rows, dtype=bool) if targets.whitespace_columns else None,
        "impossible_date": np.ones(rows, dtype=bool) if targets.date_column else None,
        "duplicate_row": np.ones(rows, dtype=bool),
    }
    kinds = {kind: eligible for kind, eligible in kinds.items() if eligible is not None}
    total = min(round(defect_rate * rows), rows)
    wanted = dict(zip(kinds, allocate(total, defect_weights(list(kinds))).tolist(), strict=True))
    order = rng.permutation(rows)
    free = np.ones(rows, dtype=bool)
    chosen: dict[str, np.ndarray] = {}
    for kind, eligible in kinds.items():
        candidates = order[(free & eligible)[order]]
        chosen[kind] = np.sort(candidates[: wanted[kind]])
        free[chosen[kind]] = False

    overrides: dict[str, list[tuple[int, str | None]]] = {}
    records: list[DefectRecord] = []

    def plant(row: int, kind: str, column: str, value: str | None, detail: str) -> None:
        overrides.setdefault(column, []).append((row, value))
        records.append(DefectRecord(row + 1, kind, column, detail))

    if targets.id_column:
        column = targets.id_column
        lowered = chosen["lowercase_x"]
        for row, code in zip(lowered.tolist(), render(lowered)[column].tolist(), strict=True):
            plant(row, "lowercase_x", column, code[:-1] + "x", "check character written x")
        rows_ = chosen["bad_check_digit"]
        codes = render(rows_)[column].tolist()
        shifts = rng.integers(1, len(ID_CHECK_CHARS), len(codes)).tolist()
        for row, code, shift in zip(rows_.tolist(), codes, shifts, strict=True):
            wrong = ID_CHECK_CHARS[(ID_CHECK_CHARS.index(code[-1]) + shift) % len(ID_CHECK_CHARS)]
            plant(row, "bad_check_digit", column, code[:-1] + wrong, f"check character {wrong}, true {code[-1]}")
    if targets.missing_columns:
        emptied = rng.choice(len(targets.missing_columns), len(chosen["missing_field"])).tolist()
        for row, index in zip(chosen["missing_field"].tolist(), emptied, strict=True):
            column = targets.missing_columns[index]
            plant(row, "missing_field", column, None, f"{column} is NULL")
    if targets.whitespace_columns:
        rows_ = chosen["stray_whitespace"]
        columns = rng.choice(len(targets.whitespace_columns), len(rows_)).tolist()
        styles = rng.choice(len(_WHITESPACE), len(rows_)).tolist()
        rendered = render(rows_)
        for position, (row, index, style) in enumerate(zip(rows_.tolist(), columns, styles, strict=True)):
            column = targets.whitespace_columns[index]
            what, template = _WHITESPACE[style]
            plant(row, "stray_whitespace", column, template.format(rendered[column][position]), what)
    if targets.reference_column:
        rows_ = chosen["orphan_reference"]
        for row, code in zip(rows_.tolist(), orphan_codes(rng, len(rows_)).tolist(), strict=True):
            plant(row, "orphan_reference", targets.reference_column, code, "USCC not in the business registry")
    if targets.date_column:
        rows_ = chosen["impossible_date"]
        true_dates = render(rows_)[targets.date_column].tolist()
        for row, true_date, impossible in zip(
            rows_.tolist(), true_dates, _impossible_dates(rng, true_dates, as_of), strict=True
        ):
            plant(row, "impossible_date", targets.date_column, impossible, f"{impossible}, true {true_date}")
    if targets.name_column:
        rows_ = chosen[HOMOPHONE_NAME]
        typed, details = mistype_names(rng, render(rows_)[targets.name_column])
        for row, value, detail in zip(rows_.tolist(), typed.tolist(), details.tolist(), strict=True):
            plant(row, HOMOPHONE_NAME, targets.name_column, value, detail)

    duplicated = rng.permutation(chosen["duplicate_row"])
    records.extend(
        DefectRecord(rows + copy + 1, "duplicate_row", "", f"duplicate of {original + 1}")
        for copy, original in enumerate(duplicated.tolist())
    )
    for changes in overrides.values():
        changes.sort(key=lambda change: change[0])
    return Defects(
        rows=rows,
        duplicate_of=duplicated,
        overrides={
            column: (np.array([row for row, _ in changes], dtype=np.int64), [value for _, value in changes])
            for column, changes in sorted(overrides.items())
        },
        records=sorted(records, key=lambda record: record.record_key),
    )


def unregistered_usccs(
    registered: np.ndarray, division: np.ndarray
) -> Callable[[np.random.Generator, int], np.ndarray]:
    """Valid-looking USCCs (check characters right) that the business registry does not hold."""

    def draw(rng: np.random.Generator, count: int) -> np.ndarray:
        codes = np.empty(0, dtype="U18")
        while len(codes) < count:
            n = count - len(codes)
            body = np.c_[np.full((n, 2), [USCC_ALPHABET.index("M"), USCC_ALPHABET.index("A")]),
                         rng.integers(0, len(USCC_ALPHABET), (n, 6))]  # fmt: skip
            fresh = uscc_codes("9", np.ones(n, dtype=np.int64), DIVISION_CODES[rng.choice(division, n)], body)
            codes = np.r_[codes, fresh[~np.isin(fresh, registered)]].astype("U18")
        return codes

    return draw


def remove_store(path: Path) -> None:
    """An earlier simulation's store and its journals (the writers expect a fresh file)."""
    for suffix in ("", "-journal", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def count_defects(*tables: Defects) -> dict[str, int]:
    counts = dict.fromkeys(API_DEFECT_KINDS, 0)
    for defects in tables:
        for record in defects.records:
            counts[record.kind] += 1
    return counts


def ages_on(birth: np.ndarray, as_of: dt.date, years: int) -> np.ndarray:
    """Whether each person (by birth day number) has turned ``years`` by ``as_of``."""
    return birth <= day_number(years_before(as_of, years))


def birthday_after(birth: np.ndarray, years: int | np.ndarray) -> np.ndarray:
    """Approximate day number of each person's ``years``-th birthday (within a day)."""
    return birth + np.round(np.asarray(years) * 365.25).astype(np.int64)


# ---------------------------------------------------------------------------------------------------
# The insured, their contributions, and employers in arrears


@dataclass(frozen=True, eq=False)
class Insured:
    """One entry per insured person, in insured_id order (insured_id = position + 1)."""

    person: np.ndarray  # index into Population
    employer: np.ndarray  # index into Enterprises; -1 for flexible workers and retirees
    types: np.ndarray  # bit mask over INSURANCE_TYPES
    start: np.ndarray  # day number
    status: np.ndarray  # index into STATUSES
    base: np.ndarray  # monthly contribution base, yuan
    updated_at: np.ndarray  # seconds

    def __len__(self) -> int:
        return len(self.person)

    def monthly_amount(self, which: np.ndarray) -> np.ndarray:
        """What the given insured persons pay a month: their base times the rates of the types they hold."""
        rates = np.where((self.employer[which] >= 0)[:, None], EMPLOYEE_RATES, FLEXIBLE_RATES)
        enrolled = (self.types[which][:, None] >> np.arange(len(INSURANCE_TYPES))) & 1
        return np.round(self.base[which] * (rates * enrolled).sum(axis=1), 2)


def simulate_insured(people: Population, enterprises: Enterprises, as_of: dt.date, seed: int) -> Insured:
    """Who is insured, with whom and since when, as of ``as_of``.

    Every draw is made for the whole city, but what follows from it is kept only for the insured (about
    three residents in five), in narrow types, and each intermediate is dropped once used.
    """
    rng = stream(seed, "social_security/insured")
    n = len(people)
    last_day = day_number(as_of)
    adult = ages_on(people.birth, as_of, ADULT_AGE)
    men, women = RETIREMENT_AGE["male"], RETIREMENT_AGE["female"]
    retired = np.where(people.male, ages_on(people.birth, as_of, men), ages_on(people.birth, as_of, women))
    working = adult & ~retired
    del adult
    insured_worker = working & (rng.random(n) < WORKING_AGE_INSURED)
    del working
    insured_retiree = retired & (rng.random(n) < RETIREES_INSURED)
    employed = insured_worker & (rng.random(n) < WITH_EMPLOYER)
    who = np.flatnonzero(insured_worker | insured_retiree)
    del insured_worker, insured_retiree
    retired, employed = retired[who], employed[who]

    live = np.isin(enterprises.status, [LIVE, OPERATING])
    if not live.any():
        employed[:] = False
    employer = np.full(len(who), -1, dtype=np.int32)
    if employed.any():
        capital = np.nan_to_num(enterprises.registered_capital, nan=1.0)
        weight = np.where(live, _EMPLOYER_TYPE_WEIGHT[enterprises.entity_type] * capital**0.6, 0.0)
        employer[employed] = rng.choice(len(enterprises), int(employed.sum()), p=weight / weight.sum())

    birth, male = people.birth[who], people.male[who]
    earliest = np.maximum(birthday_after(birth, ADULT_AGE), RECORDS_START)
    earliest = np.where(employed, np.maximum(earliest, enterprises.established_on[np.maximum(employer, 0)]), earliest)
    retirement_day = birthday_after(birth, np.where(male, men, women))
    del birth, male
    latest = np.where(retired, np.maximum(retirement_day, earliest), last_day)
    del retirement_day
    earliest = np.minimum(earliest, latest)
    # A job change opens a new record: the record's age is the tenure in the current job (exponential),
    # or, where that would predate what is possible, anywhere in the possible span.
    span = latest - earliest
    tenure = (rng.exponential(MEAN_TENURE_YEARS * 365.25, n)[who]).astype(np.int64)
    start = np.where(tenure <= span, latest - tenure, earliest + (span * rng.random(n)[who]).astype(np.int64))
    del span, tenure, latest, earliest

    paying, suspended = rng.random(n)[who] < 0.92, rng.random(n)[who] < 0.75
    status = np.select([retired, paying, suspended], [RETIRED, PAYING, SUSPENDED], TERMINATED).astype(np.int8)
    del retired, paying, suspended
    types = np.where(employed, ALL_FIVE, PENSION_AND_MEDICAL).astype(np.int8)
    base = np.clip(np.round(rng.lognormal(np.log(5_500), 0.5, n)[who]), BASE_FLOOR, BASE_CEILING)
    base = np.where(employed, base, np.where(rng.random(n)[who] < 0.7, BASE_FLOOR, np.round(BASE_FLOOR * 1.6)))
    del employed

    registered = start * SECONDS_PER_DAY + office_seconds(rng, n)[who]
    touched = later_touch(rng, registered, (last_day + 1) * SECONDS_PER_DAY - 1, 0.3, rows=who, of=n)
    order = np.lexsort((who, registered))  # the system numbers records as they are opened
    del registered
    return Insured(
        person=who[order].astype(np.int32),
        employer=employer[order],
        types=types[order],
        start=start[order].astype(np.int32),
        status=status[order],
        base=base[order],
        updated_at=touched[order],
    )


def insured_rows(insured: Insured, people: Population, enterprises: Enterprises, rows: np.ndarray) -> dict:
    """The text of the ``insured_persons`` columns (all but the key); ``person_id`` is for the ground truth."""
    person, employer = insured.person[rows], insured.employer[rows]
    uscc = enterprises.uscc[np.maximum(employer, 0)] if len(enterprises) else np.full(len(rows), "", dtype="U18")
    return {
        "id_number": people.id_numbers(person),
        "name": people.names(person),
        "insurance_types": _INSURANCE_TYPE_TEXT[insured.types[rows]],
        "employer_uscc": np.where(employer >= 0, uscc, None),
        "start_date": format_dates(insured.start[rows]),
        "status": STATUSES[insured.status[rows]],
        "updated_at": format_timestamps(insured.updated_at[rows]),
        "person_id": (person + 1).astype("U12"),
    }


@dataclass(frozen=True, eq=False)
class Arrears:
    employer: np.ndarray  # index into Enterprises
    months_owed: np.ndarray
    amount: np.ndarray
    since: np.ndarray  # day number: the first day of the first month owed
    updated_at: np.ndarray

    def __len__(self) -> int:
        return len(self.employer)


def _months(as_of: dt.date) -> np.ndarray:
    """The first day (day number) of each of the last CONTRIBUTION_MONTHS months up to ``as_of``'s month."""
    last = np.datetime64(as_of, "M")
    return (last - np.arange(CONTRIBUTION_MONTHS - 1, -1, -1)).astype("datetime64[D]").astype(np.int64)


def simulate_arrears(insured: Insured, enterprises: Enterprises, as_of: dt.date, seed: int) -> Arrears:
    """Employers that stopped paying a few months ago, owing their paying employees' contributions."""
    rng = stream(seed, "social_security/arrears")
    paying = (insured.status == PAYING) & (insured.employer >= 0)
    monthly_due = np.bincount(
        insured.employer[paying], weights=insured.monthly_amount(np.flatnonzero(paying)), minlength=len(enterprises)
    )
    employers = np.flatnonzero(monthly_due > 0)
    owing = np.sort(rng.choice(employers, round(len(employers) * ARREARS_SHARE), replace=False))
    months_owed = np.minimum(rng.geometric(0.35, len(owing)), CONTRIBUTION_MONTHS)
    months = _months(as_of)
    since = months[CONTRIBUTION_MONTHS - months_owed]
    last_second = (day_number(as_of) + 1) * SECONDS_PER_DAY - 1
    updated_at = np.minimum(office_hours(rng, months[-1] + rng.integers(0, 28, len(owing))), last_second)
    return Arrears(owing, months_owed, np.round(monthly_due[owing] * months_owed, 2), since, updated_at)


def arrears_rows(arrears: Arrears, enterprises: Enterprises, rows: np.ndarray) -> dict:
    return {
        "employer_uscc": enterprises.uscc[arrears.employer[rows]],
        "months_owed": arrears.months_owed[rows],
        "amount": arrears.amount[rows],
        "since": format_dates(arrears.since[rows]),
        "updated_at": format_timestamps(arrears.updated_at[rows]),
    }


@dataclass(frozen=True, eq=False)
class Contributions:
    """One entry per (insured person, month) paid, in contribution_id order (month, then insured_id)."""

    insured: np.ndarray  # index into Insured
    month: np.ndarray  # day number of the month's first day
    paid_at: np.ndarray  # seconds

    def __len__(self) -> int:
        return len(self.insured)


def simulate_contributions(
    insured: Insured, arrears: Arrears, enterprises: Enterprises, as_of: dt.date, seed: int
) -> Contributions:
    """The last 12 months' payments of a sample of paying persons; nothing for months their employer owes."""
    rng = stream(seed, "social_security/contributions")
    paying = np.flatnonzero(insured.status == PAYING)
    sample = np.sort(paying[rng.random(len(paying)) < CONTRIBUTION_SAMPLE]).astype(np.int32)
    months = _months(as_of)
    who = np.repeat(sample, CONTRIBUTION_MONTHS)
    month_index = np.tile(np.arange(CONTRIBUTION_MONTHS, dtype=np.int32), len(sample))
    owed_from = np.full(len(enterprises) + 1, CONTRIBUTION_MONTHS, dtype=np.int32)  # last slot: no employer
    owed_from[arrears.employer] = CONTRIBUTION_MONTHS - arrears.months_owed
    start_month = insured.start[who].astype("datetime64[D]").astype("datetime64[M]").astype("datetime64[D]")
    keep = (months[month_index] >= start_month.astype(np.int64)) & (month_index < owed_from[insured.employer[who]])
    who, month_index = who[keep], month_index[keep]
    order = np.lexsort((who, month_index))
    who, month_index = who[order], month_index[order]
    last_second = (day_number(as_of) + 1) * SECONDS_PER_DAY - 1
    paid_at = np.minimum(office_hours(rng, months[month_index] + rng.integers(4, 25, len(who))), last_second)
    return Contributions(who, months[month_index], paid_at)


def contribution_rows(contributions: Contributions, insured: Insured, rows: np.ndarray) -> dict:
    who = contributions.insured[rows]
    month = contributions.month[rows].astype("datetime64[D]").astype("datetime64[M]").astype("U7")
    return {
        "contribution_id": rows + 1,
        "insured_id": who.astype(np.int64) + 1,
        "month": np.strings.replace(month, "-", ""),
        "base": insured.base[who],
        "amount": insured.monthly_amount(who),
        "paid_at": format_timestamps(contributions.paid_at[rows]),
    }


# ---------------------------------------------------------------------------------------------------
# The generator simulate() calls


def store_path(data_dir: Path) -> Path:
    return Path(data_dir) / DEPARTMENT / f"{SYSTEM}.sqlite"


def write_social_insurance(
    data_dir: Path,
    people: Population,
    enterprises: Enterprises,
    *,
    seed: int,
    scale: float,
    as_of: dt.date,
    defect_rate: float,
    truth_dir: Path,
) -> SystemOutput:
    """Write the social insurance store with its planted defects, and the ground truth.

    ``scale`` is implied by ``people`` and ``enterprises`` (already drawn at that scale); it is taken
    for a uniform generator signature. ``location`` in the result is the API path the server mounts
    the system at, relative to the server's URL.
    """
    del scale
    path = store_path(data_dir)
    remove_store(path)
    truth_dir = Path(truth_dir)
    truth_dir.mkdir(parents=True, exist_ok=True)
    insured = simulate_insured(people, enterprises, as_of, seed)
    arrears = simulate_arrears(insured, enterprises, as_of, seed)
    contributions = simulate_contributions(insured, arrears, enterprises, as_of, seed)
    orphans = unregistered_usccs(enterprises.uscc, np.arange(len(DIVISION_CODES)))

    def render_insured(rows: np.ndarray) -> dict:
        return insured_rows(insured, people, enterprises, rows)

    def render_arrears(rows: np.ndarray) -> dict:
        return arrears_rows(arrears, enterprises, rows)

    insured_defects = plan_record_defects(
        stream(seed, "social_security/defects/insured_persons"),
        len(insured),
        defect_rate,
        RecordDefectTargets(
            id_column="id_number",
            missing_columns=("id_number", "name"),
            whitespace_columns=("name", "id_number"),
            date_column="start_date",
            reference_column="employer_uscc",
            name_column="name",
        ),
        render_insured,
        as_of,
        has_id=np.ones(len(insured), dtype=bool),
        id_ends_x=people.id_check[insured.person] == ID_CHECK_CHARS.index("X"),
        has_reference=insured.employer >= 0,
        orphan_codes=orphans,
        can_mistype=mistypable_parts(
            people.surname[insured.person], people.given1[insured.person], people.given2[insured.person]
        ),
    )
    arrears_defects = plan_record_defects(
        stream(seed, "social_security/defects/arrears"),
        len(arrears),
        defect_rate,
        RecordDefectTargets(
            whitespace_columns=("employer_uscc",), date_column="since", reference_column="employer_uscc"
        ),
        render_arrears,
        as_of,
        has_id=np.zeros(len(arrears), dtype=bool),
        id_ends_x=np.zeros(len(arrears), dtype=bool),
        has_reference=np.ones(len(arrears), dtype=bool),
        orphan_codes=orphans,
    )
    with sqlite_database(path) as connection:
        write_numbered_rows(
            connection,
            INSURED_PERSONS,
            render_insured,
            insured_defects,
            Truth(truth_dir / "insured_persons.parquet", INSURED_TRUTH_COLUMNS),
            on_chunk=_ignore,
        )
        write_rows(
            connection,
            CONTRIBUTIONS,
            len(contributions),
            lambda rows: contribution_rows(contributions, insured, rows),
            on_chunk=_ignore,
        )
        write_numbered_rows(
            connection,
            ARREARS,
            render_arrears,
            arrears_defects,
            Truth(truth_dir / "arrears.parquet", ARREARS_TRUTH_COLUMNS),
            on_chunk=_ignore,
        )
        _register(connection, [(INSURED_PERSONS, "updated_at"), (CONTRIBUTIONS, "paid_at"), (ARREARS, "updated_at")])
    write_defects_csv(
        truth_dir / f"defects_{DEPARTMENT}__{SYSTEM}.csv",
        [
            (DEPARTMENT, SYSTEM, INSURED_PERSONS.name, insured_defects),
            (DEPARTMENT, SYSTEM, ARREARS.name, arrears_defects),
        ],
    )
    key = f"{DEPARTMENT}/{SYSTEM}"
    return SystemOutput(
        key=key,
        location=f"{API_PREFIX}/{SYSTEM}",
        counts={
            f"{key}/{INSURED_PERSONS.name}": insured_defects.table_rows,
            f"{key}/{CONTRIBUTIONS.name}": len(contributions),
            f"{key}/{ARREARS.name}": arrears_defects.table_rows,
        },
        defects=count_defects(insured_defects, arrears_defects),
    )


def _register(connection: sqlite3.Connection, tables: list[tuple[Table, str]]) -> None:
    register_api_tables(connection, [(table.name, table.key, cursor) for table, cursor in tables])


def _ignore(_rows: int) -> None:
    """Progress callback for the writers; ``simulate`` shows one step per system instead."""
