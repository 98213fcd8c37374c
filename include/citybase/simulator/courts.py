"""The courts' list of dishonest judgment debtors (失信被执行人名单), served over a REST API.

Debtors are simulated residents (about 0.3 % of adults) and market entities (about 1 % of them,
revoked and cancelled ones far likelier), so the list links to the household registration by ID
number and to the business registry by USCC. A debtor may be listed under several cases. Each case
carries the enforcing court's case number, e.g. '(2024)豫0105执1234号' for the Jinshui district
court, or '(2024)豫01执567号' for the Zhengzhou Intermediate People's Court.

Volumes at scale 1.0, seed 42, measured: 30.5 k person debtors (40.5 k cases) and 20.1 k entity
debtors (26.8 k cases), 67 k rows in all. The store is ``<data_dir>/courts/dishonest_debtors.sqlite``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.dtypes import StringDType

from citybase.codes import ZHENGZHOU_DIVISIONS
from citybase.codes.id_number import ID_CHECK_CHARS
from citybase.simulator.api_server import API_PREFIX, register_api_tables
from citybase.simulator.formats import (
    SECONDS_PER_DAY,
    day_number,
    format_dates,
    format_timestamps,
    later_touch,
    office_hours,
)
from citybase.simulator.market import CANCELLED, INDIVIDUAL, REVOKED, Enterprises
from citybase.simulator.names import mistypable_parts
from citybase.simulator.output import SystemOutput
from citybase.simulator.population import ADULT_AGE, Population
from citybase.simulator.sampling import runs, stream, weighted_top_k
from citybase.simulator.social_security import (
    RecordDefectTargets,
    ages_on,
    birthday_after,
    count_defects,
    plan_record_defects,
    remove_store,
    unregistered_usccs,
)
from citybase.simulator.writer import Table, Truth, sqlite_database, write_defects_csv, write_numbered_rows

DEPARTMENT, SYSTEM = "courts", "dishonest_debtors"
DEPARTMENT_ZH, SYSTEM_ZH = "郑州市中级人民法院", "失信被执行人名单"

PERSON_DEBTOR_SHARE = 0.003  # of adults
ENTITY_DEBTOR_SHARE = 0.01  # of market entities
EXTRA_CASE_P = 0.75  # cases per debtor: geometric, mean 1 / 0.75
INTERMEDIATE_COURT_SHARE = 0.1  # cases large enough to be enforced by the intermediate court
LIST_START = day_number(dt.date(2014, 1, 1))  # the national list went live in late 2013

DEBTOR_TYPES = np.array(["自然人", "法人或非法人组织"], dtype=StringDType())
PERSON, ENTITY = 0, 1
PERFORMANCE = np.array(["全部未履行", "部分履行"], dtype=StringDType())
_PERFORMANCE_SHARES = [0.85, 0.15]
CONDUCT = np.array(
    [
        "有履行能力而拒不履行生效法律文书确定义务",
        "违反财产报告制度",
        "违反限制消费令",
        "以伪造证据、暴力、威胁等方法妨碍、抗拒执行",
        "以虚假诉讼、虚假仲裁或者以隐匿、转移财产等方法规避执行",
    ],
    dtype=StringDType(),
)
_CONDUCT_SHARES = [0.7, 0.12, 0.1, 0.03, 0.05]
_OBLIGATIONS = np.array(
    ["偿还借款本金{}元及利息", "支付货款{}元", "支付工程款{}元", "支付劳动报酬{}元", "赔偿损失{}元"],
    dtype=object,
)
# Court of each division (ZHENGZHOU_DIVISIONS order), then the intermediate court; codes as in case numbers.
COURT_NAMES = np.array(
    [
        ("郑州市" + division.name if division.name.endswith("区") else division.name) + "人民法院"
        for division in ZHENGZHOU_DIVISIONS
    ]
    + ["郑州市中级人民法院"],
    dtype=StringDType(),
)
COURT_CODES = np.array(["豫" + division.code[2:] for division in ZHENGZHOU_DIVISIONS] + ["豫01"], dtype=StringDType())
INTERMEDIATE = len(ZHENGZHOU_DIVISIONS)

DISHONEST_DEBTORS = Table(
    name="dishonest_debtors",
    ddl="""
        CREATE TABLE dishonest_debtors (
            case_id INTEGER PRIMARY KEY,
            case_number TEXT,
            debtor_type TEXT,
            name TEXT,
            id_number TEXT,
            uscc TEXT,
            legal_rep_name TEXT,
            court TEXT,
            filed_on TEXT,
            obligation TEXT,
            performance_status TEXT,
            dishonest_conduct TEXT,
            published_at TEXT,
            updated_at TEXT
        )""",
    key="case_id",
    columns=(
        "case_number",
        "debtor_type",
        "name",
        "id_number",
        "uscc",
        "legal_rep_name",
        "court",
        "filed_on",
        "obligation",
        "performance_status",
        "dishonest_conduct",
        "published_at",
        "updated_at",
    ),
    indexes=("updated_at",),
)
DEBTOR_TRUTH_COLUMNS = ("case_number", "debtor_type", "name", "id_number", "uscc", "court", "filed_on")


@dataclass(frozen=True, eq=False)
class Cases:
    """One entry per listed case, in case_id order (publication order)."""

    person: np.ndarray  # index into Population, -1 for an entity debtor
    enterprise: np.ndarray  # index into Enterprises, -1 for a person debtor
    court: np.ndarray  # index into COURT_NAMES
    serial: np.ndarray  # the case's number within its court and year
    filed_on: np.ndarray  # day number
    amount: np.ndarray  # yuan
    obligation: np.ndarray  # index into _OBLIGATIONS
    performance: np.ndarray
    conduct: np.ndarray
    published_at: np.ndarray  # seconds
    updated_at: np.ndarray

    def __len__(self) -> int:
        return len(self.person)


def simulate_cases(people: Population, enterprises: Enterprises, as_of: dt.date, seed: int) -> Cases:
    """Debtors drawn from the city's adults and entities, each listed under one or more cases."""
    rng = stream(seed, "courts/debtors")
    last_day = day_number(as_of)
    adult = ages_on(people.birth, as_of, ADULT_AGE)
    age_at_list = (last_day - people.birth) / 365.25
    adults = np.flatnonzero(adult)
    person_weight = np.where(people.male[adults], 1.6, 1.0)
    person_weight *= np.where((age_at_list[adults] >= 25) & (age_at_list[adults] < 60), 1.0, 0.4)
    persons = adults[weighted_top_k(rng, person_weight, round(len(adults) * PERSON_DEBTOR_SHARE))]
    entity_weight = np.where(np.isin(enterprises.status, [REVOKED, CANCELLED]), 5.0, 1.0)
    entity_weight *= np.where(enterprises.entity_type == INDIVIDUAL, 0.5, 1.0)
    entities = weighted_top_k(rng, entity_weight, round(len(enterprises) * ENTITY_DEBTOR_SHARE))

    debtor_person = np.r_[persons, np.full(len(entities), -1)]
    debtor_entity = np.r_[np.full(len(persons), -1), entities]
    cases_each = rng.geometric(EXTRA_CASE_P, len(debtor_person))
    person, enterprise = np.repeat(debtor_person, cases_each), np.repeat(debtor_entity, cases_each)
    n = len(person)
    is_person = person >= 0

    earliest = np.where(
        is_person,
        birthday_after(people.birth[np.maximum(person, 0)], ADULT_AGE) if len(people) else 0,
        enterprises.established_on[np.maximum(enterprise, 0)] + 180 if len(enterprises) else 0,
    )
    earliest = np.minimum(np.maximum(earliest, LIST_START), last_day - 30)
    filed_on = earliest + ((last_day - 30 - earliest) * rng.random(n) ** 0.6).astype(np.int64)
    division = np.where(
        is_person,
        people.division[np.maximum(person, 0)] if len(people) else 0,
        enterprises.division[np.maximum(enterprise, 0)] if len(enterprises) else 0,
    )
    court = np.where(rng.random(n) < INTERMEDIATE_COURT_SHARE, INTERMEDIATE, division)
    year = filed_on.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64)
    order = np.lexsort((filed_on, year, court))
    group, rank = runs((court * 10_000 + year)[order])
    gaps = rng.integers(1, 60, n)  # enforcement cases not on the list take the numbers in between
    running = np.cumsum(gaps)
    before_group = (running - gaps)[np.flatnonzero(rank == 0)]
    serial = np.empty(n, dtype=np.int64)
    serial[order] = running - before_group[group]  # counts up from the year's first case in each court

    amount = np.round(
        np.where(is_person, rng.lognormal(np.log(80_000), 1.0, n), rng.lognormal(np.log(500_000), 1.2, n))
    )
    last_second = (last_day + 1) * SECONDS_PER_DAY - 1
    published_at = np.minimum(office_hours(rng, filed_on + rng.integers(30, 400, n)), last_second)
    publication_order = np.lexsort((np.arange(n), published_at))
    cases = Cases(
        person=person,
        enterprise=enterprise,
        court=court,
        serial=serial,
        filed_on=filed_on,
        amount=np.maximum(amount, 1000),
        obligation=rng.integers(0, len(_OBLIGATIONS), n),
        performance=rng.choice(len(PERFORMANCE), n, p=_PERFORMANCE_SHARES),
        conduct=rng.choice(len(CONDUCT), n, p=_CONDUCT_SHARES),
        published_at=published_at,
        updated_at=later_touch(rng, published_at, last_second, untouched_share=0.6),
    )
    return Cases(**{name: getattr(cases, name)[publication_order] for name in cases.__dataclass_fields__})


