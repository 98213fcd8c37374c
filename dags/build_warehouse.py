"""
### Build the warehouse with dbt

Runs when every source the warehouse is built from (`warehouse: true` in `connectors/sources.yml`)
has landed a new run. `dbt build` conforms the latest complete landing run of each source through
staging and intermediate models into the base marts and their quarantines, running the dbt tests on
the way; a failing error-severity test fails the build and nothing downstream runs.
"""

from datetime import timedelta

import pendulum
from airflow.sdk import dag, task

from citybase.assets import gated_datasets, landing_asset, warehouse_asset
from connectors.registry import load_registry


@dag(
    schedule=[
        landing_asset(source, table) for source in load_registry() if source.warehouse for table in source.tables
    ],
    start_date=pendulum.datetime(2025, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["warehouse", "dbt"],
    default_args={"owner": "data-platform", "retries": 1, "retry_delay": timedelta(minutes=5)},
)
def build_warehouse():
    @task(outlets=[warehouse_asset(dataset) for dataset in gated_datasets()])
    def dbt_build() -> dict:
        from citybase import pipeline

        return pipeline.build_warehouse()

    dbt_build()


build_warehouse()
