"""Run the project's DAGs through Airflow itself, without a scheduler.

Each DAG runs with ``dag.test()`` in a child process whose output goes to a log file, against a
project-local SQLite metadata database (``.airflow/``). The DAG files are the same ones the real
scheduler loads (``make airflow``), so nothing here is a second implementation of the pipeline.
Run as ``python -m citybase.orchestration <dag_id>``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from citybase.settings import PROJECT_ROOT, Settings


@dataclass(frozen=True)
class DagOutcome:
    dag_id: str
    state: str
    log: Path


def airflow_environment(settings: Settings) -> dict[str, str]:
    """Airflow settings for embedded runs; values already in the environment win."""
    home = Path(os.environ.get("AIRFLOW_HOME", PROJECT_ROOT / ".airflow"))
    defaults = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "CITYBASE_HOME": str(settings.home),
    }
    return {**defaults, **{k: v for k, v in os.environ.items() if k in defaults}}


def _run(command: list[str], settings: Settings, log: Path) -> int:
    log.parent.mkdir(parents=True, exist_ok=True)
    environment = {**os.environ, **airflow_environment(settings)}
    with log.open("a", encoding="utf-8") as output:
        return subprocess.run(command, env=environment, stdout=output, stderr=subprocess.STDOUT, check=False).returncode


def migrate_metadata_db(settings: Settings) -> None:
    log = settings.home / "logs" / "airflow-db-migrate.log"
    if _run([sys.executable, "-m", "airflow", "db", "migrate"], settings, log) != 0:
        raise RuntimeError(f"airflow db migrate failed; see {log}")


def run_dag(dag_id: str, settings: Settings) -> DagOutcome:
    log = settings.home / "logs" / f"{dag_id}.log"
    code = _run([sys.executable, "-m", "citybase.orchestration", dag_id], settings, log)
    return DagOutcome(dag_id, "success" if code == 0 else "failed", log)


def pipeline_dag_ids() -> list[str]:
    """Extract DAGs for every registered source, then build, then gate and publish."""
    from connectors.registry import load_registry

    return [s.dag_id for s in load_registry()] + ["build_warehouse", "gate_and_publish"]


def _test_dag(dag_id: str) -> int:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    if bag.import_errors:
        print(f"DAG import errors: {bag.import_errors}", file=sys.stderr)
        return 2
    dag = bag.get_dag(dag_id)
    if dag is None:
        print(f"no DAG {dag_id!r} in {os.environ['AIRFLOW__CORE__DAGS_FOLDER']}", file=sys.stderr)
        return 2
    run = dag.test()
    state = str(getattr(run, "state", "failed"))
    print(f"DAG {dag_id} finished: {state}")
    return 0 if state.endswith("success") else 1


if __name__ == "__main__":
    raise SystemExit(_test_dag(sys.argv[1]))
