"""Publishing to the exchange: atomic versions, the catalog, PII policy; on DuckDB files and PostgreSQL."""

import hashlib
import hmac
import re
import uuid

import duckdb
import pytest
import sqlalchemy as sa

from citybase.exchange import KEEP_VERSIONS, Exchange, PublicationError
from citybase.warehouse import ColumnSpec, MartSpec
from tests.servers import server_url

KEY = b"test-key"
EXCHANGE_META = {
    "resource_code": "410100-JC-RK-0001",
    "title_zh": "人口基础信息",
    "provider": "郑州市公安局",
    "sharing_type": "conditional",
    "update_cycle": "daily",
}
MART = MartSpec(
    name="population",
    schema="main",
    identifier="population",
    description="One row per resident.",
    columns=(
        ColumnSpec("id_number", "varchar", "GB 11643 ID number", "id_number"),
        ColumnSpec("name", "varchar", "Registered name", "name"),
        ColumnSpec("address", "varchar", "Registered address", "address"),
        ColumnSpec("division_code", "varchar", "GB/T 2260 code", None),
    ),
    exchange=EXCHANGE_META,
)


def make_warehouse(path, rows):
    with duckdb.connect(str(path)) as connection:
        connection.execute(
            "create or replace table population "
            "(id_number varchar, name varchar, address varchar, division_code varchar)"
        )
        connection.executemany("insert into population values (?, ?, ?, ?)", rows)


ROWS = [
    ("11010519491231002X", "欧阳娜娜", "郑州市金水区花园路街道农业路12号", "410105"),
    ("440524188001010014", "张三", "郑州市二七区大学路8号", "410103"),
]


@pytest.fixture(params=["duckdb", "postgresql"])
def exchange(request, tmp_path):
    if request.param == "duckdb":
        yield Exchange(f"duckdb:///{tmp_path / 'exchange.duckdb'}")
        return
    schema = f"exchange_test_{uuid.uuid4().hex[:8]}"
    url = server_url("postgresql")
    yield Exchange(f"{url}?schema={schema}")
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text(f'drop schema if exists "{schema}" cascade'))
    engine.dispose()


def query(exchange: Exchange, sql: str) -> list[tuple]:
    with exchange._connect(read_only=True) as connection:
        return connection.execute(sql.format(schema=exchange.schema)).fetchall()


def test_publish_applies_the_pii_policy_and_lists_the_dataset(exchange, tmp_path):
    make_warehouse(tmp_path / "wh.duckdb", ROWS)
    entry = exchange.publish(MART, tmp_path / "wh.duckdb", KEY, lineage={"landing_runs": {"a/b": "r1"}})
    assert (entry.version, entry.row_count, entry.resource_code) == (1, 2, "410100-JC-RK-0001")
    assert entry.lineage == {"landing_runs": {"a/b": "r1"}}
    published = query(
        exchange,
        "select id_number_hmac, id_number_masked, name, address, division_code from {schema}.population order by 5",
    )
    expected_hmac = hmac.new(KEY, b"440524188001010014", hashlib.sha256).hexdigest()
    assert published[0] == (expected_hmac, "440524********0014", "张*", "郑州市二七区****", "410103")
    assert published[1][2] == "欧***"
    columns = {c["name"] for c in entry.columns}
    assert "id_number" not in columns
    assert {"id_number_hmac", "id_number_masked"} <= columns


def test_raw_id_numbers_never_reach_the_exchange(exchange, tmp_path):
    make_warehouse(tmp_path / "wh.duckdb", ROWS)
    exchange.publish(MART, tmp_path / "wh.duckdb", KEY)
    dump = str(query(exchange, "select * from {schema}.population"))
    assert "11010519491231002X" not in dump
    assert "欧阳娜娜" not in dump


