"""The whole path at a tiny scale, through Airflow itself, checked against the simulator's ground truth.

Then a department system starts exporting broken ID numbers: the next population version must be
blocked at the gate while the earlier version stays published, and the unaffected dataset still
publishes.
"""

import csv
import hashlib
import hmac
import sqlite3

import duckdb
import pyarrow.parquet as pq
import pytest

from citybase.exchange import Exchange
from citybase.orchestration import migrate_metadata_db, pipeline_dag_ids, run_dag
from citybase.report import collect, write_quality_report
from citybase.settings import Settings
from citybase.simulator import simulate
from citybase.simulator.api_server import start_api_server

pytestmark = pytest.mark.e2e

REASON_FOR_DEFECT = {
    ("persons", "bad_check_digit"): "invalid_id_number",
    ("enterprises", "bad_check_digit"): "invalid_uscc",
    ("persons", "missing_field"): "missing_required_field",
    ("enterprises", "missing_field"): "missing_required_field",
    ("persons", "impossible_date"): "impossible_date",
    ("enterprises", "impossible_date"): "impossible_date",
    ("persons", "duplicate_row"): "duplicate_record",
    ("enterprises", "duplicate_row"): "duplicate_record",
}


KEY = "e2e-test-key"


def _pseudonym(value: str) -> str:
    return hmac.new(KEY.encode(), value.encode(), hashlib.sha256).hexdigest()


def _run_pipeline(settings: Settings, dag_ids: list[str]) -> dict[str, str]:
    return {dag_id: run_dag(dag_id, settings).state for dag_id in dag_ids}


def _use_city(patch: pytest.MonkeyPatch, home) -> None:
    patch.setenv("CITYBASE_HOME", str(home))
    patch.setenv("CITYBASE_REPORTS_DIR", str(home / "reports"))
    patch.setenv("CITYBASE_PSEUDONYM_KEY", KEY)
    patch.setenv("AIRFLOW_HOME", str(home / "airflow"))


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    """Simulate, then run every DAG once; module-scoped so the pipeline runs once for all checks."""
    home = tmp_path_factory.mktemp("e2e")
    patch = pytest.MonkeyPatch()
    _use_city(patch, home)
    settings = Settings.from_env()
    result = simulate(settings.city_dir, scale=0.0004, seed=11)
    with start_api_server(settings.city_dir):  # the REST department systems
        migrate_metadata_db(settings)
        states = _run_pipeline(settings, pipeline_dag_ids())
        yield settings, result, states
    patch.undo()


