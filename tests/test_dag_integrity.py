"""Every DAG imports cleanly, follows the house rules, and the Assets chain the stages end to end."""

import subprocess
import sys

import pytest
from airflow.dag_processing.dagbag import DagBag

from citybase.settings import PROJECT_ROOT
from connectors.registry import load_registry

DAGS_FOLDER = PROJECT_ROOT / "dags"


@pytest.fixture(scope="module")
def dagbag():
    return DagBag(str(DAGS_FOLDER))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}


def test_one_extract_dag_per_registered_source_plus_build_and_gate(dagbag):
    expected = {s.dag_id for s in load_registry()} | {"build_warehouse", "gate_and_publish"}
    assert set(dagbag.dag_ids) == expected


def test_house_rules(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, f"{dag_id} has no tags"
        assert len(dag.doc_md or "") > 80, f"{dag_id} has no doc_md"
        assert not dag.catchup, f"{dag_id} would backfill on deployment"
        for task in dag.tasks:
            assert task.owner not in ("", "airflow"), f"{dag_id}.{task.task_id} has no owner"
            assert task.retries >= 1 or task.task_id.startswith("gate_"), f"{dag_id}.{task.task_id} has no retries"


def test_no_cycles(dagbag):
    for dag_id, dag in dagbag.dags.items():
        order, seen = [], set()

        def visit(task_id, path, dag=dag, dag_id=dag_id, order=order, seen=seen):
            assert task_id not in path, f"cycle in {dag_id}: {[*path, task_id]}"
            if task_id in seen:
                return
            seen.add(task_id)
            for downstream in dag.task_dict[task_id].downstream_task_ids:
                visit(downstream, (*path, task_id))
            order.append(task_id)

        for task_id in dag.task_dict:
            visit(task_id, ())
        assert len(order) == len(dag.task_dict)


def _outlet_uris(dag) -> set[str]:
    return {outlet.uri for task in dag.tasks for outlet in task.outlets}


def _asset_uris(condition) -> set[str]:
    """The URIs of every Asset inside a (possibly nested) AssetAll / AssetAny schedule."""
    if hasattr(condition, "objects"):
        return set().union(*(_asset_uris(c) for c in condition.objects))
    return {condition.uri}


def _schedule_uris(dag) -> set[str]:
    return _asset_uris(dag.timetable.asset_condition)


def test_assets_chain_extract_build_gate_publish(dagbag):
    warehouse_sources = [s for s in load_registry() if s.warehouse]
    extract_outlets = set().union(*(_outlet_uris(dagbag.dags[s.dag_id]) for s in warehouse_sources))
    build, gate = dagbag.dags["build_warehouse"], dagbag.dags["gate_and_publish"]
    assert _schedule_uris(build) == extract_outlets
    assert len(extract_outlets) == sum(len(s.tables) for s in warehouse_sources)
    assert _schedule_uris(gate) == _outlet_uris(build)
    published = {o.uri for t in gate.tasks if t.task_id.startswith("publish_") for o in t.outlets}
    assert published == {u.replace("warehouse", "exchange") for u in _outlet_uris(build)}


def test_every_extract_dag_emits_one_asset_per_table(dagbag):
    for source in load_registry():
        assert len(_outlet_uris(dagbag.dags[source.dag_id])) == len(source.tables)


def test_publish_waits_for_its_own_gate_only(dagbag):
    gate = dagbag.dags["gate_and_publish"]
    for task in gate.tasks:
        if task.task_id.startswith("publish_"):
            assert task.upstream_task_ids == {task.task_id.replace("publish_", "gate_")}


def test_parsing_does_no_heavy_imports():
    """DAG files are parsed every few seconds: dbt, GX and DuckDB load inside tasks, not at parse time."""
    code = (
        "import sys; from airflow.dag_processing.dagbag import DagBag; "
        f"bag = DagBag({str(DAGS_FOLDER)!r}); assert not bag.import_errors, bag.import_errors; "
        "print(sorted(m for m in ('great_expectations', 'dbt', 'duckdb', 'pyarrow') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"
