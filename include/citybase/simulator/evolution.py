"""The city day by day, so incremental extraction has changes to pick up, deletes included.

Each simulated day the household registry records births (new persons), deaths (their records are
removed, as a hukou cancellation 注销户口 does) and moves (new division and address); the business
registry records new market entities and closures (status 注销); the property registry records
transfers (a new owner) and cancellations (the record is removed). Every change sets
``updated_at`` to that day's office hours, as counter staff would, and is written to the ground
truth (``ground_truth/changes.csv``: day, department, system, table, record_key, change, detail).

It works on the embedded SQLite systems; in server mode the changed systems are reloaded into their
servers afterwards.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import sqlite3
from contextlib import closing
from pathlib import Path

import numpy as np

from citybase.codes import ZHENGZHOU_DIVISIONS
from citybase.simulator.formats import day_number, format_timestamps, office_hours
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
from citybase.simulator.sampling import stream
from citybase.simulator.servers import load_system

CHANGES_FILE = "changes.csv"
CHANGE_COLUMNS = ("day", "department", "system", "table", "record_key", "change", "detail")
# Per record and day: 9.7 births and 6.0 deaths per 1000 residents a year (Zhengzhou), 2 % of
# residents moving a year; market entities growing 10 % and closing 3 % a year; 1 % of property
# registrations transferred and 0.2 % cancelled a year.
DAILY = {
    "births": 9.7e-3 / 365, "deaths": 6.0e-3 / 365, "moves": 0.02 / 365,
    "new_entities": 0.10 / 365, "closures": 0.03 / 365, "transfers": 0.01 / 365, "cancellations": 0.002 / 365,
}  # fmt: skip


def _count(rng: np.random.Generator, population: int, rate: float) -> int:
    return int(rng.poisson(population * rate))


def _sample_keys(connection: sqlite3.Connection, table: str, key: str, rng: np.random.Generator, n: int) -> list:
    """``n`` distinct existing keys, drawn through rowids so no day scans the whole table."""
    if n == 0:
        return []
    (top,) = connection.execute(f"select max(rowid) from {table}").fetchone()
    picks = np.unique(rng.integers(1, (top or 0) + 1, n * 2))[: n * 2].tolist()
    marks = ",".join("?" * len(picks))
    rows = connection.execute(f"select {key} from {table} where rowid in ({marks}) order by rowid", picks).fetchall()
    return [row[0] for row in rows][:n]


class _Day:
    def __init__(self, day: dt.date, seed: int, changes: list[tuple]):
        self.day, self.changes = day, changes
        self.rng = stream(seed, f"evolution/{day.isoformat()}")
        self.number = day_number(day)

    def stamps(self, n: int) -> list[str]:
        return format_timestamps(office_hours(self.rng, np.full(n, self.number))).tolist()

    def record(self, department: str, system: str, table: str, keys, change: str, detail: str = "") -> None:
        self.changes += [(self.day.isoformat(), department, system, table, str(k), change, detail) for k in keys]

    def hukou(self, connection: sqlite3.Connection) -> None:
        (residents,) = connection.execute("select count(*) from persons").fetchone()
        rng = self.rng
        deaths = _sample_keys(connection, "persons", "person_id", rng, _count(rng, residents, DAILY["deaths"]))
        connection.executemany("delete from persons where person_id = ?", [(k,) for k in deaths])
        self.record("public_security", "hukou", "persons", deaths, "delete", "death: record cancelled")

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

        parents = _sample_keys(connection, "persons", "person_id", rng, _count(rng, residents, DAILY["births"]))
        if not parents:
            return
        marks = ",".join("?" * len(parents))
        rows = connection.execute(
            f"select household_id, division_code, address, name from persons where person_id in ({marks})", parents
        ).fetchall()
        n = len(rows)
        division_code = np.array([r[1] for r in rows], dtype=np.int64)
        birth = np.full(n, np.datetime64(self.day, "D"))
        sequence = rng.choice(1000, n, replace=False)  # unique per (division, day): nobody else is born today
        first17 = id_first17(division_code, birth, sequence)
        ids = id_numbers(first17, id_check_index(first17)).tolist()
        male = sequence % 2 == 1
        given1, given2 = draw_given_names(rng, male, np.full(n, self.day.year))
        surname_index = {str(name): i for i, name in enumerate(SURNAMES.tolist())}
        surnames = np.array([surname_index.get((r[3] or "")[:1], 0) for r in rows])  # the parent's surname
        names = render_names(surnames, given1, given2).tolist()
        (next_id,) = connection.execute("select coalesce(max(person_id), 0) + 1 from persons").fetchone()
        keys = list(range(next_id, next_id + n))
        stamps = self.stamps(n)
        connection.executemany(
            "insert into persons (person_id, id_number, name, sex, birth_date, ethnicity, household_id, "
            "division_code, address, registered_at, updated_at) values (?, ?, ?, ?, ?, '汉族', ?, ?, ?, ?, ?)",
            [
                (k, i, name, "1" if m else "2", self.day.isoformat(), r[0], r[1], r[2], s, s)
                for k, i, name, m, r, s in zip(keys, ids, names, male.tolist(), rows, stamps, strict=True)
            ],
        )
        self.record("public_security", "hukou", "persons", keys, "insert", "birth")

    def business_registry(self, connection: sqlite3.Connection) -> None:
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
            return
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
        buyers = hukou.execute(f"select id_number, name from persons where person_id in ({marks})", owners).fetchall()
        transfers = transfers[: len(buyers)]
        connection.executemany(
            f"update {table} set owner_id_number = ?, owner_name = ?, updated_at = ? where registration_id = ?",
            [(b[0], b[1], s, k) for b, s, k in zip(buyers, self.stamps(len(transfers)), transfers, strict=True)],
        )
        self.record("housing", "property_registry", table, transfers, "update", "transferred")


def evolve(city_dir: Path, days: int, *, seed: int | None = None) -> dict[str, int]:
    """Apply ``days`` more days of change to the simulated city; returns change counts by kind."""
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
    changes: list[tuple] = []
    with (
        closing(sqlite3.connect(systems["public_security/hukou"])) as hukou,
        closing(sqlite3.connect(systems["market_regulation/business_registry"])) as registry,
        closing(sqlite3.connect(systems["housing/property_registry"])) as housing,
    ):
        for offset in range(1, days + 1):
            today = _Day(start + dt.timedelta(days=offset), seed, changes)
            today.hukou(hukou)
            today.business_registry(registry)
            today.property_registry(housing, hukou)
            for connection in (hukou, registry, housing):
                connection.commit()
    truth = city_dir / "ground_truth" / CHANGES_FILE
    fresh = not truth.exists()
    with truth.open("a", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        if fresh:
            writer.writerow(CHANGE_COLUMNS)
        writer.writerows(changes)
    recorded["days_evolved"] = recorded.get("days_evolved", 0) + days
    for key, path in systems.items():  # server mode: the servers get the evolved systems
        if not recorded["systems"][key].startswith("sqlite:"):
            recorded["systems"][key] = load_system(key, path, recorded["systems"][key])
    (city_dir / "simulation.json").write_text(json.dumps(recorded, ensure_ascii=False, indent=2) + "\n", "utf-8")
    counts: dict[str, int] = {}
    for change in changes:
        counts[f"{change[2]}/{change[3]} {change[5]}"] = counts.get(f"{change[2]}/{change[3]} {change[5]}", 0) + 1
    return counts
