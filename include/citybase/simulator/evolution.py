"""The city day by day, so incremental extraction has changes to pick up, deletes included.

Each simulated day:

- the household registry records births (new persons, to a resident mother and father), deaths (mostly
  of the old; their records are removed, as a hukou cancellation 注销户口 does) and moves;
- the health commission drops that day's birth certificates and death records (GB18030 CSV) for the
  very people the registry gained and lost, the environment bureau that day's hourly air quality
  readings, the transport bureau that day's ridership per line and stop;
- the business registry records new market entities, closures (status 注销) and administrative
  penalties; the property registry transfers (a new owner) and cancellations (the record is removed);
- social insurance (served over REST) insures new employees (of the day's new entities among
  others), stops some insured persons' payments, books the monthly contributions (each person pays on
  the day of the month they paid last month), opens arrears for employers that stop paying, accrues
  a month to every open arrears on the first of the month, and removes settled arrears;
- the courts list new dishonest debtors, record partial performance, and take debtors who have
  fulfilled their obligations off the list (a delete).

Changes set ``updated_at`` (contributions: ``paid_at``) to that day's office hours, as counter staff
would; deletes in the REST systems leave tombstones the API serves (``api_server.delete_records``),
and new keys never reuse a deleted one. Every change is written to the ground truth
(``ground_truth/changes.csv``: day, department, system, table, record_key, change, detail); a drop's
record is an ``insert`` whose detail names its file (and, for vital records, the person_id in the
household registry). Evolved days plant no dirt.

It works on the embedded SQLite systems; in server mode the changed SQL systems are reloaded into
their servers afterwards.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import sqlite3
from contextlib import closing
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from sqlalchemy.engine import make_url

from citybase.codes import ZHENGZHOU_DIVISIONS
from citybase.simulator import courts, environment, health, social_security, transport
from citybase.simulator.api_server import delete_records, next_key
from citybase.simulator.formats import day_number, format_timestamps, office_hours, years_before
from citybase.simulator.identifiers import id_check_index, id_first17, id_numbers, uscc_codes
from citybase.simulator.names import (
    INDUSTRIES,
    SURNAMES,
    draw_given_names,
    draw_trade_names,
    render_names,
    render_trade_names,
)
from citybase.simulator.places import draw_addresses
from citybase.simulator.population import DIVISION_CODES
from citybase.simulator.registry_events import PENALTIES_PER_ENTITY_YEAR, VIOLATIONS, draw_penalty_terms
from citybase.simulator.sampling import stream, weighted_top_k
from citybase.simulator.servers import load_system, server_for

CHANGES_FILE = "changes.csv"
CHANGE_COLUMNS = ("day", "department", "system", "table", "record_key", "change", "detail")
# Per record and day: 9.7 births and 6.0 deaths per 1000 residents a year (Zhengzhou), 2 % of
# residents moving a year; market entities growing 10 % and closing 3 % a year, 1 % of them penalised
# a year (as in the registry's history); 1 % of property
# registrations transferred and 0.2 % cancelled a year; new insured records (job changes, first jobs)
# 10 % of the insured a year, 5 % stopping payments; arrears lasting about three months
# (the history's geometric(0.35) months owed), as many opened as settled; the debtor list growing
# 25 % a year, 20 % of it fulfilling its obligations and 5 % partly performing.
DAILY = {
    "births": 9.7e-3 / 365, "deaths": 6.0e-3 / 365, "moves": 0.02 / 365,
    "new_entities": 0.10 / 365, "closures": 0.03 / 365, "penalties": PENALTIES_PER_ENTITY_YEAR / 365,
    "transfers": 0.01 / 365, "cancellations": 0.002 / 365,
    "new_insured": 0.10 / 365, "insurance_stops": 0.05 / 365, "arrears_opened": 0.35 / 30, "arrears_settled": 0.35 / 30,
    "new_debtors": 0.25 / 365, "debts_fulfilled": 0.20 / 365, "debts_partly_paid": 0.05 / 365,
}  # fmt: skip
MOTHER_AGES, FATHER_AGES, WORKING_AGES, DEBTOR_AGES = (20, 45), (22, 55), (18, 59), (25, 60)
PERSON_DEBTOR_SHARE = 0.6  # of new listings (the history: 40.5 k person cases, 26.8 k entity cases)
PAYING, SUSPENDED, TERMINATED = "参保缴费", "暂停缴费", "终止参保"
LIVE_STATUSES = ("存续", "在业")
CASE_NUMBER = re.compile(r"\((\d{4})\)(豫\d+)执(\d+)号")


def _count(rng: np.random.Generator, population: int, rate: float) -> int:
    return int(rng.poisson(population * rate))


def _sample_rows(
    connection: sqlite3.Connection,
    table: str,
    columns: str,
    rng: np.random.Generator,
    n: int,
    where: str = "",
    parameters: tuple = (),
    oversample: int = 2,
) -> list[tuple]:
    """Up to ``n`` distinct random rows matching ``where``, in random order, drawn through rowids so no
    day scans the whole table; ``oversample`` rowids are tried per row wanted (gaps, the filter)."""
    (top,) = connection.execute(f"select max(rowid) from {table}").fetchone()
    if n <= 0 or not top:
        return []
    picks = rng.integers(1, top + 1, n * oversample)
    _, first = np.unique(picks, return_index=True)
    picks = picks[np.sort(first)].tolist()
    marks = ",".join("?" * len(picks))
    condition = f" and ({where})" if where else ""
    rows = connection.execute(
        f"select rowid, {columns} from {table} where rowid in ({marks}){condition}", [*picks, *parameters]
    )
    found = {row[0]: row[1:] for row in rows}
    return [found[pick] for pick in picks if pick in found][:n]


def _sample_keys(connection: sqlite3.Connection, table: str, key: str, rng: np.random.Generator, n: int) -> list:
    """``n`` distinct existing keys."""
    return [row[0] for row in _sample_rows(connection, table, key, rng, n)]


def _day_or(text: str | None, default: int) -> int:
    """The day number of a 'YYYY-MM-DD' text, or ``default`` where the registry holds none."""
    try:
        return day_number(dt.date.fromisoformat(text or ""))
    except ValueError:
        return default


def _male(id_number: str | None, sex: str | None) -> bool:
    """From the ID number's sequence digit (odd: male), which the certifying doctor sees; else the registry's sex."""
    if id_number and len(id_number) >= 17 and id_number[16].isdigit():
        return int(id_number[16]) % 2 == 1
    return sex == "1"


_SURNAME_INDEX = {str(name): i for i, name in enumerate(SURNAMES.tolist())}


def _surname(name: str | None) -> int:
    """Index into SURNAMES of a name's surname (compound ones first), 0 if unknown."""
    name = name or ""
    return _SURNAME_INDEX.get(name[:2], _SURNAME_INDEX.get(name[:1], 0))