def case_rows(cases: Cases, people: Population, enterprises: Enterprises, rows: np.ndarray) -> dict:
    """The text of the ``dishonest_debtors`` columns, all but the key, for the given cases."""
    person, enterprise = cases.person[rows], cases.enterprise[rows]
    is_person = person >= 0
    safe_person, safe_enterprise = np.maximum(person, 0), np.maximum(enterprise, 0)
    has_enterprises = len(enterprises) > 0
    entity_name = enterprises.name[safe_enterprise] if has_enterprises else np.full(len(rows), "", dtype=object)
    entity_uscc = enterprises.uscc[safe_enterprise] if has_enterprises else np.full(len(rows), "", dtype=object)
    legal_rep = people.names(enterprises.legal_rep[safe_enterprise]) if has_enterprises else entity_name
    year = (cases.filed_on[rows].astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970).astype("U4")
    court = cases.court[rows]
    case_number = np.strings.add(
        np.strings.add(np.strings.add("(", year), np.strings.add(")", COURT_CODES[court])),
        np.strings.add("执", np.strings.add(cases.serial[rows].astype(StringDType()), "号")),
    )
    amounts = cases.amount[rows].astype(np.int64).tolist()
    obligation = [
        template.format(amount) for template, amount in zip(_OBLIGATIONS[cases.obligation[rows]], amounts, strict=True)
    ]
    return {
        "case_number": case_number,
        "debtor_type": DEBTOR_TYPES[np.where(is_person, PERSON, ENTITY)],
        "name": np.where(is_person, people.names(safe_person), entity_name),
        "id_number": np.where(is_person, people.id_numbers(safe_person), None),
        "uscc": np.where(is_person, None, entity_uscc),
        "legal_rep_name": np.where(is_person, None, legal_rep),
        "court": COURT_NAMES[court],
        "filed_on": format_dates(cases.filed_on[rows]),
        "obligation": np.array(obligation, dtype=StringDType()),
        "performance_status": PERFORMANCE[cases.performance[rows]],
        "dishonest_conduct": CONDUCT[cases.conduct[rows]],
        "published_at": format_timestamps(cases.published_at[rows]),
        "updated_at": format_timestamps(cases.updated_at[rows]),
    }


