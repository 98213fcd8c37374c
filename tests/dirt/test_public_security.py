"""Every defect planted in the hukou's moves and name changes ends quarantined with its reason.

The ground truth keys these tables by row position + 1, which is the system's own key (move_id,
change_id), copies of a double entry included. Persons and households are covered where they are built
(int_persons_validated). Evolution does not touch these two tables, but a record it deletes would be
legitimately absent, so keys evolution changed are set aside.
"""

from __future__ import annotations

import csv
import re

import pytest

MOVES, NAME_CHANGES = "public_security/hukou/moves", "public_security/hukou/name_changes"
QUARANTINE = {MOVES: "quarantine_hukou_moves", NAME_CHANGES: "quarantine_hukou_name_changes"}
KEY_COLUMN = {MOVES: "move_id", NAME_CHANGES: "change_id"}


def _witness(table: str, defect: dict[str, str]) -> str:
    """Text the quarantine's detail must contain for this planted defect: the rule and offending value."""
    kind, detail, column = defect["defect_kind"], defect["detail"], defect["column"]
    if kind == "bad_check_digit":
        return f"{column} fails GB 11643"
    if kind == "missing_field":
        return f"required field empty: {column}"
    if kind == "duplicate_row":
        original = _captured(r"duplicate of (\d+)", detail)
        return f"duplicate of {KEY_COLUMN[table]} {original}"
    if kind == "orphan_person":
        wrong = _captured(r"person (\d+) does not exist", detail)
        return f"person_id {wrong} "
    if kind == "impossible_date":
        wrong = _captured(r"date (\S+) does not exist", detail)
        return f"{column} {wrong} is not a calendar date"
    raise AssertionError(f"no disposition known for {kind}")


def _captured(pattern: str, detail: str) -> str:
    """The offending value a ground-truth detail names."""
    found = re.match(pattern, detail)
    assert found, f"ground truth detail {detail!r} does not match {pattern!r}"
    return found[1]


EXPECTED = [
    (MOVES, "bad_check_digit", "invalid_id_number"),
    (MOVES, "missing_field", "missing_required_field"),
    (MOVES, "duplicate_row", "duplicate_record"),
    (MOVES, "orphan_person", "orphan_reference"),
    (NAME_CHANGES, "impossible_date", "impossible_date"),
    (NAME_CHANGES, "missing_field", "missing_required_field"),
]


@pytest.fixture(scope="module")
def warehouse(dirty_city):
    return dirty_city.build(*QUARANTINE.values())


@pytest.fixture(scope="module")
def evolved(dirty_city) -> dict[str, set[str]]:
    """Per table, the keys evolution changed between the two runs."""
    changed: dict[str, set[str]] = {table: set() for table in QUARANTINE}
    with (dirty_city.city / "ground_truth" / "changes.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            table = f"{row['department']}/{row['system']}/{row['table']}"
            if table in changed:
                changed[table].add(row["record_key"])
    return changed


def _quarantined(warehouse, table: str) -> dict[str, tuple[str, str, str, str]]:
    rows = warehouse.query(
        f"select record_key, source_table, rejection_reason, rejection_detail, run_id from {QUARANTINE[table]}"
    )
    return {key: rest for key, *rest in rows}


def test_every_kind_of_the_ground_truth_has_a_disposition(dirty_city):
    planted = {(table, d["defect_kind"]) for table in QUARANTINE for d in dirty_city.defects(table)}
    assert planted == {(table, kind) for table, kind, _ in EXPECTED}


@pytest.mark.parametrize(("table", "kind", "reason"), EXPECTED)
def test_planted_defect_is_quarantined_with_its_reason(dirty_city, warehouse, evolved, table, kind, reason):
    quarantined = _quarantined(warehouse, table)
    defects = [d for d in dirty_city.defects(table) if d["defect_kind"] == kind]
    assert defects, f"the dirty city plants no {kind} in {table}"
    for defect in defects:
        key = defect["record_key"]
        if key in evolved[table]:
            continue
        assert key in quarantined, f"{table} {key} ({kind}: {defect['detail']}) is not quarantined"
        source_table, got_reason, detail, run_id = quarantined[key]
        assert (source_table, got_reason) == (table, reason), f"{table} {key} ({kind}): {got_reason}, {detail}"
        assert _witness(table, defect) in detail, f"{table} {key} ({kind}: {defect['detail']}): {detail}"
        assert run_id


@pytest.mark.parametrize("table", list(QUARANTINE))
def test_nothing_clean_is_quarantined(dirty_city, warehouse, evolved, table):
    planted = {d["record_key"] for d in dirty_city.defects(table)}
    unexplained = set(_quarantined(warehouse, table)) - planted - evolved[table]
    assert not unexplained, f"{table}: clean records quarantined: {sorted(unexplained, key=int)[:10]}"


@pytest.mark.parametrize("table", list(QUARANTINE))
def test_the_connector_lands_every_row(dirty_city, table):
    """Every defect here is in the values: nothing is refused at landing, all is left to the quarantine."""
    assert dirty_city.rejections(table) == []
