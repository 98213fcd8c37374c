"""Every defect planted in the property registry ends quarantined with its reason; nothing else does.

The ground truth keys property_registrations by row position + 1, which is registration_id, copies of a
double entry included. An orphan names a building number past the last one on its parcel, so it is
checked against the land planning buildings layer (stg_land_planning__buildings). Evolution transfers
registrations (a new owner from the household registration, whose own dirt it may carry) and cancels
some (legitimately absent): those keys are set aside from the exact checks.
"""

from __future__ import annotations

import csv
import re

import pyarrow.parquet as pq
import pytest

TABLE = "housing/property_registry/property_registrations"
QUARANTINE = "quarantine_property_registrations"
STAGED = "stg_property_registry__registrations"
COMPARED = ("registration_no", "owner_id_number", "owner_name", "building_id", "unit", "registered_on")
EXPECTED = {
    "bad_check_digit": "invalid_id_number",
    "missing_field": "missing_required_field",
    "duplicate_row": "duplicate_record",
    "orphan_building": "orphan_reference",
}


def _witness(defect: dict[str, str]) -> str:
    """Text the quarantine's detail must contain for this planted defect: the rule and offending value."""
    kind, detail, column = defect["defect_kind"], defect["detail"], defect["column"]
    if kind == "bad_check_digit":
        return f"{column} fails GB 11643"
    if kind == "missing_field":
        return f"required field empty: {column}"
    if kind == "duplicate_row":
        original = _captured(r"duplicate of (\d+)", detail)
        return f"duplicate of registration_id {original} (same registration_no)"
    if kind == "orphan_building":
        wrong = _captured(r"building (\S+) does not exist", detail)
        return f"building_id {wrong} is not a building of natural_resources/land_planning/buildings"
    raise AssertionError(f"no disposition known for {kind}")


def _captured(pattern: str, detail: str) -> str:
    """The offending value a ground-truth detail names."""
    found = re.match(pattern, detail)
    assert found, f"ground truth detail {detail!r} does not match {pattern!r}"
    return found[1]


@pytest.fixture(scope="module")
def warehouse(dirty_city):
    return dirty_city.build(QUARANTINE)


@pytest.fixture(scope="module")
def evolved(dirty_city) -> dict[str, set[str]]:
    """The registration_ids evolution changed between the two runs, by change (update: transfer; delete)."""
    changed: dict[str, set[str]] = {"update": set(), "delete": set()}
    with (dirty_city.city / "ground_truth" / "changes.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if f"{row['department']}/{row['system']}/{row['table']}" == TABLE:
                changed.setdefault(row["change"], set()).add(row["record_key"])
    return changed


@pytest.fixture(scope="module")
def quarantined(warehouse) -> dict[str, tuple[str, str, str, str]]:
    rows = warehouse.query(
        f"select record_key, source_table, rejection_reason, rejection_detail, run_id from {QUARANTINE}"
    )
    return {key: rest for key, *rest in rows}


def test_every_kind_of_the_ground_truth_has_a_disposition(dirty_city):
    assert {d["defect_kind"] for d in dirty_city.defects(TABLE)} == set(EXPECTED)


@pytest.mark.parametrize(("kind", "reason"), EXPECTED.items())
def test_planted_defect_is_quarantined_with_its_reason(dirty_city, quarantined, evolved, kind, reason):
    defects = [d for d in dirty_city.defects(TABLE) if d["defect_kind"] == kind]
    assert defects, f"the dirty city plants no {kind}"
    for defect in defects:
        key = defect["record_key"]
        if key in evolved["delete"]:
            assert key not in quarantined, f"{key} was cancelled by evolution, yet quarantined"
            continue
        if key in evolved["update"]:
            continue  # a transfer rewrote the owner: the planted value may be gone
        assert key in quarantined, f"{key} ({kind}: {defect['detail']}) is not quarantined"
        source_table, got_reason, detail, run_id = quarantined[key]
        assert (source_table, got_reason) == (TABLE, reason), f"{key} ({kind}): {got_reason}, {detail}"
        assert _witness(defect) in detail, f"{key} ({kind}: {defect['detail']}): {detail}"
        assert run_id


def test_nothing_clean_is_quarantined(dirty_city, quarantined, evolved):
    planted = {d["record_key"] for d in dirty_city.defects(TABLE)}
    unexplained = set(quarantined) - planted - evolved["update"]
    assert not unexplained, f"clean registrations quarantined: {sorted(unexplained, key=int)[:10]}"


def test_clean_registrations_are_staged_as_true(dirty_city, warehouse, evolved):
    """No row lost, none altered: every true registration the registry still holds is staged with its values."""
    truth = pq.read_table(dirty_city.city / "ground_truth" / "property_registrations.parquet").to_pylist()
    spoiled = {d["record_key"] for d in dirty_city.defects(TABLE)} | evolved["update"]
    columns = ", ".join(name if name != "registered_on" else "registered_on_text" for name in COMPARED)
    staged = {str(key): values for key, *values in warehouse.query(f"select registration_id, {columns} from {STAGED}")}
    for record in truth:
        key = str(record["registration_id"])
        if key in evolved["delete"]:
            assert key not in staged, f"{key} was cancelled by evolution, yet staged"
        elif key not in spoiled:
            assert staged.get(key) == [record[name] for name in COMPARED], f"registration {key}"
    copies = sum(d["defect_kind"] == "duplicate_row" for d in dirty_city.defects(TABLE))
    assert len(staged) == len(truth) + copies - len(evolved["delete"])


def test_the_connector_lands_every_row(dirty_city):
    """Every defect here is in the values: nothing is refused at landing, all is left to the quarantine."""
    assert dirty_city.rejections(TABLE) == []
