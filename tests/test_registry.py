"""The source registry: consistent with the department systems, and clear about what is wrong when it is not."""

import pytest

from citybase.simulator import simulate
from citybase.simulator.api_server import start_api_server
from connectors.extract import extract_source
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
    """Every declared table lands through its connector with its key, cursor and PII columns."""
    city = tmp_path / "city"
    simulate(city, scale=0.001, seed=1)  # enough residents for a month of births and deaths
    with start_api_server(city):
        for source in load_registry():
            manifest = extract_source(source, "r1", city_dir=city, landing_dir=tmp_path / "landing")
            for table in source.tables:
                landed = manifest.tables[table.name]
                assert landed.rows > 0, f"{source.key}.{table.name} landed nothing"
                declared = {*table.primary_key, *table.pii, *([table.cursor] if table.cursor else [])}
                assert declared <= set(landed.columns), f"{source.key}.{table.name}: {declared - set(landed.columns)}"


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
