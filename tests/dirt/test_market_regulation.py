"""Every defect planted in the business registry's annual reports, licences and penalties ends quarantined
with its reason.

The ground truth keys these tables by row position + 1, which is the system's own key (report_id,
licence_id, penalty_id), copies of a double entry included. Enterprises are covered where they are built
(int_enterprises_validated). An orphan USCC is one the registry's enterprises (stg_business_registry__enterprises)
do not hold, so an enterprise whose own USCC was planted with a wrong check character orphans the reports,
licences and penalties that name its true USCC: those are quarantined as orphan_reference too, a documented
consequence of the enterprise's defect. Evolution only adds penalties, but a record it changed is set aside.
"""

from __future__ import annotations

import csv
import re

import duckdb
import pytest

REPORTS = "market_regulation/business_registry/annual_reports"
LICENCES = "market_regulation/business_registry/licences"
PENALTIES = "market_regulation/business_registry/penalties"
ENTERPRISES = "market_regulation/business_registry/enterprises"
QUARANTINE = {REPORTS: "quarantine_annual_reports", LICENCES: "quarantine_licences", PENALTIES: "quarantine_penalties"}
KEY_COLUMN = {REPORTS: "report_id", LICENCES: "licence_id", PENALTIES: "penalty_id"}

EXPECTED = [
    (REPORTS, "duplicate_row", "duplicate_record"),
    (REPORTS, "missing_field", "missing_required_field"),
    (REPORTS, "orphan_uscc", "orphan_reference"),
    (LICENCES, "impossible_date", "impossible_date"),
    (LICENCES, "orphan_uscc", "orphan_reference"),
    (PENALTIES, "missing_field", "missing_required_field"),
    (PENALTIES, "orphan_uscc", "orphan_reference"),
]


def _witness(table: str, defect: dict[str, str]) -> str:
    """Text the quarantine's detail must contain for this planted defect: the rule and offending value."""
    kind, detail, column = defect["defect_kind"], defect["detail"], defect["column"]
    if kind == "missing_field":
        return f"required field empty: {column}"
    if kind == "duplicate_row":
        original = re.fullmatch(r"duplicate of (\d+)", detail)[1]
        return f"duplicate of {KEY_COLUMN[table]} {original} "
    if kind == "orphan_uscc":
        wrong = re.match(r"uscc (\S+) is not registered", detail)[1]
        return f"uscc {wrong} is not registered"
    if kind == "impossible_date":
        wrong_to, valid_from = re.match(r"valid_to (\S+) before valid_from (\S+),", detail).groups()
        return f"valid_to {wrong_to} is before valid_from {valid_from}"
    raise AssertionError(f"no disposition known for {kind}")


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


@pytest.fixture(scope="module")
def unregistered_true_usccs(dirty_city) -> set[str]:
    """True USCCs of the enterprises whose registry record carries a planted wrong check character."""
    keys = [int(d["record_key"]) for d in dirty_city.defects(ENTERPRISES) if d["defect_kind"] == "bad_check_digit"]
    truth = dirty_city.city / "ground_truth" / "enterprises.parquet"
    rows = duckdb.execute(
        "select uscc from read_parquet(?) where enterprise_id in (select unnest(?))", [str(truth), keys]
    ).fetchall()
    assert len(rows) == len(keys)
    return {uscc for (uscc,) in rows}


def _quarantined(warehouse, table: str) -> dict[str, tuple[str, str, str, str, str]]:
    rows = warehouse.query(
        f"select record_key, source_table, rejection_reason, rejection_detail, run_id, uscc from {QUARANTINE[table]}"
    )
    return {key: rest for key, *rest in rows}


def test_every_kind_of_the_ground_truth_has_a_disposition(dirty_city):
    planted = {(table, d["defect_kind"]) for table in QUARANTINE for d in dirty_city.defects(table)}
    assert planted == {(table, kind) for table, kind, _ in EXPECTED}


@pytest.mark.parametrize(("table", "kind", "reason"), EXPECTED)
def test_planted_defect_is_quarantined_with_its_reason(
    dirty_city, warehouse, evolved, unregistered_true_usccs, table, kind, reason
):
    quarantined = _quarantined(warehouse, table)
    defects = [d for d in dirty_city.defects(table) if d["defect_kind"] == kind]
    assert defects, f"the dirty city plants no {kind} in {table}"
    for defect in defects:
        key = defect["record_key"]
        if key in evolved[table]:
            continue
        assert key in quarantined, f"{table} {key} ({kind}: {defect['detail']}) is not quarantined"
        source_table, got_reason, detail, run_id, uscc = quarantined[key]
        if got_reason == "orphan_reference" and uscc in unregistered_true_usccs:
            continue  # a copy of a report of an enterprise with a spoiled USCC: the earlier rule wins
        assert (source_table, got_reason) == (table, reason), f"{table} {key} ({kind}): {got_reason}, {detail}"
        assert _witness(table, defect) in detail, f"{table} {key} ({kind}: {defect['detail']}): {detail}"
        assert run_id


@pytest.mark.parametrize("table", list(QUARANTINE))
def test_nothing_clean_is_quarantined(dirty_city, warehouse, evolved, unregistered_true_usccs, table):
    """Besides the planted defects only the records naming an enterprise whose registry USCC is spoiled."""
    planted = {d["record_key"] for d in dirty_city.defects(table)}
    unexplained = {
        key: (reason, uscc)
        for key, (_, reason, _, _, uscc) in _quarantined(warehouse, table).items()
        if key not in planted | evolved[table]
        and not (reason == "orphan_reference" and uscc in unregistered_true_usccs)
    }
    assert not unexplained, f"{table}: clean records quarantined: {sorted(unexplained.items())[:10]}"


@pytest.mark.parametrize("table", list(QUARANTINE))
def test_the_connector_lands_every_row(dirty_city, table):
    """Every defect here is in the values: nothing is refused at landing, all is left to the quarantine."""
    assert dirty_city.rejections(table) == []
