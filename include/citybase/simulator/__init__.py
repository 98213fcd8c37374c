"""A synthetic city whose department systems citybase integrates, since real records cannot be used.

Eleven systems, each stored as its real counterpart would be: SQL databases (household registry,
business registry, civil registry, property registry), CSV drops (vital records in GB18030, air quality, bus
ridership in GB18030), monthly XLSX workbooks (tax credit ratings), GeoJSON layers (land planning)
and stores served over HTTP by ``citybase.simulator.api_server`` (social insurance, dishonest debtors).


``simulate`` writes the household registration (公安户籍) and the business registry (市场监管企业登记)
as the SQLite databases their real counterparts would be, with a known share of planted defects,
plus the ground truth (true people, true enterprises, every defect) that tests compare against.
Shapes follow Zhengzhou's public figures; scale 1.0 is the whole city (12.6 million residents).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rich.progress import Progress

from citybase.simulator.civil_affairs import write_civil_registry
from citybase.simulator.courts import write_dishonest_debtors
from citybase.simulator.defects import DEFECT_KINDS, Defects, plan_defects
from citybase.simulator.environment import write_air_quality
from citybase.simulator.health import write_vital_records
from citybase.simulator.housing import write_property_registry
from citybase.simulator.market import MARKET_ENTITIES, REGISTRY_START, enterprise_rows, simulate_enterprises
from citybase.simulator.output import SystemOutput
from citybase.simulator.parallel import Steps, run_in_parallel
from citybase.simulator.planning import write_land_planning
from citybase.simulator.population import RESIDENTS, household_rows, person_rows, simulate_population
from citybase.simulator.registry_events import write_registry_events
from citybase.simulator.sampling import stream
from citybase.simulator.servers import DEFAULT_SERVERS, check_database_prefix, database_for, load_system, server_for
from citybase.simulator.social_security import write_social_insurance
from citybase.simulator.systems import (
    BUSINESS_REGISTRY,
    ENTERPRISE_DEFECTS,
    ENTERPRISE_TRUTH_COLUMNS,
    ENTERPRISES,
    HOUSEHOLDS,
    HUKOU,
    PERSON_DEFECTS,
    PERSON_TRUTH_COLUMNS,
    PERSONS,
)
from citybase.simulator.tax import write_credit_ratings
from citybase.simulator.transport import write_bus_network
from citybase.simulator.writer import Truth, sqlite_database, write_defects_csv, write_numbered_rows, write_rows

__all__ = ["DEFECT_KINDS", "SimulationResult", "simulate"]

RESULT_FILE = "simulation.json"
GROUND_TRUTH_DIR = "ground_truth"
GROUND_TRUTH_FILES = ("defects.csv", "persons.parquet", "enterprises.parquet", "changes.csv")
MAX_DEFECT_RATE = 0.5


@dataclass(frozen=True)
class SimulationResult:
    """What a simulation produced; also stored as ``out_dir/simulation.json``."""

    out_dir: Path
    scale: float
    seed: int
    as_of: dt.date
    defect_rate: float
    counts: dict[str, int]  # "<department>/<system>/<table>" -> rows in the system (duplicates included)
    defects: dict[str, dict[str, int]]  # "<department>/<system>" -> defect kind -> records (or files) carrying it
    systems: dict[str, str]  # "<department>/<system>" -> SQLAlchemy URL, folder, or API path
    days_evolved: int = 0  # days of change applied since as_of (``citybase.simulator.evolution``)
    key_high_water: dict[str, int] = field(default_factory=dict)  # table -> highest key evolution handed out

    def to_json(self) -> str:
        return json.dumps(
            {**asdict(self), "out_dir": str(self.out_dir), "as_of": self.as_of.isoformat()},
            ensure_ascii=False,
            indent=2,
        )

    @classmethod
    def load(cls, out_dir: Path) -> SimulationResult:
        """The result of the simulation last written to ``out_dir``."""
        fields = json.loads((Path(out_dir) / RESULT_FILE).read_text(encoding="utf-8"))
        return cls(**{**fields, "out_dir": Path(fields["out_dir"]), "as_of": dt.date.fromisoformat(fields["as_of"])})


def simulate(
    out_dir: Path,
    *,
    scale: float = 0.001,
    seed: int = 42,
    as_of: dt.date = dt.date(2025, 12, 31),
    defect_rate: float = 0.02,
    progress: Progress | None = None,
    servers: dict[str, str] | None = None,
    database_prefix: str = "",
) -> SimulationResult:
    """Simulate the city at ``scale`` (1.0 = 12.6 M residents, 2 M market entities) into ``out_dir``.

    The same arguments always give the same files. A previous simulation in ``out_dir`` is replaced.
    Once the people, households and enterprises exist, two groups of systems that share no file are
    written at once, each in a forked process (``parallel.run_in_parallel``): the registries and their
    events, and the nine other systems.
    With ``servers`` (``{"mariadb": url, "postgresql": url}``, see ``citybase.simulator.servers``) the
    SQL systems are then loaded into those servers, each in a database of its own named after it, behind
    ``database_prefix``, and ``systems`` points there.
    """
    if not (isinstance(scale, int | float) and math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive number (1.0 = the whole city), got {scale!r}")
    if not 0 <= defect_rate <= MAX_DEFECT_RATE:
        raise ValueError(f"defect_rate must be between 0 and {MAX_DEFECT_RATE}, got {defect_rate!r}")
    if as_of <= REGISTRY_START:
        raise ValueError(f"as_of must be after {REGISTRY_START.isoformat()}, when the business registry starts")
    check_database_prefix(database_prefix)
    out_dir = Path(out_dir).resolve()
    hukou_path = out_dir / HUKOU[0] / f"{HUKOU[1]}.sqlite"
    registry_path = out_dir / BUSINESS_REGISTRY[0] / f"{BUSINESS_REGISTRY[1]}.sqlite"
    truth_dir = out_dir / GROUND_TRUTH_DIR
    _remove_previous(out_dir, [hukou_path, registry_path])
    truth_dir.mkdir(parents=True, exist_ok=True)
    step = _Steps(progress)

    advance = step("Simulating residents and households", 1)
    people, households = simulate_population(max(1, round(RESIDENTS * scale)), as_of, seed)
    advance(1)
    advance = step("Simulating market entities", 1)
    enterprises = simulate_enterprises(max(1, round(MARKET_ENTITIES * scale)), people, as_of, seed)
    advance(1)

    def render_persons(rows):
        return person_rows(people, households, rows)

    def render_enterprises(rows):
        return enterprise_rows(enterprises, people, rows)

    person_defects = plan_defects(
        stream(seed, "defects/persons"), len(people), defect_rate, PERSON_DEFECTS, render_persons, as_of
    )
    enterprise_defects = plan_defects(
        stream(seed, "defects/enterprises"),
        len(enterprises),
        defect_rate,
        ENTERPRISE_DEFECTS,
        render_enterprises,
        as_of,
    )
    tables = [(*HUKOU, PERSONS.name, person_defects), (*BUSINESS_REGISTRY, ENTERPRISES.name, enterprise_defects)]
    write_defects_csv(truth_dir / "defects.csv", tables)
    generator = {"seed": seed, "scale": scale, "as_of": as_of, "defect_rate": defect_rate, "truth_dir": truth_dir}

    def registries(step: Steps) -> list[SystemOutput]:
        """The household and business registries, and their events (written into the same two files)."""
        with sqlite_database(hukou_path) as connection:
            write_rows(
                connection,
                HOUSEHOLDS,
                len(households),
                lambda rows: household_rows(people, households, rows),
                on_chunk=step("Writing hukou households", len(households)),
            )
            write_numbered_rows(
                connection,
                PERSONS,
                render_persons,
                person_defects,
                Truth(truth_dir / "persons.parquet", PERSON_TRUTH_COLUMNS),
                on_chunk=step("Writing hukou persons", person_defects.table_rows),
            )
        with sqlite_database(registry_path) as connection:
            write_numbered_rows(
                connection,
                ENTERPRISES,
                render_enterprises,
                enterprise_defects,
                Truth(truth_dir / "enterprises.parquet", ENTERPRISE_TRUTH_COLUMNS),
                on_chunk=step("Writing business registry enterprises", enterprise_defects.table_rows),
            )
        advance = step("Simulating registry events (moves, name changes, reports, licences, penalties)", 1)
        registry_events = write_registry_events(out_dir, people, households, enterprises, **generator)
        advance(1)
        return registry_events

    def other_systems(step: Steps) -> list[SystemOutput]:
        """The nine other systems: each reads only the people, households and enterprises."""
        advance = step("Simulating the civil registry (marriages, standard addresses)", 1)
        civil_registry = write_civil_registry(out_dir, people, households, **generator)
        advance(1)
        advance = step("Simulating land planning (GeoJSON) and the property registry", 2)
        land_planning, cadastre = write_land_planning(out_dir, people, households, **generator)
        advance(1)
        property_registry = write_property_registry(out_dir, people, households, cadastre, **generator)
        advance(1)
        advance = step("Simulating social insurance and dishonest debtors (served over HTTP)", 2)
        social_insurance = write_social_insurance(out_dir, people, enterprises, **generator)
        advance(1)
        dishonest_debtors = write_dishonest_debtors(out_dir, people, enterprises, **generator)
        advance(1)
        advance = step("Simulating vital records (daily CSV drops) and tax credit ratings (XLSX)", 2)
        vital_records = write_vital_records(out_dir, people, **generator)
        advance(1)
        credit_ratings = write_credit_ratings(out_dir, enterprises, **generator)
        advance(1)
        advance = step("Simulating air quality readings and the bus network (CSV drops)", 2)
        air_quality = write_air_quality(out_dir, people, **generator)
        advance(1)
        bus_network = write_bus_network(out_dir, people, **generator)
        advance(1)
        return [
            civil_registry, land_planning, property_registry, social_insurance, dishonest_debtors, vital_records,
            credit_ratings, air_quality, bus_network,
        ]  # fmt: skip

    registry_events, other_outputs = run_in_parallel([registries, other_systems], step)
    others = [*registry_events, *other_outputs]

    sql_systems = {"/".join(HUKOU): hukou_path, "/".join(BUSINESS_REGISTRY): registry_path}
    sql_systems |= {o.key: Path(o.location.removeprefix("sqlite:///")) for o in others if _is_sqlite(o.location)}
    result = SimulationResult(
        out_dir=out_dir,
        scale=scale,
        seed=seed,
        as_of=as_of,
        defect_rate=defect_rate,
        counts={
            f"{'/'.join(HUKOU)}/{HOUSEHOLDS.name}": len(households),
            f"{'/'.join(HUKOU)}/{PERSONS.name}": person_defects.table_rows,
            f"{'/'.join(BUSINESS_REGISTRY)}/{ENTERPRISES.name}": enterprise_defects.table_rows,
            **{table: rows for o in others for table, rows in o.counts.items()},
        },
        defects=_merge_defects(
            {
                "/".join(HUKOU): _count_defects(person_defects),
                "/".join(BUSINESS_REGISTRY): _count_defects(enterprise_defects),
            },
            others,
        ),
        systems={
            **{o.key: o.location for o in others if not _is_sqlite(o.location)},
            **_serve(sql_systems, servers, database_prefix, step),
        },
    )
    (out_dir / RESULT_FILE).write_text(result.to_json() + "\n", encoding="utf-8")
    return result


def _serve(
    sqlite_files: dict[str, Path], servers: dict[str, str] | None, database_prefix: str, step: _Steps
) -> dict[str, str]:
    """Where each SQL system is served: its SQLite file, or (server mode) its database on a server."""
    if servers is None:
        return {key: f"sqlite:///{path}" for key, path in sqlite_files.items()}
    databases = {key: database_for(key, database_prefix) for key in sqlite_files}
    servers = {**DEFAULT_SERVERS, **servers}
    advance = step("Loading SQL systems into MariaDB / PostgreSQL", len(sqlite_files))
    urls = {}
    for key, path in sqlite_files.items():
        urls[key] = load_system(key, path, servers[server_for(key)], databases[key])
        advance(1)
    return urls


def _remove_previous(out_dir: Path, databases: list[Path]) -> None:
    """Delete what an earlier simulation wrote here (only those files: ``out_dir`` may hold other things)."""
    stale = [out_dir / RESULT_FILE, *(out_dir / GROUND_TRUTH_DIR / name for name in GROUND_TRUTH_FILES)]
    for database in databases:
        stale += [database, *(database.with_name(database.name + suffix) for suffix in ("-journal", "-wal", "-shm"))]
    for path in stale:
        path.unlink(missing_ok=True)


def _is_sqlite(location: str) -> bool:
    return location.startswith("sqlite:///")


def _merge_defects(core: dict[str, dict[str, int]], others: list[SystemOutput]) -> dict[str, dict[str, int]]:
    """Defect counts per system; a system written by several generators (hukou: persons and events) sums them."""
    merged = {system: dict(kinds) for system, kinds in core.items()}
    for output in others:
        kinds = merged.setdefault(output.key, {})
        for kind, count in output.defects.items():
            kinds[kind] = kinds.get(kind, 0) + count
    return merged


def _count_defects(defects: Defects) -> dict[str, int]:
    counts = dict.fromkeys(DEFECT_KINDS, 0)
    for record in defects.records:
        counts[record.kind] += 1
    return counts


class _Steps:
    """One progress task per step when the caller (the CLI) shows progress; otherwise nothing."""

    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress

    def __call__(self, description: str, total: int) -> Callable[[int], None]:
        if self._progress is None:
            return lambda _completed: None
        progress, task = self._progress, self._progress.add_task(description, total=total)
        return lambda completed: progress.advance(task, completed)
