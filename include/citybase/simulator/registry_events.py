"""Historic events in the two registries ``simulate`` writes: hukou moves and name changes (公安户籍),
annual reports, licences and administrative penalties (市场监管).

The events agree with the registries' current state: a person's latest move ends at their current
address, a name change ends at their current name, and reports, licences and penalties name existing
market entities (except the planted orphans). Tables are added to the existing SQLite files; the
tables already there are left alone. Call after ``simulate`` (or whatever wrote those files).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
from numpy.dtypes import StringDType

from citybase.codes import ZHENGZHOU_DIVISIONS
from citybase.codes.uscc import organization_code_check_char, uscc_check_char
from citybase.simulator import names
from citybase.simulator.civil_affairs import (
    EventTable,
    Kind,
    Plan,
    Render,
    bad_check_digit,
    impossible_date,
    missing,
    plan_defects,
    write_defects,
    write_table,
)
from citybase.simulator.formats import (
    SECONDS_PER_DAY,
    concat,
    day_number,
    digits,
    format_dates,
    format_timestamps,
    later_touch,
    office_hours,
)
from citybase.simulator.market import CANCELLED, INDIVIDUAL, REVOKED, Enterprises
from citybase.simulator.output import SystemOutput
from citybase.simulator.places import DIVISION_NAMES, draw_addresses
from citybase.simulator.population import DIVISION_CODES, HUKOU_REGULATIONS, Households, Population
from citybase.simulator.sampling import runs, stream
from citybase.simulator.systems import BUSINESS_REGISTRY, HUKOU
from citybase.simulator.writer import sqlite_database

DEFECTS_FILE = "defects_registry_events.csv"
MOVER_SHARE = 0.2  # residents with recorded moves (户口迁移)
SAME_DIVISION_MOVE = 0.6
NAME_CHANGE_SHARE = 0.005
ANNUAL_REPORTS_SINCE = 2013  # 企业信息公示暂行条例: reports for 2013 on, filed from 2014
INDIVIDUAL_REPORTS_SINCE = 2014  # 个体工商户年度报告暂行办法
REPORT_RATE = 0.9
LICENSED_SHARE, SECOND_LICENCE_SHARE = 0.3, 0.1
LICENCE_YEARS = 5
PENALTIES_PER_ENTITY_YEAR = 0.01
PENALTIES_SINCE = dt.date(2014, 1, 1)

NAME_CHANGE_REASONS = np.array(
    ["本人申请变更姓名", "未成年人随父姓", "未成年人随母姓", "姓名用字更正", "离婚后子女变更姓氏"], dtype=StringDType()
)
_SURNAME_REASONS, _GIVEN_REASONS = np.array([1, 2, 4]), np.array([0, 3])
REVENUE_BANDS = np.array(
    ["100万元以下", "100万-500万元", "500万-1000万元", "1000万-5000万元", "5000万元-1亿元", "1亿元以上"],
    dtype=StringDType(),
)
_REVENUE_EDGES = np.array([100.0, 500.0, 1000.0, 5000.0, 10000.0])  # 万元
_EMPLOYEES_MEDIAN = np.array([2.0, 8.0, 60.0, 4.0, 6.0, 8.0])  # by entity type
# (licence type, number prefix, issuing body suffix, weight for 个体工商户, weight for the others)
_LICENCES = (
    ("食品经营许可证", "JY", "市场监督管理局", 0.6, 0.3),
    ("卫生许可证", "豫卫公证字", "卫生健康委员会", 0.15, 0.1),
    ("药品经营许可证", "豫AA", "市场监督管理局", 0.05, 0.05),
    ("道路运输经营许可证", "豫交运管许可郑字", "交通运输局", 0.1, 0.15),
    ("烟草专卖零售许可证", "", "烟草专卖局", 0.1, 0.02),
    ("建筑业企业资质证书", "D2", "城乡建设局", 0.0, 0.15),
    ("工业产品生产许可证", "豫XK", "市场监督管理局", 0.0, 0.13),
    ("特种设备使用登记证", "容", "市场监督管理局", 0.0, 0.1),
)
LICENCE_TYPES = np.array([row[0] for row in _LICENCES], dtype=StringDType())
_LICENCE_PREFIX = np.array([row[1] for row in _LICENCES], dtype=StringDType())
_LICENCE_ISSUER = np.array([row[2] for row in _LICENCES], dtype=StringDType())
_LICENCE_WEIGHTS = np.array([[row[3] for row in _LICENCES], [row[4] for row in _LICENCES]])
# (violation, median fine in 元)
_VIOLATIONS = (
    ("销售过期食品", 5000),
    ("未按规定公示年度报告", 1000),
    ("虚假宣传", 30000),
    ("价格违法行为", 10000),
    ("无证经营", 10000),
    ("销售不合格产品", 20000),
    ("计量器具未经检定", 3000),
    ("商标侵权", 50000),
    ("特种设备未按规定定期检验", 30000),
    ("食品经营场所卫生不符合要求", 2000),
)
VIOLATIONS = np.array([row[0] for row in _VIOLATIONS], dtype=StringDType())
_FINE_MEDIANS = np.array([row[1] for row in _VIOLATIONS], dtype=np.float64)

MOVES = EventTable(
    "moves",
    "move_id",
    (
        ("person_id", "INTEGER"),
        ("id_number", "TEXT"),
        ("from_division_code", "TEXT"),
        ("from_address", "TEXT"),
        ("to_division_code", "TEXT"),
        ("to_address", "TEXT"),
        ("moved_on", "TEXT"),
        ("updated_at", "TEXT"),
    ),
)
NAME_CHANGES = EventTable(
    "name_changes",
    "change_id",
    (
        ("person_id", "INTEGER"),
        ("id_number", "TEXT"),
        ("old_name", "TEXT"),
        ("new_name", "TEXT"),
        ("changed_on", "TEXT"),
        ("reason", "TEXT"),
        ("updated_at", "TEXT"),
    ),
)
ANNUAL_REPORTS = EventTable(
    "annual_reports",
    "report_id",
    (
        ("uscc", "TEXT"),
        ("report_year", "INTEGER"),
        ("employees", "INTEGER"),
        ("revenue_band", "TEXT"),
        ("submitted_on", "TEXT"),
        ("updated_at", "TEXT"),
    ),
)
LICENCES = EventTable(
    "licences",
    "licence_id",
    (
        ("uscc", "TEXT"),
        ("licence_type", "TEXT"),
        ("licence_no", "TEXT"),
        ("issued_by", "TEXT"),
        ("valid_from", "TEXT"),
        ("valid_to", "TEXT"),
        ("updated_at", "TEXT"),
    ),
)
PENALTIES = EventTable(
    "penalties",
    "penalty_id",
    (
        ("uscc", "TEXT"),
        ("decision_no", "TEXT"),
        ("violation", "TEXT"),
        ("fine_amount", "REAL"),
        ("decided_on", "TEXT"),
        ("updated_at", "TEXT"),
    ),
)
HUKOU_DEFECT_KINDS = ("bad_check_digit", "missing_field", "duplicate_row", "orphan_person", "impossible_date")
BUSINESS_DEFECT_KINDS = ("orphan_uscc", "duplicate_row", "missing_field", "impossible_date")


def write_registry_events(
    out_dir: Path,
    people: Population,
    households: Households,
    enterprises: Enterprises,
    *,
    seed: int,
    scale: float,
    as_of: dt.date,
    defect_rate: float,
    truth_dir: Path,
) -> list[SystemOutput]:
    """Add moves and name_changes to ``out_dir/public_security/hukou.sqlite`` and annual_reports, licences and
    penalties to ``out_dir/market_regulation/business_registry.sqlite``; defects to ``truth_dir``.

    ``scale`` is already reflected in ``people`` and ``enterprises``; it is accepted so all generators share
    one signature.
    """
    del scale
    out_dir, truth_dir = Path(out_dir), Path(truth_dir)
    truth_dir.mkdir(parents=True, exist_ok=True)
    hukou_path = out_dir / HUKOU[0] / f"{HUKOU[1]}.sqlite"
    registry_path = out_dir / BUSINESS_REGISTRY[0] / f"{BUSINESS_REGISTRY[1]}.sqlite"
    for path in (hukou_path, registry_path):
        if not path.exists():
            raise FileNotFoundError(f"{path} does not exist: write the registries (simulate) first")
    last = day_number(as_of)
    end = (last + 1) * SECONDS_PER_DAY - 1
    orphan_person = _orphan_person(len(people))

    moves = _render_moves(_simulate_moves(people, households, seed, last, end), people, households)
    changes = _render_name_changes(_simulate_name_changes(people, seed, last, end), people)
    move_plan = plan_defects(
        stream(seed, "defects/hukou/moves"),
        moves.rows,
        defect_rate,
        [
            Kind("bad_check_digit", bad_check_digit("id_number")),
            Kind("missing_field", missing("to_address")),
            Kind("duplicate_row"),
            Kind("orphan_person", orphan_person),
        ],
        moves,
    )
    change_plan = plan_defects(
        stream(seed, "defects/hukou/name_changes"),
        changes.rows,
        defect_rate,
        [Kind("missing_field", missing("old_name")), Kind("impossible_date", impossible_date("changed_on"))],
        changes,
    )
    with sqlite_database(hukou_path) as connection:
        write_table(connection, MOVES, moves, move_plan)
        write_table(connection, NAME_CHANGES, changes, change_plan)
    del moves, changes  # written: their arrays need not outlive them while the business registry's are made

    orphan_uscc = _orphan_uscc(enterprises)
    reports = _render_reports(_simulate_reports(enterprises, seed, as_of, end), enterprises)
    licences = _render_licences(_simulate_licences(enterprises, seed, last, end), enterprises)
    penalties = _render_penalties(_simulate_penalties(enterprises, seed, last, end), enterprises)
    report_plan = plan_defects(
        stream(seed, "defects/business_registry/annual_reports"),
        reports.rows,
        defect_rate,
        [Kind("orphan_uscc", orphan_uscc), Kind("duplicate_row"), Kind("missing_field", missing("revenue_band"))],
        reports,
    )
    licence_plan = plan_defects(
        stream(seed, "defects/business_registry/licences"),
        licences.rows,
        defect_rate,
        [Kind("orphan_uscc", orphan_uscc), Kind("impossible_date", _expired_before_valid)],
        licences,
    )
    penalty_plan = plan_defects(
        stream(seed, "defects/business_registry/penalties"),
        penalties.rows,
        defect_rate,
        [Kind("orphan_uscc", orphan_uscc), Kind("missing_field", missing("violation"))],
        penalties,
    )
    with sqlite_database(registry_path) as connection:
        write_table(connection, ANNUAL_REPORTS, reports, report_plan)
        write_table(connection, LICENCES, licences, licence_plan)
        write_table(connection, PENALTIES, penalties, penalty_plan)

    hukou_tables = [(MOVES.name, move_plan), (NAME_CHANGES.name, change_plan)]
    business_tables = [
        (ANNUAL_REPORTS.name, report_plan),
        (LICENCES.name, licence_plan),
        (PENALTIES.name, penalty_plan),
    ]
    write_defects(
        truth_dir / DEFECTS_FILE,
        [(*HUKOU, table, plan) for table, plan in hukou_tables]
        + [(*BUSINESS_REGISTRY, table, plan) for table, plan in business_tables],
    )
    return [
        _output(HUKOU, hukou_path, hukou_tables, HUKOU_DEFECT_KINDS),
        _output(BUSINESS_REGISTRY, registry_path, business_tables, BUSINESS_DEFECT_KINDS),
    ]


def _output(
    system: tuple[str, str], path: Path, tables: list[tuple[str, Plan]], kinds: tuple[str, ...]
) -> SystemOutput:
    key = "/".join(system)
    counts = dict.fromkeys(kinds, 0)
    for _, plan in tables:
        for kind, count in plan.counts(kinds).items():
            counts[kind] += count
    return SystemOutput(
        key=key,
        location=f"sqlite:///{path}",
        counts={f"{key}/{table}": plan.table_rows for table, plan in tables},
        defects=counts,
    )


class _Rendered:
    """A render function that also knows how many true rows its table has."""

    def __init__(self, rows: int, render: Render) -> None:
        self.rows, self._render = rows, render

    def __call__(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        return self._render(rows)


def _in_order(rng: np.random.Generator, day: np.ndarray, *tiebreaks: np.ndarray) -> np.ndarray:
    """Systems number events as they come: by day, then the tiebreaks (last first), then at random."""
    return np.lexsort((rng.random(len(day)), *tiebreaks, day))


def _years(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


def _new_year(year: np.ndarray) -> np.ndarray:
    """The day number of 1 January of each year."""
    return (np.asarray(year) - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)


# --- hukou ---------------------------------------------------------------------------------------------------------


def _simulate_moves(people: Population, households: Households, seed: int, last: int, end: int) -> dict:
    """Chains of 1-4 moves per mover, the last ending at the household address the person is registered at."""
    rng = stream(seed, "registry_events/moves")
    movers = np.flatnonzero(rng.random(len(people)) < MOVER_SHARE)
    per_mover = np.minimum(rng.geometric(0.6, len(movers)), 4)
    person = np.repeat(movers, per_mover)
    _, rank = runs(person)
    count = len(person)
    is_last = np.r_[person[1:] != person[:-1], True] if count else np.empty(0, dtype=bool)
    low = np.maximum(people.birth[person], HUKOU_REGULATIONS)
    low = np.minimum(low, last)
    household = people.household[person]
    arrived = np.minimum(np.maximum(households.registered_at[household] // SECONDS_PER_DAY, low), last)
    day = low + (rng.random(count) * (last - low + 1)).astype(np.int64)
    # Sort each person's dates, then make sure the last move is not before the household was registered.
    order = np.lexsort((day, person))
    day = day[order]
    day = np.where(is_last, np.maximum(day, arrived), day)

    to_division = people.division[person]
    from_division = np.where(
        rng.random(count) < SAME_DIVISION_MOVE,
        to_division,
        rng.integers(0, len(ZHENGZHOU_DIVISIONS), count),
    )
    from_address = draw_addresses(rng, from_division, "home")
    # Each earlier move ends where the next one starts; the last at the household's address. The texts are
    # picked when rendering: a whole-city copy of the destination addresses would cost hundreds of MB.
    chained = np.flatnonzero(~is_last)
    to_division[chained] = from_division[chained + 1]
    order = _in_order(rng, day, rank, person)
    updated = later_touch(rng, office_hours(rng, day), end, untouched_share=0.85)
    position = np.empty(count, dtype=np.int64)
    position[order] = np.arange(count)
    to_move = np.full(count, -1, dtype=np.int64)  # the move (in table order) whose from_address is the to_address
    to_move[chained] = position[chained + 1]
    moves = {
        "person": person,
        "day": day,
        "from_division": from_division,
        "from_address": from_address,
        "to_division": to_division,
        "to_household": np.where(is_last, household, -1),
        "to_move": to_move,
        "updated_at": updated,
    }
    del person, day, from_division, from_address, to_division, household, updated, to_move, position
    for name in moves:  # one whole-city copy at a time
        moves[name] = moves[name][order]
    return moves


def _render_moves(moves: dict, people: Population, households: Households) -> _Rendered:
    def render(rows: np.ndarray) -> dict[str, np.ndarray]:
        person = moves["person"][rows]
        to_household, to_move = moves["to_household"][rows], moves["to_move"][rows]
        to_address = np.empty(len(rows), dtype=StringDType())
        to_address[to_household >= 0] = households.address[to_household[to_household >= 0]]
        to_address[to_move >= 0] = moves["from_address"][to_move[to_move >= 0]]
        return {
            "person_id": person + 1,
            "id_number": people.id_numbers(person),
            "from_division_code": DIVISION_CODES[moves["from_division"][rows]].astype("U6"),
            "from_address": moves["from_address"][rows],
            "to_division_code": DIVISION_CODES[moves["to_division"][rows]].astype("U6"),
            "to_address": to_address,
            "moved_on": format_dates(moves["day"][rows]),
            "updated_at": format_timestamps(moves["updated_at"][rows]),
        }

    return _Rendered(len(moves["person"]), render)


def _simulate_name_changes(people: Population, seed: int, last: int, end: int) -> dict:
    """One earlier name per person who changed it: a different surname (children mostly) or given name."""
    rng = stream(seed, "registry_events/name_changes")
    person = np.flatnonzero(rng.random(len(people)) < NAME_CHANGE_SHARE)
    count = len(person)
    surname_change = rng.random(count) < 0.4
    old_surname = people.surname[person].copy()
    shift = rng.integers(1, len(names.SURNAMES), count)
    old_surname[surname_change] = (old_surname[surname_change] + shift[surname_change]) % len(names.SURNAMES)
    birth_year = _years(people.birth[person])
    given1, given2 = names.draw_given_names(rng, people.male[person], birth_year)
    same = (given1 == people.given1[person]) & (given2 == people.given2[person])
    given1 = np.where(same, (given1 + 1) % names.NO_CHAR, given1)  # a new given name always differs
    old_given1 = np.where(surname_change, people.given1[person], given1)
    old_given2 = np.where(surname_change, people.given2[person], given2)
    reason = np.where(
        surname_change,
        _SURNAME_REASONS[rng.integers(0, len(_SURNAME_REASONS), count)],
        _GIVEN_REASONS[rng.integers(0, len(_GIVEN_REASONS), count)],
    )
    low = np.minimum(people.birth[person] + 30, last)
    day = low + (rng.random(count) * (last - low + 1)).astype(np.int64)
    order = _in_order(rng, day, person)
    updated = later_touch(rng, office_hours(rng, day), end, untouched_share=0.9)
    return {
        "person": person[order],
        "old": names.render_names(old_surname[order], old_given1[order], old_given2[order]),
        "reason": reason[order],
        "day": day[order],
        "updated_at": updated[order],
    }


def _render_name_changes(changes: dict, people: Population) -> _Rendered:
    def render(rows: np.ndarray) -> dict[str, np.ndarray]:
        person = changes["person"][rows]
        return {
            "person_id": person + 1,
            "id_number": people.id_numbers(person),
            "old_name": changes["old"][rows],
            "new_name": people.names(person),
            "changed_on": format_dates(changes["day"][rows]),
            "reason": NAME_CHANGE_REASONS[changes["reason"][rows]],
            "updated_at": format_timestamps(changes["updated_at"][rows]),
        }

    return _Rendered(len(changes["person"]), render)


def _orphan_person(residents: int):
    def spoil(rng: np.random.Generator, true: dict[str, np.ndarray]) -> tuple[str, list, list[str]]:
        ids = true["person_id"].tolist()
        wrong = (residents + rng.integers(1, 1000, len(ids))).tolist()
        details = [f"person {w} does not exist, true {t}" for w, t in zip(wrong, ids, strict=True)]
        return "person_id", wrong, details

    return spoil


# --- business registry ---------------------------------------------------------------------------------------------


def _simulate_reports(enterprises: Enterprises, seed: int, as_of: dt.date, end: int) -> dict:
    """A report for most years an entity existed, filed January to June of the next year."""
    rng = stream(seed, "registry_events/annual_reports")
    count = len(enterprises)
    since = np.where(enterprises.entity_type == INDIVIDUAL, INDIVIDUAL_REPORTS_SINCE, ANNUAL_REPORTS_SINCE)
    first = np.maximum(_years(enterprises.established_on), since)
    final = np.full(count, as_of.year - 1)
    closed = (enterprises.status == CANCELLED) | (enterprises.status == REVOKED)
    final[closed] = first[closed] + (rng.random(int(closed.sum())) * (final[closed] - first[closed] + 1)).astype(
        np.int64
    )
    years = np.maximum(final - first + 1, 0)
    entity = np.repeat(np.arange(count), years)
    _, rank = runs(entity)
    year = first[entity] + rank
    filed = _new_year(year + 1) + (rng.random(len(year)) ** 1.5 * 181).astype(np.int64)
    keep = (rng.random(len(year)) < REPORT_RATE) & (filed <= day_number(as_of))
    entity, year, filed = entity[keep], year[keep], filed[keep]
    size = rng.lognormal(np.log(_EMPLOYEES_MEDIAN), 1.0, (count, len(_EMPLOYEES_MEDIAN)))
    base = size[np.arange(count), enterprises.entity_type]
    employees = np.maximum(np.round(base[entity] * rng.lognormal(0, 0.2, len(year))), 1).astype(np.int64)
    revenue = employees * rng.lognormal(np.log(20.0), 0.8, len(year))  # 万元 a year
    del keep, rank, size, base
    order = _in_order(rng, filed, entity)
    updated = later_touch(rng, office_hours(rng, filed), end, untouched_share=0.9)
    # Narrow types, and one whole-city copy at a time: at scale 1.0 there are some 12 million reports.
    reports = {
        "entity": entity.astype(np.int32),
        "year": year.astype(np.int16),
        "employees": employees,
        "band": np.searchsorted(_REVENUE_EDGES, revenue).astype(np.int8),
        "day": filed.astype(np.int32),
        "updated_at": updated,
    }
    del entity, year, employees, revenue, filed, updated
    for name in reports:
        reports[name] = reports[name][order]
    return reports


def _render_reports(reports: dict, enterprises: Enterprises) -> _Rendered:
    def render(rows: np.ndarray) -> dict[str, np.ndarray]:
        return {
            "uscc": enterprises.uscc[reports["entity"][rows]],
            "report_year": reports["year"][rows],
            "employees": reports["employees"][rows],
            "revenue_band": REVENUE_BANDS[reports["band"][rows]],
            "submitted_on": format_dates(reports["day"][rows]),
            "updated_at": format_timestamps(reports["updated_at"][rows]),
        }

    return _Rendered(len(reports["entity"]), render)


def _simulate_licences(enterprises: Enterprises, seed: int, last: int, end: int) -> dict:
    """The current licence(s) of about 30 % of entities: five years valid, the latest renewal."""
    rng = stream(seed, "registry_events/licences")
    count = len(enterprises)
    holders = np.flatnonzero(rng.random(count) < LICENSED_SHARE)
    entity = np.repeat(holders, np.where(rng.random(len(holders)) < SECOND_LICENCE_SHARE, 2, 1))
    company = (enterprises.entity_type[entity] != INDIVIDUAL).astype(np.int64)
    cumulative = np.cumsum(_LICENCE_WEIGHTS / _LICENCE_WEIGHTS.sum(axis=1, keepdims=True), axis=1)
    kind = np.minimum((rng.random(len(entity))[:, None] > cumulative[company]).sum(axis=1), len(_LICENCES) - 1)
    established = enterprises.established_on[entity]
    span = LICENCE_YEARS * 365
    low = np.maximum(established, last - span + 1)  # still valid today, unless issued just before closing
    low = np.minimum(low, last)
    valid_from = low + (rng.random(len(entity)) * (last - low + 1)).astype(np.int64)
    valid_to = valid_from + span + LICENCE_YEARS // 4 - 1
    order = _in_order(rng, valid_from, entity)
    entity, kind, valid_from, valid_to = entity[order], kind[order], valid_from[order], valid_to[order]
    year = _years(valid_from)
    book = kind * 10_000 + year
    by_book = np.lexsort((np.arange(len(book)), book))
    _, serial = runs(book[by_book])
    number = np.empty(len(book), dtype=np.int64)
    number[by_book] = serial + 1
    division = DIVISION_CODES[enterprises.division[entity]].astype(StringDType())
    licence_no = concat(_LICENCE_PREFIX[kind], division, year.astype(StringDType()), digits(number, 6))
    updated = later_touch(rng, office_hours(rng, valid_from), end, untouched_share=0.8)
    issuer = concat(DIVISION_NAMES[enterprises.division[entity]], _LICENCE_ISSUER[kind])
    return {
        "entity": entity,
        "kind": kind,
        "number": licence_no,
        "issuer": issuer,
        "from": valid_from,
        "to": valid_to,
        "updated_at": updated,
    }


def _render_licences(licences: dict, enterprises: Enterprises) -> _Rendered:
    def render(rows: np.ndarray) -> dict[str, np.ndarray]:
        return {
            "uscc": enterprises.uscc[licences["entity"][rows]],
            "licence_type": LICENCE_TYPES[licences["kind"][rows]],
            "licence_no": licences["number"][rows],
            "issued_by": licences["issuer"][rows],
            "valid_from": format_dates(licences["from"][rows]),
            "valid_to": format_dates(licences["to"][rows]),
            "updated_at": format_timestamps(licences["updated_at"][rows]),
        }

    return _Rendered(len(licences["entity"]), render)


def draw_penalty_terms(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Violation (index into VIOLATIONS) and fine of ``n`` penalty decisions: fines scatter around the
    violation's usual amount, in whole hundreds of yuan, at least 100."""
    violation = rng.integers(0, len(VIOLATIONS), n)
    return violation, np.maximum(np.round(_FINE_MEDIANS[violation] * rng.lognormal(0, 0.7, n), -2), 100.0)