def _as_on_id_cards(
    truth: Path, rows: list[tuple], key: int, name: int, id_number: int, birth_date: int | None = None
) -> list[tuple]:
    """``rows`` of hukou persons (person_id at ``key``) with their name, ID number (and birth date, if asked)
    as on their ID cards.

    A hospital, an employer or a court copies a person's identity from the card, not from the household
    registry, so the dirt planted in the registry (a wrong check digit, a blank name) must not leak into
    another system unrecorded: the ground truth has the true values. Persons it does not hold (born while
    the city evolved, the copies of a double entry) are stored clean already."""
    keys = sorted({row[key] for row in rows})
    if not keys:
        return rows
    fields = {name: "name", id_number: "id_number"} | ({birth_date: "birth_date"} if birth_date is not None else {})
    table = pq.read_table(truth, columns=["person_id", *fields.values()], filters=[("person_id", "in", keys)])
    on_card = {
        person: dict(zip(fields, card, strict=True))
        for person, *card in zip(*(table[c].to_pylist() for c in table.column_names), strict=True)
    }
    carded = []
    for row in rows:
        values = list(row)
        for position, value in on_card.get(values[key], {}).items():
            values[position] = value
        carded.append(tuple(values))
    return carded


class _Day:
    def __init__(self, day: dt.date, seed: int, changes: list[tuple], high_water: dict[str, int], truth: Path):
        self.day, self.changes, self.high_water = day, changes, high_water
        self.truth = truth  # ground_truth/persons.parquet: who each hukou person really is
        self.seed = seed
        self.rng = stream(seed, f"evolution/{day.isoformat()}")
        self.number = day_number(day)

    def stamps(self, n: int) -> list[str]:
        return format_timestamps(office_hours(self.rng, np.full(n, self.number))).tolist()

    def born_between(self, ages: tuple[int, int]) -> tuple[str, str]:
        """Birth dates of people aged ``ages[0]`` to ``ages[1]`` today, as the registry writes them."""
        return years_before(self.day, ages[1] + 1).isoformat(), years_before(self.day, ages[0]).isoformat()

    def new_keys(self, connection: sqlite3.Connection, table: str, key: str, n: int) -> list[int]:
        """``n`` keys past every key the table ever held, as a database sequence gives them: a deleted
        record's key is never given to a new one (downstream would take the newcomer for the deceased)."""
        (top,) = connection.execute(f"select coalesce(max({key}), 0) from {table}").fetchone()
        start = max(top, self.high_water.get(table, 0)) + 1
        self.high_water[table] = start + n - 1
        return list(range(start, start + n))

    def record(self, department: str, system: str, table: str, keys, change: str, detail: str = "") -> None:
        self.changes += [(self.day.isoformat(), department, system, table, str(k), change, detail) for k in keys]

    def hukou(self, connection: sqlite3.Connection) -> tuple[dict, dict]:
        """Deaths, moves and births; returns the day's births and deaths as the hospitals certify them."""
        (residents,) = connection.execute("select count(*) from persons").fetchone()
        rng = self.rng
        n = _count(rng, residents, DAILY["deaths"])
        candidates = _sample_rows(
            connection, "persons", "person_id, name, sex, id_number, division_code, birth_date", rng, 4 * n
        )
        born = np.array([_day_or(r[5], self.number) for r in candidates], dtype=np.int64)
        mortality = np.exp(health.GOMPERTZ_PER_YEAR * (self.number - born) / 365.25)
        chosen = np.sort(weighted_top_k(rng, mortality, min(n, len(candidates))))
        dead = _as_on_id_cards(
            self.truth, [candidates[i] for i in chosen.tolist()], key=0, name=1, id_number=3, birth_date=5
        )
        deaths = {
            "person_id": [r[0] for r in dead],
            "name": [r[1] for r in dead],
            "male": np.array([_male(r[3], r[2]) for r in dead], dtype=bool),
            "id_number": [r[3] for r in dead],
            "division_code": [r[4] for r in dead],
            "birth_day": np.array([_day_or(r[5], self.number) for r in dead], dtype=np.int64),
        }
        connection.executemany("delete from persons where person_id = ?", [(k,) for k in deaths["person_id"]])
        self.record("public_security", "hukou", "persons", deaths["person_id"], "delete", "death: record cancelled")

        movers = _sample_keys(connection, "persons", "person_id", rng, _count(rng, residents, DAILY["moves"]))
        division = rng.integers(0, len(ZHENGZHOU_DIVISIONS), len(movers))
        addresses = draw_addresses(rng, division, "home").tolist() if movers else []
        connection.executemany(
            "update persons set division_code = ?, address = ?, updated_at = ? where person_id = ?",
            zip(
                DIVISION_CODES[division].astype(str).tolist(), addresses, self.stamps(len(movers)), movers, strict=True
            ),
        )
        self.record("public_security", "hukou", "persons", movers, "update", "moved")

        n = _count(rng, residents, DAILY["births"])
        parent = "household_id, division_code, address, name, id_number, person_id"
        mothers = _sample_rows(
            connection, "persons", parent, rng, n, "sex = '2' and birth_date between ? and ?",
            self.born_between(MOTHER_AGES), oversample=16,
        )  # fmt: skip
        fathers = _sample_rows(
            connection, "persons", parent, rng, n, "sex = '1' and birth_date between ? and ?",
            self.born_between(FATHER_AGES), oversample=12,
        )  # fmt: skip
        n = min(len(mothers), len(fathers))
        mothers = _as_on_id_cards(self.truth, mothers[:n], key=5, name=3, id_number=4)
        fathers = _as_on_id_cards(self.truth, fathers[:n], key=5, name=3, id_number=4)
        division_code = np.array([m[1] for m in mothers], dtype=np.int64)
        birth = np.full(n, np.datetime64(self.day, "D"))
        sequence = rng.choice(1000, n, replace=False)  # unique per (division, day): nobody else is born today
        first17 = id_first17(division_code, birth, sequence)
        ids = id_numbers(first17, id_check_index(first17)).tolist()
        male = sequence % 2 == 1
        given1, given2 = draw_given_names(rng, male, np.full(n, self.day.year))
        from_father = rng.random(n) < health.FATHER_SURNAME_SHARE
        surnames = np.array(
            [_surname(f[3] if dad else m[3]) for m, f, dad in zip(mothers, fathers, from_father, strict=True)]
        )
        names = render_names(surnames, given1, given2).tolist() if n else []
        keys = self.new_keys(connection, "persons", "person_id", n)
        stamps = self.stamps(n)
        connection.executemany(
            "insert into persons (person_id, id_number, name, sex, birth_date, ethnicity, household_id, "
            "division_code, address, registered_at, updated_at) values (?, ?, ?, ?, ?, '汉族', ?, ?, ?, ?, ?)",
            [
                (k, i, name, "1" if m else "2", self.day.isoformat(), r[0], r[1], r[2], s, s)
                for k, i, name, m, r, s in zip(keys, ids, names, male.tolist(), mothers, stamps, strict=True)
            ],
        )  # the child is registered in the mother's household
        self.record("public_security", "hukou", "persons", keys, "insert", "birth")
        births = {
            "person_id": keys,
            "name": names,
            "male": male,
            "mother_name": [m[3] for m in mothers],
            "mother_id_number": [m[4] for m in mothers],
            "father_name": [f[3] for f in fathers],
            "father_id_number": [f[4] for f in fathers],
            "division_code": division_code,
        }
        return births, deaths

    def business_registry(self, connection: sqlite3.Connection) -> list[str]:
        """Closures and new entities; returns the new entities' USCCs (they hire their first employees)."""
        (entities,) = connection.execute("select count(*) from enterprises").fetchone()
        rng = self.rng
        closing_keys = _sample_keys(
            connection, "enterprises", "enterprise_id", rng, _count(rng, entities, DAILY["closures"])
        )
        connection.executemany(
            "update enterprises set status = '注销', updated_at = ? where enterprise_id = ?",
            zip(self.stamps(len(closing_keys)), closing_keys, strict=True),
        )
        self.record("market_regulation", "business_registry", "enterprises", closing_keys, "update", "closed (注销)")

        n = _count(rng, entities, DAILY["new_entities"])
        if n == 0:
            return []
        reps = _sample_keys(connection, "enterprises", "enterprise_id", rng, n)
        marks = ",".join("?" * len(reps))
        template = connection.execute(
            f"select entity_type, division_code, legal_rep_id_number, legal_rep_name from enterprises "
            f"where enterprise_id in ({marks})",
            reps,
        ).fetchall()
        n = len(template)
        division_code = np.array([t[1] for t in template], dtype=np.int64)
        entity_type = np.where(np.array([t[0] for t in template]) == "个体工商户", 2, 1)
        body = rng.integers(0, 31, (n, 8))
        usccs = uscc_codes("9", entity_type, division_code, body).tolist()
        trade = render_trade_names(draw_trade_names(rng, n, 3)).tolist()
        industry = INDUSTRIES[rng.integers(0, len(INDUSTRIES), n)].tolist()
        names = [
            f"郑州{t}{'便利店' if e == 2 else i + '有限公司'}"
            for t, e, i in zip(trade, entity_type, industry, strict=True)
        ]
        division = np.searchsorted(DIVISION_CODES, division_code)
        addresses = draw_addresses(rng, division, "office").tolist()
        taken = {row[0] for row in connection.execute(
            f"select name from enterprises where name in ({','.join('?' * n)})", names
        )}  # fmt: skip
        fresh = [i for i, name in enumerate(names) if name not in taken and names.index(name) == i]  # names are unique
        usccs, names, template, addresses = (
            [column[i] for i in fresh] for column in (usccs, names, template, addresses)
        )
        (next_id,) = connection.execute("select coalesce(max(enterprise_id), 0) + 1 from enterprises").fetchone()
        keys = list(range(next_id, next_id + len(fresh)))
        stamps = self.stamps(len(fresh))
        connection.executemany(
            "insert into enterprises (enterprise_id, uscc, name, entity_type, status, registered_capital, "
            "established_on, division_code, address, legal_rep_id_number, legal_rep_name, updated_at) "
            "values (?, ?, ?, ?, '存续', null, ?, ?, ?, ?, ?, ?)",
            [
                (k, u, name, t[0], self.day.isoformat(), t[1], a, t[2], t[3], s)
                for k, u, name, t, a, s in zip(keys, usccs, names, template, addresses, stamps, strict=True)
            ],
        )
        self.record("market_regulation", "business_registry", "enterprises", keys, "insert", "new entity")
        return usccs

    def penalties(self, connection: sqlite3.Connection) -> None:
        """New administrative penalties (行政处罚) on live entities, numbered on from the year's last
        decision; drawn from their own stream, so the other systems' days stay as they were."""
        rng = stream(self.seed, f"evolution/{self.day.isoformat()}/penalties")
        (entities,) = connection.execute("select count(*) from enterprises").fetchone()
        live = f"status in ({','.join('?' * len(LIVE_STATUSES))})"
        penalised = _sample_rows(
            connection, "enterprises", "uscc", rng, _count(rng, entities, DAILY["penalties"]), live, LIVE_STATUSES
        )
        if not penalised:
            return
        prefix = f"郑市监罚〔{self.day.year}〕"
        numbers = connection.execute(
            "select decision_no from penalties where decision_no like ?", (f"{prefix}%",)
        ).fetchall()
        last = max((int(m[1]) for (text,) in numbers if (m := re.fullmatch(r".*〕(\d+)号", text or ""))), default=0)
        violation, fines = draw_penalty_terms(rng, len(penalised))
        keys = self.new_keys(connection, "penalties", "penalty_id", len(penalised))
        connection.executemany(
            "insert into penalties (penalty_id, uscc, decision_no, violation, fine_amount, decided_on, updated_at) "
            "values (?, ?, ?, ?, ?, ?, ?)",
            [
                (k, uscc, f"{prefix}{last + i + 1}号", str(VIOLATIONS[v]), float(f), self.day.isoformat(), stamp)
                for i, (k, (uscc,), v, f, stamp) in enumerate(
                    zip(keys, penalised, violation.tolist(), fines.tolist(), self.stamps(len(keys)), strict=True)
                )
            ],
        )
        self.record("market_regulation", "business_registry", "penalties", keys, "insert", "penalty decided")

    def property_registry(self, connection: sqlite3.Connection, hukou: sqlite3.Connection) -> None:
        (registrations,) = connection.execute("select count(*) from property_registrations").fetchone()
        rng, table = self.rng, "property_registrations"
        cancelled = _sample_keys(
            connection, table, "registration_id", rng, _count(rng, registrations, DAILY["cancellations"])
        )
        connection.executemany(f"delete from {table} where registration_id = ?", [(k,) for k in cancelled])
        self.record("housing", "property_registry", table, cancelled, "delete", "registration cancelled")

        transfers = _sample_keys(
            connection, table, "registration_id", rng, _count(rng, registrations, DAILY["transfers"])
        )
        owners = _sample_keys(hukou, "persons", "person_id", rng, len(transfers))
        marks = ",".join("?" * len(owners))
        buyers = hukou.execute(
            f"select id_number, name, person_id from persons where person_id in ({marks})", owners
        ).fetchall()
        buyers = _as_on_id_cards(self.truth, buyers, key=2, name=1, id_number=0)
        transfers = transfers[: len(buyers)]
        connection.executemany(
            f"update {table} set owner_id_number = ?, owner_name = ?, updated_at = ? where registration_id = ?",
            [(b[0], b[1], s, k) for b, s, k in zip(buyers, self.stamps(len(transfers)), transfers, strict=True)],
        )
        self.record("housing", "property_registry", table, transfers, "update", "transferred")

    def social_insurance(
        self, store: sqlite3.Connection, hukou: sqlite3.Connection, registry: sqlite3.Connection, new_usccs: list[str]
    ) -> None:
        """New insured employees, stopped payments, the day's contributions, arrears opened, accrued and settled."""
        rng = self.rng
        department, system = social_security.DEPARTMENT, social_security.SYSTEM
        (insured,) = store.execute("select coalesce(max(insured_id), 0) from insured_persons").fetchone()

        stopping = _sample_rows(
            store, "insured_persons", "insured_id", rng, _count(rng, insured, DAILY["insurance_stops"]),
            "status = ?", (PAYING,), oversample=3,
        )  # fmt: skip
        statuses = np.where(rng.random(len(stopping)) < 0.7, SUSPENDED, TERMINATED).tolist()
        store.executemany(
            "update insured_persons set status = ?, updated_at = ? where insured_id = ?",
            zip(statuses, self.stamps(len(stopping)), [r[0] for r in stopping], strict=True),
        )
        for (key,), status in zip(stopping, statuses, strict=True):
            self.record(department, system, "insured_persons", [key], "update", f"status {status}")

        n = _count(rng, insured, DAILY["new_insured"])
        people = _sample_rows(
            hukou, "persons", "id_number, name, person_id", rng, n, "birth_date between ? and ?",
            self.born_between(WORKING_AGES), oversample=3,
        )  # fmt: skip
        people = _as_on_id_cards(self.truth, people, key=2, name=1, id_number=0)
        others = _sample_rows(
            registry, "enterprises", "uscc", rng, len(people) - len(new_usccs),
            f"status in ({','.join('?' * len(LIVE_STATUSES))})", LIVE_STATUSES,
        )  # fmt: skip
        employers = new_usccs[: len(people)] + [r[0] for r in others]
        n = min(len(people), len(employers))  # a small city may not have an employer for everyone drawn
        people, employers = people[:n], employers[:n]
        base = np.clip(np.round(rng.lognormal(np.log(5_500), 0.5, n)), social_security.BASE_FLOOR,
                       social_security.BASE_CEILING)  # fmt: skip
        first = next_key(store, "insured_persons")
        hired = list(range(first, first + n))
        all_five = str(social_security._INSURANCE_TYPE_TEXT[social_security.ALL_FIVE])
        store.executemany(
            "insert into insured_persons values (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (k, p[0], p[1], all_five, e, self.day.isoformat(), PAYING, s)
                for k, p, e, s in zip(hired, people, employers, self.stamps(n), strict=True)
            ],
        )
        for position, key in enumerate(hired):
            detail = "insured by a new entity" if position < len(new_usccs) else "insured by an employer"
            self.record(department, system, "insured_persons", [key], "insert", detail)
        amounts = np.round(base * social_security.EMPLOYEE_RATES.sum(), 2)
        first_payers = np.flatnonzero(rng.random(n) < social_security.CONTRIBUTION_SAMPLE)  # the ledger's sample
        payments = [(hired[i], float(base[i]), float(amounts[i])) for i in first_payers.tolist()]

        owing = {row[0] for row in store.execute("select employer_uscc from arrears")}
        if self.day.day == 1:  # every open arrears owes another month
            open_arrears = store.execute("select arrears_id, months_owed, amount from arrears order by 1").fetchall()
            store.executemany(
                "update arrears set months_owed = ?, amount = ?, updated_at = ? where arrears_id = ?",
                [
                    (m + 1, round(a * (m + 1) / m, 2), s, k)
                    for (k, m, a), s in zip(open_arrears, self.stamps(len(open_arrears)), strict=True)
                ],
            )
            self.record(department, system, "arrears", [r[0] for r in open_arrears], "update", "another month owed")
        (arrears,) = store.execute("select count(*) from arrears").fetchone()
        settled = _sample_keys(store, "arrears", "arrears_id", rng, _count(rng, arrears, DAILY["arrears_settled"]))
        delete_records(store, "arrears", settled, self.stamps(len(settled)))
        self.record(department, system, "arrears", settled, "delete", "settled: off the arrears list")

        due = [
            row for row in store.execute(
                "select c.insured_id, c.base, c.amount, p.employer_uscc from contributions c "
                "join insured_persons p on p.insured_id = c.insured_id "
                "where c.paid_at between ? and ? and p.status = ? order by c.contribution_id",
                (*self._last_months_pay_days(), PAYING),
            )
            if row[3] not in owing
        ]  # fmt: skip
        paying_employers = sorted({row[3] for row in due if row[3] is not None})
        n = min(_count(rng, arrears, DAILY["arrears_opened"]), len(paying_employers))
        defaulting = sorted(rng.choice(paying_employers, n, replace=False).tolist()) if n else []
        unpaid = {employer: 0.0 for employer in defaulting}
        for row in due:
            if row[3] in unpaid:
                unpaid[row[3]] += row[2]
            else:
                payments.append(row[:3])
        first = next_key(store, "arrears")
        opened = list(range(first, first + len(defaulting)))
        month_start = self.day.replace(day=1).isoformat()
        store.executemany(
            "insert into arrears values (?, ?, 1, ?, ?, ?)",
            [
                (k, e, round(unpaid[e], 2), month_start, s)
                for k, e, s in zip(opened, defaulting, self.stamps(len(opened)), strict=True)
            ],
        )
        self.record(department, system, "arrears", opened, "insert", "opened: the month's contributions unpaid")

        first = next_key(store, "contributions")
        booked = list(range(first, first + len(payments)))
        month = f"{self.day:%Y%m}"
        store.executemany(
            "insert into contributions values (?, ?, ?, ?, ?, ?)",
            [(k, *p[:1], month, *p[1:], s) for k, p, s in zip(booked, payments, self.stamps(len(booked)), strict=True)],
        )
        self.record(department, system, "contributions", booked, "insert", f"contribution for {month}")

    def _last_months_pay_days(self) -> tuple[str, str]:
        """Who pays today paid last month on the same day of the month; on the last day of a month also
        those who paid on the days last month had beyond it (so February takes January's 29th to 31st)."""
        this_month = self.day.replace(day=1)
        last_month = (this_month - dt.timedelta(days=1)).replace(day=1)
        last_day = this_month - dt.timedelta(days=1)
        low = last_month + dt.timedelta(days=self.day.day - 1)
        high = last_day if (self.day + dt.timedelta(days=1)).day == 1 else low
        return f"{low} 00:00:00", f"{high} 23:59:59"

    def courts(self, store: sqlite3.Connection, hukou: sqlite3.Connection, registry: sqlite3.Connection) -> None:
        """Debtors who fulfilled their obligations taken off the list, partial performance, new listings."""
        rng, table = self.rng, courts.DISHONEST_DEBTORS.name
        department, system = courts.DEPARTMENT, courts.SYSTEM
        (cases,) = store.execute(f"select count(*) from {table}").fetchone()
        fulfilled = _sample_keys(store, table, "case_id", rng, _count(rng, cases, DAILY["debts_fulfilled"]))
        delete_records(store, table, fulfilled, self.stamps(len(fulfilled)))
        self.record(department, system, table, fulfilled, "delete", "obligation fulfilled: off the list")

        partly = _sample_rows(
            store, table, "case_id", rng, _count(rng, cases, DAILY["debts_partly_paid"]),
            "performance_status = ?", (str(courts.PERFORMANCE[0]),),
        )  # fmt: skip
        store.executemany(
            f"update {table} set performance_status = ?, updated_at = ? where case_id = ?",
            [(str(courts.PERFORMANCE[1]), s, r[0]) for r, s in zip(partly, self.stamps(len(partly)), strict=True)],
        )
        self.record(department, system, table, [r[0] for r in partly], "update", "partly performed")

        n = _count(rng, cases, DAILY["new_debtors"])
        n_persons = int(rng.binomial(n, PERSON_DEBTOR_SHARE))
        persons = _sample_rows(
            hukou, "persons", "name, id_number, null, null, division_code, person_id", rng, n_persons,
            "birth_date between ? and ?", self.born_between(DEBTOR_AGES), oversample=3,
        )  # fmt: skip
        persons = [row[:5] for row in _as_on_id_cards(self.truth, persons, key=5, name=0, id_number=1)]
        entities = _sample_rows(
            registry, "enterprises", "name, null, uscc, legal_rep_name, division_code", rng, n - n_persons
        )
        debtors = persons + entities
        n = len(debtors)
        court_of = {code: i for i, code in enumerate(DIVISION_CODES.astype(str).tolist())}
        court = np.array([court_of.get(str(d[4]), courts.INTERMEDIATE) for d in debtors], dtype=np.int64)
        court[rng.random(n) < courts.INTERMEDIATE_COURT_SHARE] = courts.INTERMEDIATE
        filed = self.number - rng.integers(30, 400, n)
        amounts = np.maximum(
            1000,
            np.round(np.where(
                [d[1] is not None for d in debtors],
                rng.lognormal(np.log(80_000), 1.0, n), rng.lognormal(np.log(500_000), 1.2, n),
            )),
        ).astype(np.int64)  # fmt: skip
        obligations = courts._OBLIGATIONS[rng.integers(0, len(courts._OBLIGATIONS), n)]
        performance = courts.PERFORMANCE[rng.choice(len(courts.PERFORMANCE), n, p=courts._PERFORMANCE_SHARES)]
        conduct = courts.CONDUCT[rng.choice(len(courts.CONDUCT), n, p=courts._CONDUCT_SHARES)]
        gaps = rng.integers(1, 60, n)
        serials = self._last_serials(store, table)
        first = next_key(store, table)
        keys = list(range(first, first + n))
        rows = []
        for i, (debtor, stamp) in enumerate(zip(debtors, self.stamps(n), strict=True)):
            filed_on = dt.date.fromordinal(dt.date(1970, 1, 1).toordinal() + int(filed[i]))
            code = str(courts.COURT_CODES[court[i]])
            serial = serials.get((filed_on.year, code), 0) + int(gaps[i])
            serials[(filed_on.year, code)] = serial
            kind = courts.PERSON if debtor[1] is not None else courts.ENTITY
            rows.append((
                keys[i], f"({filed_on.year}){code}执{serial}号", str(courts.DEBTOR_TYPES[kind]), debtor[0], debtor[1],
                debtor[2], debtor[3], str(courts.COURT_NAMES[court[i]]), filed_on.isoformat(),
                obligations[i].format(int(amounts[i])), str(performance[i]), str(conduct[i]), stamp, stamp,
            ))  # fmt: skip
        store.executemany(f"insert into {table} values ({','.join('?' * 14)})", rows)
        self.record(department, system, table, keys, "insert", "listed")

    @staticmethod
    def _last_serials(store: sqlite3.Connection, table: str) -> dict[tuple[int, str], int]:
        """The highest case serial per (year, court code) on the list: enforcement numbers count up."""
        serials: dict[tuple[int, str], int] = {}
        for (number,) in store.execute(f"select case_number from {table}"):
            match = CASE_NUMBER.fullmatch(number or "")
            if match:
                key = (int(match[1]), match[2])
                serials[key] = max(serials.get(key, 0), int(match[3]))
        return serials

    def drops(self, folders: dict[str, Path], births: dict, deaths: dict, seed: int, scale: float) -> None:
        """The day's files of the drop systems: vital records for the registry's births and deaths, air
        quality readings, bus ridership."""
        stamp = f"{self.day:%Y%m%d}"
        certificates, records = health.write_evolved_day(folders["health"], self.day, self.rng, births, deaths)
        for table, numbers, people in (("births", certificates, births), ("deaths", records, deaths)):
            for number, person in zip(numbers, people["person_id"], strict=True):
                self.record("health", "vital_records", table, [number], "insert",
                            f"person_id {person} in {table}/{table}_{stamp}.csv")  # fmt: skip
        readings = environment.write_evolved_day(folders["environment"], self.day, seed)
        self.record("environment", "air_quality", "readings", readings.tolist(), "insert", f"readings/aqi_{stamp}.csv")
        ridership = transport.write_evolved_day(folders["transport"], self.day, seed, scale)
        self.record(
            "transport", "bus_network", "ridership", ridership.tolist(), "insert", f"ridership/ridership_{stamp}.csv"
        )


