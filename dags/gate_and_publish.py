"""
### Gate each dataset with Great Expectations, then publish it to the exchange

For every dataset with a suite in `expectations/`: validate the freshly built mart inside the
warehouse; if no critical expectation fails, publish it atomically as a new version with its
catalog entry. A blocked dataset fails its gate task (no retry: the data will not change), is
logged on the exchange, and its previously published version stays live. Datasets are gated and
published independently.
"""

from datetime import timedelta

import pendulum
from airflow.sdk import dag, task
from airflow.sdk.exceptions import AirflowFailException

from citybase.assets import exchange_asset, gated_datasets, warehouse_asset


@dag(
    schedule=[warehouse_asset(dataset) for dataset in gated_datasets()],
    start_date=pendulum.datetime(2025, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["quality", "exchange"],
    default_args={"owner": "data-stewards", "retries": 1, "retry_delay": timedelta(minutes=2)},
)
def gate_and_publish():
    for dataset in gated_datasets():

        @task(task_id=f"gate_{dataset}")
        def gate(dataset: str = dataset) -> dict:
            from citybase import pipeline

            try:
                return pipeline.gate(dataset)
            except pipeline.GateBlockedError as blocked:
                raise AirflowFailException(str(blocked)) from blocked

        @task(task_id=f"publish_{dataset}", outlets=[exchange_asset(dataset)])
        def publish(verdict: dict, dataset: str = dataset) -> dict:
            from citybase import pipeline

            return pipeline.publish(dataset, verdict["report"])

        publish(gate())


gate_and_publish()
