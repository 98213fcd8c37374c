"""The ``citybase`` command."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import sys
import time
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from citybase.codes import division_code_problem, id_number_problem, uscc_problem
from citybase.settings import Settings

console = Console(width=None if sys.stdout.isatty() else 120)
VALIDATORS = {"id_number": id_number_problem, "uscc": uscc_problem, "division_code": division_code_problem}


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed:,}/{task.total:,}"),
        TimeElapsedColumn(), console=console,
    )  # fmt: skip


def ensure_pseudonym_key(settings: Settings) -> None:
    """Embedded mode keeps a generated key in ``.citybase/pseudonym.key`` (mode 600); production sets the variable."""
    if os.environ.get("CITYBASE_PSEUDONYM_KEY"):
        return
    path = settings.home / "pseudonym.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_hex(32), "utf-8")
    os.environ["CITYBASE_PSEUDONYM_KEY"] = path.read_text("utf-8").strip()


def _api_server(city_dir: Path, *, restart: bool = False):
    """The simulated city's HTTP API (its REST department systems), started if the city has none running."""
    from citybase.simulator.api_server import find_api_server, start_api_server

    server = find_api_server(city_dir)
    if server is not None and restart:
        server.stop()
        server = None
    if server is None and (city_dir / "simulation.json").exists():
        server = start_api_server(city_dir)
    return server


@click.group()
def main() -> None:
    """citybase: department data -> base databases -> quality gate -> data-sharing exchange."""


@main.command()
@click.option("--kind", type=click.Choice(sorted(VALIDATORS)), required=True)
@click.argument("values", nargs=-1, required=True)
def validate(kind: str, values: tuple[str, ...]) -> None:
    """Check national codes: prints VALUE<TAB>valid or VALUE<TAB>invalid<TAB>reason; exits 1 if any is invalid."""
    problem = VALIDATORS[kind]
    failed = False
    for value in values:
        reason = problem(value)
        failed |= reason is not None
        click.echo(f"{value}\tvalid" if reason is None else f"{value}\tinvalid\t{reason}")
    sys.exit(1 if failed else 0)


def _simulate(out: Path, scale: float, seed: int, as_of: dt.date, servers: dict[str, str] | None = None):
    from citybase.simulator import simulate as run_simulation

    with _progress() as progress:
        return run_simulation(
            out, scale=scale, seed=seed, as_of=as_of, progress=progress, servers=servers,
            database_prefix=Settings.server_database_prefix() if servers else "",
        )  # fmt: skip


@main.command()
@click.option("--scale", type=float, default=0.001, show_default=True, help="1.0 is about Zhengzhou's 12.6 M residents")
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=None, help="default: $CITYBASE_CITY_DIR")
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), default="2025-12-31", show_default=True)
@click.option(
    "--target",
    type=click.Choice(["embedded", "server"]),
    default="embedded",
    show_default=True,
    help="server: load the SQL systems into MariaDB / PostgreSQL ($CITYBASE_MARIADB_URL, $CITYBASE_POSTGRES_URL; "
    "database names behind $CITYBASE_SERVER_DATABASE_PREFIX)",
)
@click.option("--days", type=click.IntRange(min=0), default=0, show_default=True, help="then let the city evolve")
def simulate(scale: float, seed: int, out: Path | None, as_of: dt.datetime, target: str, days: int) -> None:
    """Generate the synthetic city's department systems and their ground truth."""
    settings = Settings.from_env()
    servers = Settings.simulation_servers() if target == "server" else None
    result = _simulate(out or settings.city_dir, scale, seed, as_of.date(), servers)
    if days:
        _evolve(result.out_dir, days)
    table = Table("system table", "rows", title=f"synthetic city, scale {scale}, seed {seed}")
    for key, rows in result.counts.items():
        table.add_row(key, f"{rows:,}")
    console.print(table)
    defects = Table("system", "defects injected (recorded in the ground truth)")
    for system, kinds in result.defects.items():
        defects.add_row(system, ", ".join(f"{kind} {count:,}" for kind, count in kinds.items() if count))
    console.print(defects)
    console.print(f"ground truth: {result.out_dir / 'ground_truth'}")
    server = _api_server(result.out_dir, restart=True)
    for system, location in result.systems.items():
        served = f"{server.url}{location}" if location.startswith("/api/") else location
        console.print(f"{system}: {served}")
    console.print(
        f"the REST systems' API server runs in the background (pid {server.pid}); stop it: citybase serve --stop"
    )


def _evolve(city_dir: Path, days: int) -> None:
    from citybase.simulator.evolution import evolve as evolve_city

    changes = evolve_city(city_dir, days, servers=Settings.simulation_servers())
    table = Table("system/table change", "records", title=f"{days} days of change (ground_truth/changes.csv)")
    for kind, count in sorted(changes.items()):
        table.add_row(kind, f"{count:,}")
    console.print(table)


@main.command()
@click.option("--days", type=click.IntRange(min=1), default=1, show_default=True)
def evolve(days: int) -> None:
    """Let the simulated city live ``--days`` more days: every system changes (ground_truth/changes.csv)."""
    _evolve(Settings.from_env().city_dir, days)