def evolve(
    city_dir: Path, days: int, *, seed: int | None = None, servers: dict[str, str] | None = None
) -> dict[str, int]:
    """Apply ``days`` more days of change to the simulated city; returns change counts by kind.

    A city in server mode has its changed SQL systems reloaded into ``servers`` (as for ``simulate``),
    or, without them, into the servers it was loaded into, when those need no password.
    """
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    city_dir = Path(city_dir)
    recorded = json.loads((city_dir / "simulation.json").read_text("utf-8"))
    seed = recorded["seed"] if seed is None else seed
    start = dt.date.fromisoformat(recorded["as_of"]) + dt.timedelta(days=recorded.get("days_evolved", 0))
    systems = {
        "public_security/hukou": city_dir / "public_security" / "hukou.sqlite",
        "market_regulation/business_registry": city_dir / "market_regulation" / "business_registry.sqlite",
        "housing/property_registry": city_dir / "housing" / "property_registry.sqlite",
    }
    folders = {
        department: Path(recorded["systems"][key])
        for department, key in (
            ("health", "health/vital_records"),
            ("environment", "environment/air_quality"),
            ("transport", "transport/bus_network"),
        )
    }
    changes: list[tuple] = []
    truth_persons = city_dir / "ground_truth" / "persons.parquet"
    with (
        closing(sqlite3.connect(systems["public_security/hukou"])) as hukou,
        closing(sqlite3.connect(systems["market_regulation/business_registry"])) as registry,
        closing(sqlite3.connect(systems["housing/property_registry"])) as housing,
        closing(sqlite3.connect(social_security.store_path(city_dir))) as insurance,
        closing(sqlite3.connect(courts.store_path(city_dir))) as debtors,
    ):
        high_water = recorded.get("key_high_water") or {
            "persons": hukou.execute("select coalesce(max(person_id), 0) from persons").fetchone()[0]
        }  # set before the first death, so the highest key is never handed out again
        for offset in range(1, days + 1):
            today = _Day(start + dt.timedelta(days=offset), seed, changes, high_water, truth_persons)
            births, deaths = today.hukou(hukou)
            new_usccs = today.business_registry(registry)
            today.penalties(registry)
            today.property_registry(housing, hukou)
            today.social_insurance(insurance, hukou, registry, new_usccs)
            today.courts(debtors, hukou, registry)
            today.drops(folders, births, deaths, seed, recorded["scale"])
            for connection in (hukou, registry, housing, insurance, debtors):
                connection.commit()
    truth = city_dir / "ground_truth" / CHANGES_FILE
    fresh = not truth.exists()
    with truth.open("a", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        if fresh:
            writer.writerow(CHANGE_COLUMNS)
        writer.writerows(changes)
    recorded["days_evolved"] = recorded.get("days_evolved", 0) + days
    recorded["key_high_water"] = high_water
    for key, path in systems.items():  # server mode: the servers get the evolved systems
        if not recorded["systems"][key].startswith("sqlite:"):
            # the recorded URL hides the password: the caller's server URL carries it
            server = servers[server_for(key)] if servers else recorded["systems"][key]
            database = make_url(recorded["systems"][key]).database  # the simulation's, prefix and all
            recorded["systems"][key] = load_system(key, path, server, database)
    (city_dir / "simulation.json").write_text(json.dumps(recorded, ensure_ascii=False, indent=2) + "\n", "utf-8")
    counts: dict[str, int] = {}
    for change in changes:
        counts[f"{change[2]}/{change[3]} {change[5]}"] = counts.get(f"{change[2]}/{change[3]} {change[5]}", 0) + 1
    return counts