def _simulate_penalties(enterprises: Enterprises, seed: int, last: int, end: int) -> dict:
    """About 1 % of entities penalised a year since 2014, numbered per year by the city bureau."""
    rng = stream(seed, "registry_events/penalties")
    low = np.minimum(np.maximum(enterprises.established_on, day_number(PENALTIES_SINCE)), last)
    per_entity = rng.poisson(PENALTIES_PER_ENTITY_YEAR * (last - low + 1) / 365.25)
    entity = np.repeat(np.arange(len(enterprises)), per_entity)
    low = low[entity]
    day = low + (rng.random(len(entity)) * (last - low + 1)).astype(np.int64)
    order = _in_order(rng, day, entity)
    entity, day = entity[order], day[order]
    year = _years(day)
    _, serial = runs(year)
    decision = concat("郑市监罚〔", year.astype(StringDType()), "〕", (serial + 1).astype(StringDType()), "号")
    violation, fine = draw_penalty_terms(rng, len(entity))
    updated = later_touch(rng, office_hours(rng, day), end, untouched_share=0.7)
    return {
        "entity": entity,
        "decision": decision,
        "violation": violation,
        "fine": fine,
        "day": day,
        "updated_at": updated,
    }


def _render_penalties(penalties: dict, enterprises: Enterprises) -> _Rendered:
    def render(rows: np.ndarray) -> dict[str, np.ndarray]:
        return {
            "uscc": enterprises.uscc[penalties["entity"][rows]],
            "decision_no": penalties["decision"][rows],
            "violation": VIOLATIONS[penalties["violation"][rows]],
            "fine_amount": penalties["fine"][rows],
            "decided_on": format_dates(penalties["day"][rows]),
            "updated_at": format_timestamps(penalties["updated_at"][rows]),
        }

    return _Rendered(len(penalties["entity"]), render)