def store_path(data_dir: Path) -> Path:
    return Path(data_dir) / DEPARTMENT / f"{SYSTEM}.sqlite"


def write_dishonest_debtors(
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
    """Write the dishonest-debtor list with its planted defects, and the ground truth.

    ``scale`` is implied by ``people`` and ``enterprises``; ``location`` is the API path the server
    mounts the system at, relative to the server's URL.
    """
    del scale
    path = store_path(data_dir)
    remove_store(path)
    truth_dir = Path(truth_dir)
    truth_dir.mkdir(parents=True, exist_ok=True)
    cases = simulate_cases(people, enterprises, as_of, seed)
    is_person = cases.person >= 0
    person = np.maximum(cases.person, 0)

    def render(rows: np.ndarray) -> dict:
        return case_rows(cases, people, enterprises, rows)

    defects = plan_record_defects(
        stream(seed, "courts/defects/dishonest_debtors"),
        len(cases),
        defect_rate,
        RecordDefectTargets(
            id_column="id_number",
            missing_columns=("id_number",),
            whitespace_columns=("name",),
            date_column="filed_on",
            reference_column="uscc",
            name_column="name",
        ),
        render,
        as_of,
        has_id=is_person,
        id_ends_x=is_person & (people.id_check[person] == ID_CHECK_CHARS.index("X")),
        has_reference=~is_person,
        orphan_codes=unregistered_usccs(enterprises.uscc, np.arange(len(ZHENGZHOU_DIVISIONS))),
        can_mistype=is_person & mistypable_parts(people.surname[person], people.given1[person], people.given2[person]),
    )
    with sqlite_database(path) as connection:
        write_numbered_rows(
            connection,
            DISHONEST_DEBTORS,
            render,
            defects,
            Truth(truth_dir / "dishonest_debtors.parquet", DEBTOR_TRUTH_COLUMNS),
            on_chunk=lambda _rows: None,
        )
        register_api_tables(connection, [(DISHONEST_DEBTORS.name, DISHONEST_DEBTORS.key, "updated_at")])
    write_defects_csv(
        truth_dir / f"defects_{DEPARTMENT}__{SYSTEM}.csv", [(DEPARTMENT, SYSTEM, DISHONEST_DEBTORS.name, defects)]
    )
    key = f"{DEPARTMENT}/{SYSTEM}"
    return SystemOutput(
        key=key,
        location=f"{API_PREFIX}/{SYSTEM}",
        counts={f"{key}/{DISHONEST_DEBTORS.name}": defects.table_rows},
        defects=count_defects(defects),
    )
