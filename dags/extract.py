"""
### Extract a department system into the landing zone

One DAG per system declared in `connectors/sources.yml`. Each run lands every table of the system
as append-only Parquet batches with manifests, under one run id, then marks the run complete and
emits one Asset per table, which schedules the warehouse build.
"""

from datetime import timedelta

import pendulum
from airflow.sdk import dag, task

from citybase.assets import landing_asset
from connectors.registry import SourceSpec, load_registry

DEFAULT_ARGS = {"retries": 2, "retry_delay": timedelta(minutes=2), "retry_exponential_backoff": True}


def extract_dag(source: SourceSpec):
    @dag(
        dag_id=source.dag_id,
        description=f"{source.department_zh} {source.system_zh} -> landing zone",
        schedule=source.schedule,
        start_date=pendulum.datetime(2025, 1, 1, tz="Asia/Shanghai"),
        catchup=False,
        max_active_runs=1,
        doc_md=__doc__,
        tags=["extract", source.department, source.kind],
        default_args={**DEFAULT_ARGS, "owner": source.owner},
    )
    def extract():
        @task
        def start_run() -> dict:
            from citybase import pipeline

            return pipeline.start_run()

        @task
        def land_table(run: dict, table: str) -> dict:
            from citybase import pipeline

            return pipeline.land_table(source.key, table, run["run_id"])

        @task(outlets=[landing_asset(source, table) for table in source.tables])
        def complete_run(run: dict, landings: list[dict]) -> dict:
            from citybase import pipeline

            return pipeline.complete_run(source.key, run["run_id"], run["started_at"], landings)

        run = start_run()
        landings = [land_table.override(task_id=f"land_{t.name}")(run, t.name) for t in source.tables]
        complete_run(run, landings)

    return extract()


for _source in load_registry():
    globals()[_source.dag_id] = extract_dag(_source)
