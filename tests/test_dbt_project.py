"""The dbt project end to end on DuckDB: a tiny landing zone with every injected defect and a clean
path, several runs of which only the chosen one may be read, built once with ``dbt build``."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import shutil
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dbt.cli.main import dbtRunner

from citybase.codes import (
    ZHENGZHOU_DIVISIONS,
    id_number_check_char,
    organization_code_check_char,
    uscc_check_char,
)
from citybase.settings import Settings
from citybase.warehouse import run_dbt

PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"

HUKOU_RUN = "20251231T000000-sel"  # the run to read
HUKOU_OTHER_RUNS = ("20251230T000000-old", "20260101T000000-new")  # older and newer: both ignored
REGISTRY_RUN = "20251231T010000-reg"
REGISTRY_OTHER_RUNS = ("20260102T000000-new",)
# the models this landing zone of two systems feeds (the other systems' models are held to their data in tests/dirt/)
HUKOU_AND_REGISTRY_MODELS = ("+population", "+legal_entity", "+quarantine_persons", "+quarantine_enterprises",
                             "stg_hukou__households")  # fmt: skip
SNAPSHOT = dt.date(2025, 12, 31)  # date of the latest updated_at in the chosen runs


def make_id(division: str, birth: str, sequence: str) -> str:
    first17 = division + birth + sequence
    return first17 + id_number_check_char(first17)


def make_uscc(authority_type: str, division: str, org_body: str) -> str:
    first17 = authority_type + division + org_body + organization_code_check_char(org_body)
    return first17 + uscc_check_char(first17)


def wrong_check(code: str, alphabet: str) -> str:
    """The code with another character of ``alphabet`` in place of its check character."""
    return code[:17] + next(c for c in alphabet if c != code[17])


# ---------------------------------------------------------------- the landed records (chosen run)

ZHANG_ID = make_id("410105", "19850312", "123")
LI_ID = make_id("410102", "20190228", "042")
WANG_ID = make_id("110105", "20000229", "015")
MISMATCH_ID = make_id("410103", "19900101", "077")
OUTSIDER_ID = make_id("310101", "19700705", "031")  # a legal representative living in Shanghai

PERSON_COLUMNS = [
    "person_id",
    "id_number",
    "name",
    "sex",
    "birth_date",
    "ethnicity",
    "household_id",
    "division_code",
    "address",
    "registered_at",
    "updated_at",
]


def person(person_id, id_number, name, sex, birth_date, division="410105", household="H1", updated="2025-12-30"):
    return {
        "person_id": person_id,
        "id_number": id_number,
        "name": name,
        "sex": sex,
        "birth_date": birth_date,
        "ethnicity": "汉族",
        "household_id": household,
        "division_code": division,
        "address": f"郑州市测试路{person_id}号",
        "registered_at": "2010-01-01 09:00:00",
        "updated_at": f"{updated} 12:00:00",
    }


ZHANG = person(1, ZHANG_ID, "张三", "1", "1985-03-12", updated="2025-12-31")
LI = person(2, LI_ID, "李四", "2", "2019-02-28", division="410102", household="H2")
WANG = person(3, WANG_ID, "王五", "1", "2000-02-29", division="110105")
QIAN_ID = make_id("410105", "19660606", "246")
PERSONS = [
    ZHANG,
    LI,
    WANG,
    person(4, wrong_check(make_id("410105", "19791010", "135"), "0123456789X"), "赵六", "1", "1979-10-10"),
    person(5, QIAN_ID, None, "2", "1966-06-06"),
    person(6, make_id("410104", "20190228", "357"), "孙八", "1", "2019-02-30"),
    person(7, make_id("410104", "20150101", "468"), "周九", "2", "2026-01-15"),
    {**ZHANG, "person_id": 8},  # the same person again under a new key
    person(9, make_id("410105", "19800808", "579"), "吴十", "1", "1980-08-08", division="410107"),
    person(10, MISMATCH_ID, "郑十一", "1", "1990-01-02"),
    person(11, make_id("410105", "19550505", "681"), "冯十二", None, None),
    person(12, QIAN_ID, "钱七", "2", "1966-06-06"),  # re-entered with the name: the good copy survives
]
EXPECTED_PERSON_REJECTIONS = {
    "4": ("invalid_id_number", "check character"),
    "5": ("missing_required_field", "name"),
    "6": ("impossible_date", "2019-02-30"),
    "7": ("impossible_date", "after the snapshot date"),
    "8": ("duplicate_record", "duplicate of person_id 1"),
    "9": ("invalid_division_code", "obsolete code"),
    "10": ("birth_date_mismatch", "19900101"),
    "11": ("missing_required_field", "sex, birth_date"),
}

HOUSEHOLDS = [
    {"household_id": "H1", "household_type": "家庭户", "head_id_number": ZHANG_ID, "division_code": "410105",
     "address": "郑州市测试路1号", "registered_at": "2010-01-01 09:00:00", "updated_at": "2025-12-01 00:00:00"},
    {"household_id": "H2", "household_type": "集体户", "head_id_number": LI_ID, "division_code": "410102",
     "address": "郑州市测试路2号", "registered_at": "2019-03-01 09:00:00", "updated_at": "2025-12-01 00:00:00"},
]  # fmt: skip

E1_USCC = make_uscc("91", "410105", "MA0001AB")
E2_USCC = make_uscc("92", "410122", "L1234567")


def enterprise(enterprise_id, uscc, name, legal_rep_id, established="2010-05-20", capital=100.0, division="410105"):
    return {
        "enterprise_id": enterprise_id,
        "uscc": uscc,
        "name": name,
        "entity_type": "有限责任公司",
        "status": "存续",
        "registered_capital": capital,
        "established_on": established,
        "division_code": division,
        "address": f"郑州市企业路{enterprise_id}号",
        "legal_rep_id_number": legal_rep_id,
        "legal_rep_name": "法人",
        "updated_at": "2025-12-31 08:00:00",
    }


E1 = enterprise(1, E1_USCC, "郑州甲有限公司", ZHANG_ID)
E2 = enterprise(2, E2_USCC, "中牟乙个体户", OUTSIDER_ID, established=None, capital=None, division="410122")
E3 = enterprise(3, make_uscc("91", "410105", "MA0003CD"), "郑州丙有限公司", MISMATCH_ID)  # rep is quarantined
ENTERPRISES = [
    E1,
    E2,
    E3,
    enterprise(4, wrong_check(make_uscc("91", "410105", "MA0004EF"), "0123456789ABCDEFGHJKLMNPQRTUWXY"), "丁", LI_ID),
    enterprise(5, make_uscc("91", "410105", "MA0005GH"), None, LI_ID),
    enterprise(6, make_uscc("91", "410105", "MA0006JK"), "己", None),
    enterprise(7, make_uscc("91", "410105", "MA0007LM"), "庚", LI_ID, established="2021-02-29"),
    {**E1, "enterprise_id": 8},
    enterprise(9, make_uscc("91", "410105", "MA0009NP"), "辛", wrong_check(OUTSIDER_ID, "0123456789X")),
    enterprise(10, make_uscc("91", "410105", "MA0010QR"), "壬", LI_ID, established="2026-03-01"),
]
EXPECTED_ENTERPRISE_REJECTIONS = {
    "4": ("invalid_uscc", "check character"),
    "5": ("missing_required_field", "name"),
    "6": ("missing_required_field", "legal_rep_id_number"),
    "7": ("impossible_date", "2021-02-29"),
    "8": ("duplicate_record", "duplicate of enterprise_id 1"),
    "9": ("invalid_id_number", "legal_rep_id_number"),
    "10": ("impossible_date", "after the snapshot date"),
}

# ---------------------------------------------------------------- landing zone and build

STRING = pa.string()
PERSON_SCHEMA = pa.schema([("person_id", pa.int64())] + [(c, STRING) for c in PERSON_COLUMNS[1:]])
HOUSEHOLD_SCHEMA = pa.schema([(c, STRING) for c in HOUSEHOLDS[0]])
ENTERPRISE_SCHEMA = pa.schema(
    [("enterprise_id", pa.int64())] + [(c, pa.float64() if c == "registered_capital" else STRING) for c in list(E1)[1:]]
)


def land(root: Path, system: str, table: str, run: str, rows: list[dict], schema: pa.Schema, batch: int = 3):
    folder = root / system / table / f"run={run}"
    folder.mkdir(parents=True)
    for number, start in enumerate(range(0, max(len(rows), 1), batch)):
        chunk = pa.Table.from_pylist(rows[start : start + batch], schema=schema)
        pq.write_table(chunk, folder / f"batch-{number:05d}.parquet")


def invoke_dbt(args: list[str], tmp: Path, warehouse: Path, monkeypatch: pytest.MonkeyPatch, project=PROJECT_DIR):
    """Run dbt in-process the way the pipeline does: project profiles, DuckDB target, tmp artefacts."""
    monkeypatch.setenv("CITYBASE_WAREHOUSE_PATH", str(warehouse))
    return dbtRunner().invoke(
        [
            *args,
            "--project-dir",
            str(project),
            "--profiles-dir",
            str(project),
            "--target",
            "duckdb",
            "--target-path",
            str(tmp / "target"),
            "--log-path",
            str(tmp / "logs"),
        ]
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dbt_build")
    landing = tmp / "landing"
    hukou, registry = "public_security/hukou", "market_regulation/business_registry"
    land(landing, hukou, "persons", HUKOU_RUN, PERSONS, PERSON_SCHEMA)
    land(landing, hukou, "households", HUKOU_RUN, HOUSEHOLDS, HOUSEHOLD_SCHEMA)
    land(landing, registry, "enterprises", REGISTRY_RUN, ENTERPRISES, ENTERPRISE_SCHEMA)
    for run in HUKOU_OTHER_RUNS:  # other full snapshots: different people, same keys as well
        other = [person(1, make_id("410185", "19700101", "999"), "别的人", "1", "1970-01-01"), {**LI, "person_id": 99}]
        land(landing, hukou, "persons", run, other, PERSON_SCHEMA)
        land(landing, hukou, "households", run, [{**HOUSEHOLDS[0], "household_type": "集体户"}], HOUSEHOLD_SCHEMA)
    for run in REGISTRY_OTHER_RUNS:
        land(
            landing, registry, "enterprises", run, [{**E2, "enterprise_id": 99, "name": "别的公司"}], ENTERPRISE_SCHEMA
        )

    warehouse = tmp / "warehouse.duckdb"
    runs = {hukou: {"persons": [HUKOU_RUN], "households": [HUKOU_RUN]}, registry: {"enterprises": [REGISTRY_RUN]}}
    variables = {"landing_root": str(landing), "landing_runs": runs}
    with pytest.MonkeyPatch.context() as monkeypatch:
        result = invoke_dbt(["build", "--select", *HUKOU_AND_REGISTRY_MODELS, "--vars", json.dumps(variables)],
                            tmp, warehouse, monkeypatch)  # fmt: skip
    return {"tmp": tmp, "warehouse": warehouse, "result": result, "variables": variables}


def query(built, sql: str) -> list[tuple]:
    # not read_only: dbt-duckdb keeps its in-process connection open, and DuckDB only shares an open
    # database with connections of the same configuration
    with duckdb.connect(str(built["warehouse"])) as con:
        return con.execute(sql).fetchall()


def test_build_succeeds(built):
    result = built["result"]
    assert result.success, result.exception
    statuses = {r.node.name: str(r.status) for r in result.result.results}
    for model in ("population", "legal_entity", "quarantine_persons", "quarantine_enterprises"):
        assert statuses[model] == "success"
    assert not [name for name, status in statuses.items() if status not in ("success", "pass")], statuses


def test_population_is_exactly_the_good_persons(built):
    rows = query(
        built,
        "select person_id, id_number, name, sex, birth_date, ethnicity, household_id, household_type, "
        "division_code, division_name, address, age, updated_at from population order by person_id",
    )
    assert rows == [
        (1, ZHANG_ID, "张三", "1", dt.date(1985, 3, 12), "汉族", "H1", "家庭户", "410105", "金水区",
         "郑州市测试路1号", 40, dt.datetime(2025, 12, 31, 12)),
        (2, LI_ID, "李四", "2", dt.date(2019, 2, 28), "汉族", "H2", "集体户", "410102", "中原区",
         "郑州市测试路2号", 6, dt.datetime(2025, 12, 30, 12)),
        # born on 29 February: 25 on 2025-12-31; a valid code outside Zhengzhou has no division name
        (3, WANG_ID, "王五", "1", dt.date(2000, 2, 29), "汉族", "H1", "家庭户", "110105", None,
         "郑州市测试路3号", 25, dt.datetime(2025, 12, 30, 12)),
        (12, QIAN_ID, "钱七", "2", dt.date(1966, 6, 6), "汉族", "H1", "家庭户", "410105", "金水区",
         "郑州市测试路12号", 59, dt.datetime(2025, 12, 30, 12)),
    ]  # fmt: skip


def test_legal_entity_is_exactly_the_good_enterprises(built):
    rows = query(
        built,
        "select enterprise_id, uscc, name, entity_type, status, registered_capital, established_on, "
        "division_code, division_name, address, legal_rep_id_number, legal_rep_name, "
        "legal_rep_in_population, updated_at from legal_entity order by enterprise_id",
    )
    updated = dt.datetime(2025, 12, 31, 8)
    assert rows == [
        (1, E1_USCC, "郑州甲有限公司", "有限责任公司", "存续", 100.0, dt.date(2010, 5, 20), "410105", "金水区",
         "郑州市企业路1号", ZHANG_ID, "法人", True, updated),
        (2, E2_USCC, "中牟乙个体户", "有限责任公司", "存续", None, None, "410122", "中牟县",
         "郑州市企业路2号", OUTSIDER_ID, "法人", False, updated),
        # the representative's own record is quarantined (birth_date_mismatch): not in population
        (3, E3["uscc"], "郑州丙有限公司", "有限责任公司", "存续", 100.0, dt.date(2010, 5, 20), "410105", "金水区",
         "郑州市企业路3号", MISMATCH_ID, "法人", False, updated),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("model", "source_table", "expected"),
    [
        ("quarantine_persons", "public_security/hukou/persons", EXPECTED_PERSON_REJECTIONS),
        ("quarantine_enterprises", "market_regulation/business_registry/enterprises", EXPECTED_ENTERPRISE_REJECTIONS),
    ],
)
def test_each_defect_is_quarantined_with_its_reason(built, model, source_table, expected):
    rows = query(built, f"select record_key, rejection_reason, rejection_detail, source_table, run_id from {model}")
    assert {key: reason for key, reason, *_ in rows} == {key: reason for key, (reason, _) in expected.items()}
    for key, _reason, detail, table, run_id in rows:
        assert expected[key][1] in detail, (key, detail)
        assert table == source_table
        assert run_id == (HUKOU_RUN if model == "quarantine_persons" else REGISTRY_RUN)


def test_quarantine_keeps_the_record_as_landed(built):
    [(birth_date, name)] = query(built, "select birth_date, name from quarantine_persons where person_id = 6")
    assert (birth_date, name) == ("2019-02-30", "孙八")  # the impossible date, as text
    [(established_on,)] = query(built, "select established_on from quarantine_enterprises where record_key = '7'")
    assert established_on == "2021-02-29"


def test_only_the_chosen_run_is_read(built):
    assert query(built, "select distinct _loaded_from from stg_hukou__persons") == [(HUKOU_RUN,)]
    assert query(built, "select distinct _loaded_from from stg_hukou__households") == [(HUKOU_RUN,)]
    assert query(built, "select distinct _loaded_from from stg_business_registry__enterprises") == [(REGISTRY_RUN,)]
    assert query(built, "select count(*) from stg_hukou__persons") == [(len(PERSONS),)]
    assert query(built, "select count(*) from stg_business_registry__enterprises") == [(len(ENTERPRISES),)]
    assert query(built, "select count(*) from stg_hukou__persons where name = '别的人' or person_id = 99") == [(0,)]
    assert query(built, "select count(*) from stg_business_registry__enterprises where enterprise_id = 99") == [(0,)]


def test_snapshot_date_is_the_latest_update(built):
    assert query(built, "select distinct snapshot_date from int_persons_validated") == [(SNAPSHOT,)]


def test_contracts_are_declared_and_enforced(built):
    manifest = json.loads((built["tmp"] / "target" / "manifest.json").read_text())
    nodes = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    for model in ("population", "legal_entity", "quarantine_persons", "quarantine_enterprises"):
        node = nodes[model]
        assert node["config"]["contract"]["enforced"], model
        assert node["config"]["materialized"] == "table"
        declared = {name: column["data_type"] for name, column in node["columns"].items()}
        assert all(declared.values()), model
        actual = dict(
            query(built, f"select column_name, data_type from information_schema.columns where table_name = '{model}'")
        )
        assert list(actual) == list(declared), model  # same columns, same order
        same_type = {"varchar": "VARCHAR", "bigint": "BIGINT", "integer": "INTEGER", "date": "DATE",
                     "timestamp": "TIMESTAMP", "boolean": "BOOLEAN", "double precision": "DOUBLE"}  # fmt: skip
        assert {name: same_type[t] for name, t in declared.items()} == actual, model


def model_results(result) -> list:
    """The results of the models a dbt invocation ran (not of its on-run-start hooks)."""
    return [r for r in result.result.results if r.node.resource_type == "model"]


def test_contract_violation_fails_the_build(built, tmp_path, monkeypatch):
    project = tmp_path / "dbt_project"
    shutil.copytree(PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    model = project / "models" / "marts" / "base" / "legal_entity.sql"
    sql = model.read_text().replace(
        "population.id_number is not null as legal_rep_in_population",
        "case when population.id_number is null then 'no' else 'yes' end as legal_rep_in_population",
    )
    assert sql != model.read_text()
    model.write_text(sql)
    query(built, "checkpoint")  # dbt's in-process connection may still hold changes in the WAL
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(built["warehouse"], warehouse)
    variables = json.dumps(built["variables"])
    result = invoke_dbt(
        ["run", "--select", "legal_entity", "--vars", variables], tmp_path, warehouse, monkeypatch, project
    )
    assert not result.success
    [run] = model_results(result)
    assert "contract" in run.message.lower(), run.message


def test_exchange_and_pii_metadata_in_the_manifest(built):
    manifest = json.loads((built["tmp"] / "target" / "manifest.json").read_text())
    nodes = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    assert nodes["population"]["meta"]["exchange"] == {
        "resource_code": "410100-JC-RK-0001", "title_zh": "人口基础信息", "provider": "郑州市公安局",
        "sharing_type": "conditional", "update_cycle": "daily",
    }  # fmt: skip
    assert nodes["legal_entity"]["meta"]["exchange"] == {
        "resource_code": "410100-JC-FR-0001", "title_zh": "法人基础信息", "provider": "郑州市市场监督管理局",
        "sharing_type": "conditional", "update_cycle": "daily",
    }  # fmt: skip

    def pii(model):
        return {name: c["meta"]["pii"] for name, c in nodes[model]["columns"].items() if "pii" in c["meta"]}

    assert pii("population") == {"id_number": "id_number", "name": "name", "address": "address"}
    assert pii("legal_entity") == {"legal_rep_id_number": "id_number", "legal_rep_name": "name"}
    allowed = {"id_number", "name", "address", "phone"}
    for node in nodes.values():
        for column in node["columns"].values():
            assert set(column["meta"]) <= {"pii"}
            assert column["meta"].get("pii", "name") in allowed


def test_divisions_seed_matches_the_reference():
    with (PROJECT_DIR / "seeds" / "divisions.csv").open(encoding="utf-8") as f:
        seed = {row["division_code"]: row["division_name"] for row in csv.DictReader(f)}
    assert seed == {"410100": "郑州市", **{d.code: d.name for d in ZHENGZHOU_DIVISIONS}}


@pytest.mark.parametrize(
    "landing_runs",
    [
        {},
        {"public_security/hukou": HUKOU_RUN},  # one run for the system, not a chain per table
        {"public_security/hukou": {"persons": []}},
        {"public_security/hukou": {"persons": [HUKOU_RUN, "x' or 1=1"]}},
    ],
    ids=["nothing", "not-per-table", "empty-chain", "not-a-run-id"],
)
def test_build_without_the_runs_fails_clearly(tmp_path, monkeypatch, landing_runs):
    variables = json.dumps({"landing_root": str(tmp_path), "landing_runs": landing_runs})
    result = invoke_dbt(
        ["run", "--select", "stg_hukou__persons", "--vars", variables], tmp_path, tmp_path / "w.duckdb", monkeypatch
    )
    assert not result.success
    [run] = model_results(result)
    assert "landing_runs" in run.message
    assert "public_security/hukou" in run.message
    assert "persons" in run.message


def test_running_dbt_leaves_the_environment_as_it_found_it(tmp_path, monkeypatch):
    """The profile's variables are set for the invocation only: a later ``Settings.from_env`` in the same
    process (an Airflow worker, a test) must not inherit another build's warehouse."""
    monkeypatch.delenv("CITYBASE_WAREHOUSE_PATH", raising=False)
    monkeypatch.setenv("CITYBASE_DUCKDB_SPATIAL", "unchanged")
    run_dbt(["parse"], Settings.from_env({"CITYBASE_HOME": str(tmp_path)}))
    assert "CITYBASE_WAREHOUSE_PATH" not in os.environ
    assert os.environ["CITYBASE_DUCKDB_SPATIAL"] == "unchanged"