def _defects(settings: Settings) -> list[dict]:
    with (settings.city_dir / "ground_truth" / "defects.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _warehouse(settings: Settings, sql: str) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def test_every_dag_succeeds(city):
    _, _, states = city
    assert states == dict.fromkeys(pipeline_dag_ids(), "success")


def test_every_injected_defect_is_quarantined_with_its_reason_and_nothing_else_is(city):
    settings, _, _ = city
    expected = {
        (d["table"], d["record_key"], REASON_FOR_DEFECT[(d["table"], d["defect_kind"])]) for d in _defects(settings)
    }
    quarantined = {
        (table, str(key), reason)
        for model, table in (("quarantine_persons", "persons"), ("quarantine_enterprises", "enterprises"))
        for key, reason in _warehouse(settings, f"select record_key, rejection_reason from {model}")
    }
    assert quarantined == expected


def test_the_quality_report_counts_every_quarantined_record_by_source_table_and_rule(city):
    settings, _, _ = city
    summary = collect(settings)
    models = _warehouse(
        settings, "select table_name from information_schema.tables where table_name like 'quarantine%'"
    )
    expected: dict[str, dict[str, int]] = {}
    for (model,) in models:
        for table, reason, count in _warehouse(
            settings, f"select source_table, rejection_reason, count(*) from {model} group by all"
        ):
            expected.setdefault(table, {})[reason] = count
    assert summary.quarantined == expected
    assert {"public_security/hukou/persons", "market_regulation/business_registry/enterprises"} <= expected.keys()
    page = write_quality_report(settings, summary).read_text("utf-8")
    assert "Records quarantined, by source table" in page
    assert all(table in page for table in expected)


def test_the_published_population_is_exactly_the_true_residents_with_clean_records(city):
    settings, _, _ = city
    truth = pq.read_table(settings.city_dir / "ground_truth" / "persons.parquet").to_pylist()
    spoiled = {
        d["record_key"] for d in _defects(settings) if d["table"] == "persons" and d["defect_kind"] != "duplicate_row"
    }
    expected = {_pseudonym(p["id_number"]) for p in truth if str(p["person_id"]) not in spoiled}
    exchange = Exchange(settings.exchange_url)
    with exchange._connect(read_only=True) as connection:
        published = {
            row[0] for row in connection.execute(f"select id_number_hmac from {exchange.schema}.population").fetchall()
        }
    assert published == expected
    assert exchange.entry("population").row_count == len(expected)


def test_legal_representatives_link_to_the_right_residents(city):
    settings, _, _ = city
    truth = {
        str(e["enterprise_id"]): e
        for e in pq.read_table(settings.city_dir / "ground_truth" / "enterprises.parquet").to_pylist()
    }
    exchange = Exchange(settings.exchange_url)
    with exchange._connect(read_only=True) as connection:
        rows = connection.execute(
            f"select enterprise_id, uscc, legal_rep_id_number_hmac from {exchange.schema}.legal_entity"
        ).fetchall()
    assert rows
    for enterprise_id, uscc, rep in rows:
        assert truth[str(enterprise_id)]["uscc"] == uscc
        assert rep == _pseudonym(truth[str(enterprise_id)]["legal_rep_id_number"])


def test_the_catalog_lists_both_base_datasets(city):
    settings, _, _ = city
    catalog = {e.dataset: e for e in Exchange(settings.exchange_url).catalog()}
    assert set(catalog) == {"population", "legal_entity"}
    assert {e.version for e in catalog.values()} == {1}
    assert catalog["population"].sharing_type == "conditional"
    # lineage names exactly the landed tables each dataset is built from, with their chains of runs
    lineage = {name: entry.lineage["landing_runs"] for name, entry in catalog.items()}
    assert {system: set(tables) for system, tables in lineage["population"].items()} == {
        "public_security/hukou": {"persons", "households"}
    }
    assert {system: set(tables) for system, tables in lineage["legal_entity"].items()} == {
        "public_security/hukou": {"persons", "households"},
        "market_regulation/business_registry": {"enterprises"},
    }
    assert all(chain for tables in lineage["legal_entity"].values() for chain in tables.values())


def test_a_corrupted_export_is_blocked_and_the_previous_version_stays(city, monkeypatch):
    settings, _, _ = city
    _use_city(monkeypatch, settings.home)
    exchange = Exchange(settings.exchange_url)
    before = exchange.entry("population")
    hukou = settings.city_dir / "public_security" / "hukou.sqlite"
    with sqlite3.connect(hukou) as connection:  # a faulty batch update mangles check characters
        connection.execute(
            "update persons set id_number = substr(id_number, 1, 17) || "
            "case substr(id_number, 18, 1) when '0' then '1' else '0' end, "
            "updated_at = (select datetime(max(updated_at), '+1 day') from persons) where person_id % 3 = 0"
        )
    states = _run_pipeline(settings, ["extract__public_security__hukou", "build_warehouse", "gate_and_publish"])
    assert states["gate_and_publish"] == "failed"
    assert all(state == "success" for dag_id, state in states.items() if dag_id != "gate_and_publish")
    after = exchange.entry("population")
    assert (after.version, after.row_count, after.published_at) == (
        before.version,
        before.row_count,
        before.published_at,
    )
    with exchange._connect(read_only=True) as connection:
        assert (
            connection.execute(f"select count(*) from {exchange.schema}.population").fetchone()[0] == before.row_count
        )
    blocked = [e for e in exchange.publication_log() if e["outcome"] == "blocked"]
    assert [e["dataset"] for e in blocked] == ["population"]
    assert "UnexpectedRowsExpectation" in blocked[0]["reason"] or "row_count" in blocked[0]["reason"]
    assert exchange.entry("legal_entity").version == 2
    persons_runs = exchange.entry("legal_entity").lineage["landing_runs"]["public_security/hukou"]["persons"]
    assert len(persons_runs) == 2  # the full snapshot, then the incremental run carrying the faulty update
