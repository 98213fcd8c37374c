"""The land planning layers' planted dirt, each defect held to its disposition against the ground truth.

Ground-truth keys are the parcel number (parcels) and the building id (buildings); a duplicated feature
is keyed by the id it repeats. Every planted defect of these layers is quarantined: a self-intersecting
ring or [lat, lon] coordinates as invalid_geometry, an absent property as missing_required_field, a
parcel whose geometry lies in another division than its division_code as division_mismatch, and the
later copy of a duplicated feature as duplicate_record.
"""

from __future__ import annotations

import re

import pytest

PARCELS = "natural_resources/land_planning/parcels"
BUILDINGS = "natural_resources/land_planning/buildings"
REASON_OF_KIND = {
    "invalid_geometry": "invalid_geometry",
    "swapped_coordinates": "invalid_geometry",
    "missing_property": "missing_required_field",
    "division_mismatch": "division_mismatch",
    "duplicate_feature": "duplicate_record",
}
LAYERS = {  # table key -> (quarantine model, validated model, key column)
    PARCELS: ("quarantine_planning_parcels", "int_planning_parcels_validated", "parcel_number"),
    BUILDINGS: ("quarantine_planning_buildings", "int_planning_buildings_validated", "building_id"),
}
CASES = [
    (PARCELS, kind)
    for kind in (
        "invalid_geometry",
        "swapped_coordinates",
        "missing_property",
        "division_mismatch",
        "duplicate_feature",
    )
] + [(BUILDINGS, kind) for kind in ("invalid_geometry", "swapped_coordinates", "missing_property", "duplicate_feature")]


@pytest.fixture(scope="module")
def warehouse(dirty_city):
    return dirty_city.build("quarantine_planning_parcels", "quarantine_planning_buildings")


def quarantined(warehouse, table_key: str) -> list[tuple[str, str, str]]:
    """(landed key, reason, detail) of every quarantined feature of the layer."""
    model, _, key = LAYERS[table_key]
    return warehouse.query(f"select {key}, rejection_reason, rejection_detail from {model}")


@pytest.mark.parametrize("table_key", LAYERS)
def test_nothing_rejected_at_landing(dirty_city, table_key):
    assert dirty_city.rejections(table_key) == []


@pytest.mark.parametrize(("table_key", "kind"), CASES)
def test_defects_are_quarantined_with_their_reason(dirty_city, warehouse, table_key, kind):
    reasons: dict[str, set[str]] = {}
    for key, reason, _ in quarantined(warehouse, table_key):
        reasons.setdefault(key, set()).add(reason)
    planted = {d["record_key"] for d in dirty_city.defects(table_key) if d["defect_kind"] == kind}
    assert planted
    assert {key for key in planted if reasons.get(key) != {REASON_OF_KIND[kind]}} == set()


@pytest.mark.parametrize("table_key", LAYERS)
def test_swapped_coordinates_are_named_in_the_detail(dirty_city, warehouse, table_key):
    details = {key: detail for key, _, detail in quarantined(warehouse, table_key)}
    for defect in dirty_city.defects(table_key):
        if defect["defect_kind"] == "swapped_coordinates":
            assert "outside Zhengzhou" in details[defect["record_key"]]
            assert "[lat, lon]" in details[defect["record_key"]]


def test_division_mismatch_names_the_division_the_geometry_lies_in(dirty_city, warehouse):
    details = {key: detail for key, _, detail in quarantined(warehouse, PARCELS)}
    for defect in dirty_city.defects(PARCELS):
        if defect["defect_kind"] == "division_mismatch":
            stated, true = re.search(r"division_code (\d{6}), geometry lies in (\d{6})", defect["detail"]).groups()
            assert details[defect["record_key"]] == f"division_code {stated} but the geometry lies in {true}"


@pytest.mark.parametrize("table_key", LAYERS)
def test_a_duplicated_feature_keeps_one_passing_copy(dirty_city, warehouse, table_key):
    _, validated, key = LAYERS[table_key]
    keys = [d["record_key"] for d in dirty_city.defects(table_key) if d["defect_kind"] == "duplicate_feature"]
    rows = warehouse.query(
        f"""
        select {key}, count(*) filter (where rejection_reason is null), count(*)
        from {validated}
        where {key} in (select unnest(?))
        group by {key}
        """,
        [keys],
    )
    assert sorted(rows) == sorted((k, 1, 2) for k in keys)


@pytest.mark.parametrize("table_key", LAYERS)
def test_nothing_clean_is_quarantined(dirty_city, warehouse, table_key):
    planted = {(d["record_key"], REASON_OF_KIND[d["defect_kind"]]) for d in dirty_city.defects(table_key)}
    found = quarantined(warehouse, table_key)
    assert sorted({(key, reason) for key, reason, _ in found} - planted) == []
    assert len(found) == len(planted)