def test_each_publication_is_a_new_version_and_old_ones_are_pruned(exchange, tmp_path):
    for count in range(1, KEEP_VERSIONS + 3):
        make_warehouse(tmp_path / "wh.duckdb", ROWS[: 1 + count % 2])
        entry = exchange.publish(MART, tmp_path / "wh.duckdb", KEY)
        assert entry.version == count
        assert query(exchange, "select count(*) from {schema}.population")[0][0] == 1 + count % 2
    versions = query(
        exchange,
        f"select table_name from duckdb_tables() where database_name = 'xc' and schema_name = '{exchange.db_schema}' "
        "and starts_with(table_name, 'population__v') order by 1",
    )
    assert [v[0] for v in versions] == [f"population__v{n}" for n in range(3, KEEP_VERSIONS + 3)]
    assert len(exchange.catalog()) == 1


def test_a_failed_publication_leaves_the_previous_version_live(exchange, tmp_path):
    make_warehouse(tmp_path / "wh.duckdb", ROWS)
    exchange.publish(MART, tmp_path / "wh.duckdb", KEY)
    broken = MartSpec(**{**MART.__dict__, "columns": (*MART.columns, ColumnSpec("no_such_column", "", "", None))})
    with pytest.raises(PublicationError, match="rolled back"):
        exchange.publish(broken, tmp_path / "wh.duckdb", KEY)
    assert exchange.entry("population").version == 1
    assert query(exchange, "select count(*) from {schema}.population")[0][0] == 2


def test_blocked_publications_are_logged_without_touching_the_live_version(exchange, tmp_path):
    make_warehouse(tmp_path / "wh.duckdb", ROWS)
    exchange.publish(MART, tmp_path / "wh.duckdb", KEY)
    exchange.record_blocked("population", "id_number check failed for 40 %", "/reports/x.json")
    log = exchange.publication_log()
    assert [(e["outcome"], e["version"]) for e in log] == [("published", 1), ("blocked", None)]
    assert exchange.entry("population").version == 1


def test_metadata_must_come_from_the_dbt_yaml(tmp_path):
    incomplete = MartSpec(**{**MART.__dict__, "exchange": {"resource_code": "x"}})
    with pytest.raises(PublicationError, match="lacks title_zh, provider, sharing_type, update_cycle"):
        Exchange(f"duckdb:///{tmp_path / 'x.duckdb'}").publish(incomplete, tmp_path / "wh.duckdb", KEY)


def test_not_shared_datasets_are_never_published(tmp_path):
    secret = MartSpec(**{**MART.__dict__, "exchange": {**EXCHANGE_META, "sharing_type": "not_shared"}})
    with pytest.raises(PublicationError, match="not_shared"):
        Exchange(f"duckdb:///{tmp_path / 'x.duckdb'}").publish(secret, tmp_path / "wh.duckdb", KEY)


def test_an_exchange_file_can_be_queried_on_its_own(tmp_path):
    """Departments open the file directly: the view must not depend on how the publisher attached it."""
    make_warehouse(tmp_path / "wh.duckdb", ROWS)
    Exchange(f"duckdb:///{tmp_path / 'exchange.duckdb'}").publish(MART, tmp_path / "wh.duckdb", KEY)
    with duckdb.connect(str(tmp_path / "exchange.duckdb"), read_only=True) as connection:
        assert connection.execute("select count(*) from population").fetchone()[0] == 2
        assert connection.execute("select dataset, version from catalog").fetchall() == [("population", 1)]


def test_an_unreachable_exchange_is_named_and_its_password_never_shown(tmp_path):
    exchange = Exchange("postgresql://exchange:s3cret-pass-phrase@127.0.0.1:1/exchange")
    with pytest.raises(PublicationError, match=re.escape("exchange postgresql://exchange:***@127.0.0.1:1")) as raised:
        exchange.catalog()
    assert "s3cret-pass-phrase" not in str(raised.value)
    assert raised.value.__suppress_context__  # tracebacks will not print the driver's message