@main.command()
@click.option("--stop", is_flag=True, help="stop the running server instead")
def serve(stop: bool) -> None:
    """(Re)start the simulated city's API server, which serves its REST department systems."""
    from citybase.simulator.api_server import find_api_server

    city_dir = Settings.from_env().city_dir
    if stop:
        server = find_api_server(city_dir)
        if server is not None:
            server.stop()
        console.print("API server stopped" if server else "no API server was running")
        return
    server = _api_server(city_dir, restart=True)
    if server is None:
        raise click.ClickException(f"no simulated city in {city_dir}: run `citybase simulate` first")
    console.print(f"API server at {server.url} (pid {server.pid})")


def _run_pipeline(settings: Settings) -> bool:
    from citybase.orchestration import migrate_metadata_db, pipeline_dag_ids, run_dag

    ensure_pseudonym_key(settings)
    dag_ids = pipeline_dag_ids()
    all_succeeded = True
    with _progress() as progress:
        task = progress.add_task("Airflow: migrating metadata DB", total=len(dag_ids) + 1)
        migrate_metadata_db(settings)
        progress.advance(task)
        for dag_id in dag_ids:
            progress.update(task, description=f"Airflow: dag.test {dag_id}")
            outcome = run_dag(dag_id, settings)
            progress.advance(task)
            if outcome.state != "success":
                all_succeeded = False
                console.print(f"[red]{dag_id} {outcome.state}[/red]: see {outcome.log}")
        progress.update(task, description="Airflow: pipeline run")
    return all_succeeded


def print_summary(settings: Settings) -> None:
    from citybase.report import collect, write_quality_report

    summary = collect(settings)
    stages = Table("stage", "dataset", "rows", title="rows per stage")
    for key, rows in summary.landed.items():
        stages.add_row("landed", key, f"{rows:,}")
    for name, rows in summary.modelled.items():
        stages.add_row("warehouse", name, f"{rows:,}")
    for name, reasons in summary.quarantined.items():
        detail = ", ".join(f"{reason} {count:,}" for reason, count in reasons.items())
        stages.add_row("quarantined", name, f"{sum(reasons.values()):,}  ({detail})" if reasons else "0")
    for name, (version, rows) in summary.published.items():
        stages.add_row("published", f"{name} v{version}", f"{rows:,}")
    console.print(stages)
    verdicts = Table("dataset", "gate verdict", "blocking failures", title="quality gate")
    for name, verdict in summary.verdicts.items():
        colour = "green" if verdict.passed else "red"
        verdicts.add_row(name, f"[{colour}]{'passed' if verdict.passed else 'blocked'}[/{colour}]", verdict.reason())
    console.print(verdicts)
    report = write_quality_report(settings, summary)
    console.print(f"exchange:        {settings.exchange_url}")
    console.print(f"quality report:  {report}")
    console.print(
        f"GX Data Docs:    {settings.reports_dir / 'gx' / 'uncommitted' / 'data_docs' / 'local_site' / 'index.html'}"
    )


@main.command()
@click.option("--scale", type=float, default=0.001, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
def demo(scale: float, seed: int) -> None:
    """Simulate a small city, run the whole pipeline through Airflow, publish, and summarise."""
    settings = Settings.from_env()
    started = time.monotonic()
    _simulate(settings.city_dir, scale, seed, dt.date(2025, 12, 31))
    server = _api_server(settings.city_dir, restart=True)
    try:
        succeeded = _run_pipeline(settings)
    finally:
        server.stop()
    print_summary(settings)
    console.print(f"demo finished in {time.monotonic() - started:.0f} s")
    sys.exit(0 if succeeded else 1)


@main.command()
def run() -> None:
    """Run the pipeline DAGs through Airflow on the city already simulated (or connected)."""
    from citybase.simulator.api_server import find_api_server

    settings = Settings.from_env()
    already_running = find_api_server(settings.city_dir) is not None
    server = _api_server(settings.city_dir)
    try:
        succeeded = _run_pipeline(settings)
    finally:
        if server is not None and not already_running:
            server.stop()
    print_summary(settings)
    sys.exit(0 if succeeded else 1)


@main.command()
def catalog() -> None:
    """List the exchange's resource catalog."""
    from citybase.exchange import SHARING_TYPES, Exchange

    table = Table("resource code", "dataset", "title", "provider", "sharing", "cycle", "version", "rows", "published")
    for e in Exchange(Settings.from_env().exchange_url).catalog():
        table.add_row(
            e.resource_code, e.dataset, e.title, e.provider, SHARING_TYPES[e.sharing_type], e.update_cycle,
            str(e.version), f"{e.row_count:,}", f"{e.published_at:%Y-%m-%d %H:%M}",
        )  # fmt: skip
    console.print(table)


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def airflow(args: tuple[str, ...]) -> None:
    """Run the airflow CLI with the project's settings, e.g. ``citybase airflow standalone``."""
    from citybase.orchestration import airflow_environment

    settings = Settings.from_env()
    ensure_pseudonym_key(settings)
    if args[:1] in (("standalone",), ("scheduler",)):
        _api_server(settings.city_dir)  # scheduled REST extracts need it; it outlives this command
    os.environ.update(airflow_environment(settings))
    # `airflow standalone` starts its components as `airflow ...` subprocesses: they must find this venv's.
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    os.execv(sys.executable, [sys.executable, "-m", "airflow", *args])
