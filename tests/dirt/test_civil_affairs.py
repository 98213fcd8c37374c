"""Every defect planted in the civil registry ends quarantined with its reason; nothing else does.

The ground truth keys both tables by row position + 1, which is the system's own key (registration_id,
address_id), copies of a double entry included. Evolution does not change the civil registry; a homophone
typo is found against the household registration, so one whose spouse's hukou record evolution cancelled
(a death) cannot be found and is set aside.
"""

from __future__ import annotations

import csv
import re

import pyarrow.parquet as pq
import pytest

MARRIAGES = "civil_affairs/civil_registry/marriage_registrations"
ADDRESSES = "civil_affairs/civil_registry/standard_addresses"
QUARANTINE = {MARRIAGES: "quarantine_marriage_registrations", ADDRESSES: "quarantine_standard_addresses"}
COMPARED = (
    "certificate_no", "registration_type", "marriage_certificate_no", "husband_id_number", "husband_name",
    "wife_id_number", "wife_name", "registered_on", "registry_office",
)  # fmt: skip
EXPECTED = [
    (MARRIAGES, "bad_check_digit", "invalid_id_number"),
    (MARRIAGES, "missing_field", "missing_required_field"),
    (MARRIAGES, "duplicate_row", "duplicate_record"),
    (MARRIAGES, "impossible_date", "impossible_date"),
    (MARRIAGES, "orphan_marriage", "orphan_reference"),
    (MARRIAGES, "homophone_name", "name_mismatch"),
    (ADDRESSES, "stale_division_code", "invalid_division_code"),
]


def _witnesses(defect: dict[str, str]) -> list[str]:
    """Texts the quarantine's detail must contain for this planted defect: the rule and offending value."""
    kind, detail, column = defect["defect_kind"], defect["detail"], defect["column"]
    if kind == "bad_check_digit":
        return [f"{column} fails GB 11643"]
    if kind == "missing_field":
        return [f"required field empty: {column}"]
    if kind == "duplicate_row":
        original = _captured(r"duplicate of (\d+)", detail)
        return [f"duplicate of registration_id {original} (same certificate_no)"]
    if kind == "impossible_date":
        wrong = _captured(r"date (\S+) does not exist", detail)
        return [f"{column} {wrong} is not a calendar date"]
    if kind == "orphan_marriage":
        wrong = _captured(r"marriage certificate (\S+) does not exist", detail)
        return [f"marriage_certificate_no {wrong} is not a marriage of {MARRIAGES}"]
    if kind == "homophone_name":  # names stay out of the free-text detail (PII): the typed name is in the row
        return [f"{column} differs from the hukou name of {column.replace('_name', '_id_number')}"]
    if kind == "stale_division_code":
        return ["division_code 410107 fails GB/T 2260: obsolete code"]
    raise AssertionError(f"no disposition known for {kind}")


def _captured(pattern: str, detail: str) -> str:
    """The offending value a ground-truth detail names."""
    found = re.match(pattern, detail)
    assert found, f"ground truth detail {detail!r} does not match {pattern!r}"
    return found[1]


@pytest.fixture(scope="module")
def warehouse(dirty_city):
    return dirty_city.build(*QUARANTINE.values())


@pytest.fixture(scope="module")
def truth(dirty_city) -> dict[str, dict]:
    """The true marriage registrations by registration_id."""
    rows = pq.read_table(dirty_city.city / "ground_truth" / "marriage_registrations.parquet").to_pylist()
    return {str(row["registration_id"]): row for row in rows}


@pytest.fixture(scope="module")
def cancelled_persons(dirty_city) -> set[int]:
    """The hukou person_ids evolution deleted between the two runs."""
    with (dirty_city.city / "ground_truth" / "changes.csv").open(encoding="utf-8", newline="") as handle:
        return {
            int(row["record_key"])
            for row in csv.DictReader(handle)
            if (row["system"], row["table"], row["change"]) == ("hukou", "persons", "delete")
        }


def _quarantined(warehouse, table: str) -> dict[str, tuple[str, str, str, str]]:
    rows = warehouse.query(
        f"select record_key, source_table, rejection_reason, rejection_detail, run_id from {QUARANTINE[table]}"
    )
    return {key: rest for key, *rest in rows}


def _unfindable(defect: dict[str, str], truth: dict[str, dict], cancelled_persons: set[int]) -> bool:
    """A homophone typo of a spouse the household registration no longer holds: nothing to compare to."""
    if defect["defect_kind"] != "homophone_name":
        return False
    spouse = defect["column"].removesuffix("_name")
    return truth[defect["record_key"]][f"{spouse}_person_id"] in cancelled_persons


def test_every_kind_of_the_ground_truth_has_a_disposition(dirty_city):
    planted = {(table, d["defect_kind"]) for table in QUARANTINE for d in dirty_city.defects(table)}
    assert planted == {(table, kind) for table, kind, _ in EXPECTED}


@pytest.mark.parametrize(("table", "kind", "reason"), EXPECTED)
def test_planted_defect_is_quarantined_with_its_reason(
    dirty_city, warehouse, truth, cancelled_persons, table, kind, reason
):
    quarantined = _quarantined(warehouse, table)
    defects = [d for d in dirty_city.defects(table) if d["defect_kind"] == kind]
    assert defects, f"the dirty city plants no {kind} in {table}"
    for defect in defects:
        key = defect["record_key"]
        if _unfindable(defect, truth, cancelled_persons):
            continue
        assert key in quarantined, f"{table} {key} ({kind}: {defect['detail']}) is not quarantined"
        source_table, got_reason, detail, run_id = quarantined[key]
        assert (source_table, got_reason) == (table, reason), f"{table} {key} ({kind}): {got_reason}, {detail}"
        for witness in _witnesses(defect):
            assert witness in detail, f"{table} {key} ({kind}: {defect['detail']}): {detail}"
        if kind == "homophone_name":  # the quarantined row keeps the name as typed, homophone included
            typed = _captured(r".* typed as (\S)", defect["detail"])
            [(name,)] = warehouse.query(
                f"select {defect['column']} from {QUARANTINE[table]} where record_key = ?", [key]
            )
            assert typed in name
        assert run_id


@pytest.mark.parametrize("table", list(QUARANTINE))
def test_nothing_clean_is_quarantined(dirty_city, warehouse, table):
    planted = {d["record_key"] for d in dirty_city.defects(table)}
    unexplained = set(_quarantined(warehouse, table)) - planted
    assert not unexplained, f"{table}: clean records quarantined: {sorted(unexplained, key=int)[:10]}"


def test_clean_marriages_are_staged_as_true(dirty_city, warehouse, truth):
    """No row lost, none altered: every true registration is staged, the clean ones with their true values."""
    columns = ", ".join(name if name != "registered_on" else "registered_on_text" for name in COMPARED)
    staged = {
        str(key): values
        for key, *values in warehouse.query(
            f"select registration_id, {columns} from stg_civil_registry__marriage_registrations"
        )
    }
    defects = dirty_city.defects(MARRIAGES)
    spoiled = {d["record_key"] for d in defects}
    for key, record in truth.items():
        if key not in spoiled:
            assert staged.get(key) == [record[name] for name in COMPARED], f"registration {key}"
    assert len(staged) == len(truth) + sum(d["defect_kind"] == "duplicate_row" for d in defects)


@pytest.mark.parametrize("table", list(QUARANTINE))
def test_the_connector_lands_every_row(dirty_city, table):
    """Every defect here is in the values: nothing is refused at landing, all is left to the quarantine."""
    assert dirty_city.rejections(table) == []