def _orphan_uscc(enterprises: Enterprises):
    """A well-formed credit code (valid check character) that no entity in the registry holds."""
    existing = set(enterprises.uscc.tolist())
    alphabet = np.array(list("0123456789"))

    def spoil(rng: np.random.Generator, true: dict[str, np.ndarray]) -> tuple[str, list, list[str]]:
        values, details = [], []
        for code in true["uscc"].tolist():
            wrong = code
            while wrong in existing or wrong == code:
                body = code[8:12] + "".join(alphabet[rng.integers(0, len(alphabet), 4)].tolist())
                first17 = code[:8] + body + organization_code_check_char(body)
                wrong = first17 + uscc_check_char(first17)
            values.append(wrong)
            details.append(f"uscc {wrong} is not registered, true {code}")
        return "uscc", values, details

    return spoil


def _expired_before_valid(rng: np.random.Generator, true: dict[str, np.ndarray]) -> tuple[str, list, list[str]]:
    """A licence that expires before it becomes valid (the years of valid_to typed wrong)."""
    starts, ends = true["valid_from"].tolist(), true["valid_to"].tolist()
    back = rng.integers(1, 4, len(starts)).tolist()
    values = [f"{int(start[:4]) - years}{end[4:]}" for start, end, years in zip(starts, ends, back, strict=True)]
    details = [f"valid_to {v} before valid_from {s}, true {e}" for v, s, e in zip(values, starts, ends, strict=True)]
    return "valid_to", values, details
