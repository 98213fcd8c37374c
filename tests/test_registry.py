"""The source registry: consistent with the department systems, and clear about what is wrong when it is not."""

import sqlite3

import pytest

from citybase.simulator import simulate
from connectors.registry import RegistryError, load_registry, parse_registry

VALID = {
    "department": "health",
    "system": "births",
    "kind": "sql",
    "connection": "health__births",
    "owner": "health-data-team",
    "tables": [{"name": "certificates", "primary_key": ["certificate_id"], "pii": {"mother_id": "id_number"}}],
}


def test_the_shipped_registry_matches_the_simulated_systems(tmp_path):
    """Every declared table, key, cursor and PII column exists in the system it names."""
    simulate(tmp_path, scale=0.0001, seed=1)
    for source in load_registry():
        with sqlite3.connect(tmp_path / source.department / f"{source.system}.sqlite") as connection:
            for table in source.tables:
                columns = {row[1] for row in connection.execute(f"pragma table_info({table.name})")}
                assert columns, f"{source.key}: no table {table.name}"
                declared = {*table.primary_key, *table.pii, *([table.cursor] if table.cursor else [])}
                assert declared <= columns, f"{source.key}.{table.name}: {declared - columns} not in the system"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "ftp"}, "kind 'ftp' is not one of"),
        ({"owner": None}, "missing owner"),
        ({"tables": [{"name": "t", "primary_key": []}]}, "table t: primary_key is required"),
        ({"tables": [{"name": "t", "primary_key": ["id"], "pii": {"x": "dna"}}]}, "pii column 'x' has kind 'dna'"),
    ],
)
def test_errors_name_the_entry_and_the_field(change, message):
    with pytest.raises(RegistryError, match=message) as raised:
        parse_registry({"sources": [{**VALID, **change}]}, origin="sources.yml")
    assert "sources.yml: sources[0] (health/births)" in str(raised.value)


def test_a_system_declared_twice_is_refused():
    with pytest.raises(RegistryError, match="health/births is declared twice"):
        parse_registry({"sources": [VALID, VALID]})


def test_dag_ids_and_keys_follow_department_and_system():
    (source,) = parse_registry({"sources": [VALID]})
    assert (source.key, source.dag_id) == ("health/births", "extract__health__births")
    assert source.tables[0].pii == {"mother_id": "id_number"}
