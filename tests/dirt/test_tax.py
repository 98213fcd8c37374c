"""Every defect planted in the tax bureau's monthly credit-rating workbooks ends quarantined with its reason,
or standardised.

The ground truth keys a record ``<uscc>|<YYYYMM>``: the taxpayer in the month's workbook
taxpayer_credit_YYYYMM.xlsx. The quarantine names a row by ``<file>:<row>``, so a quarantined row is
matched to its planted defect by its file's month and its standardised USCC. A row exported twice is the
same record twice: the later row is quarantined, the earlier one stays.
"""

from __future__ import annotations

import ast

import duckdb
import pytest

TABLE = "tax/credit_ratings/taxpayer_credit"
QUARANTINE = "quarantine_taxpayer_credit_ratings"
STAGED = "stg_credit_ratings__taxpayer_credit_ratings"
QUARANTINED = {"invalid_rating": "invalid_value", "duplicate_row": "duplicate_record"}
STANDARDISED = ("lowercase_code", "stray_whitespace")  # the USCC as typed; staging must restore the true one
BLANKS = " \t\u3000"


def _workbook(record_key: str) -> tuple[str, str]:
    """The true USCC and the workbook of a ground-truth record key."""
    uscc, month = record_key.split("|")
    return uscc, f"taxpayer_credit_{month}.xlsx"


@pytest.fixture(scope="module")
def warehouse(dirty_city):
    return dirty_city.build(QUARANTINE)


@pytest.fixture(scope="module")
def true_usccs(dirty_city) -> dict[str, str]:
    """The true USCC per ground-truth record key."""
    path = dirty_city.city / "ground_truth" / "credit_ratings.parquet"
    return dict(duckdb.execute("select record_key, uscc from read_parquet(?)", [str(path)]).fetchall())


def _quarantined(warehouse) -> list[tuple[str, str, str, str, str, int, str]]:
    return warehouse.query(
        f"select record_key, source_table, rejection_reason, rejection_detail, source_file, source_row, uscc "
        f"from {QUARANTINE}"
    )


def _planted(dirty_city, kind: str) -> list[dict[str, str]]:
    defects = [d for d in dirty_city.defects(TABLE) if d["defect_kind"] == kind]
    assert defects, f"the dirty city plants no {kind} in {TABLE}"
    return defects


def test_every_kind_of_the_ground_truth_has_a_disposition(dirty_city):
    planted = {d["defect_kind"] for d in dirty_city.defects(TABLE)}
    assert planted == set(QUARANTINED) | set(STANDARDISED)


def test_invalid_rating_is_quarantined_as_invalid_value(dirty_city, warehouse):
    quarantined = {(file, uscc.strip(BLANKS).upper()): rest for *rest, file, _, uscc in _quarantined(warehouse)}
    for defect in _planted(dirty_city, "invalid_rating"):
        uscc, file = _workbook(defect["record_key"])
        found = quarantined.get((file, uscc))
        assert found, f"{defect['record_key']} ({defect['detail']}) is not quarantined"
        record_key, source_table, reason, detail = found
        assert (source_table, reason) == (TABLE, "invalid_value"), f"{record_key}: {reason}, {detail}"
        assert "rating E is not one of A, B, M, C, D" in detail, f"{record_key}: {detail}"


def test_row_exported_twice_keeps_the_first_and_quarantines_the_second(dirty_city, warehouse):
    quarantined = {record_key: (reason, detail) for record_key, _, reason, detail, *_ in _quarantined(warehouse)}
    for defect in _planted(dirty_city, "duplicate_row"):
        uscc, file = _workbook(defect["record_key"])
        rows = warehouse.query(
            f"select _source_row from {STAGED} where _source_file = ? and uscc = ? order by 1", [file, uscc]
        )
        assert len(rows) == 2, f"{defect['record_key']}: rows {rows} in {file}"
        (first,), (second,) = rows
        assert f"{file}:{first}" not in quarantined, f"{defect['record_key']}: the first row is quarantined"
        assert quarantined.get(f"{file}:{second}") == (
            "duplicate_record",
            f"duplicate of row {first} of {file} (same uscc)",
        ), f"{defect['record_key']}: the second row {second}"


@pytest.mark.parametrize("kind", STANDARDISED)
def test_mistyped_uscc_is_standardised_not_quarantined(dirty_city, warehouse, true_usccs, kind):
    quarantined = {record_key for record_key, *_ in _quarantined(warehouse)}
    for defect in _planted(dirty_city, kind):
        typed = ast.literal_eval(defect["detail"].split(", true ")[0])
        _, file = _workbook(defect["record_key"])
        rows = warehouse.query(
            f"select _source_row, uscc from {STAGED} where _source_file = ? and uscc_text = ?", [file, typed]
        )
        assert len(rows) == 1, f"{defect['record_key']}: {typed!r} rows {rows} in {file}"
        ((row, staged),) = rows
        assert staged == true_usccs[defect["record_key"]], f"{defect['record_key']}: staged {staged!r}"
        assert f"{file}:{row}" not in quarantined, f"{defect['record_key']} ({kind}) is quarantined"


def test_nothing_clean_is_quarantined(dirty_city, warehouse):
    """Each quarantined row is a planted defect of its kind: keyed by its file's month and its USCC."""
    planted = {(d["record_key"], QUARANTINED.get(d["defect_kind"])) for d in dirty_city.defects(TABLE)}
    unexplained = [
        (record_key, reason)
        for record_key, _, reason, _, file, _, uscc in _quarantined(warehouse)
        if (f"{uscc.strip(BLANKS).upper()}|{file.removeprefix('taxpayer_credit_')[:6]}", reason) not in planted
    ]
    assert not unexplained, f"clean rows quarantined: {unexplained[:10]}"


def test_the_connector_lands_every_row(dirty_city):
    """Every defect here is in the values: nothing is refused at landing, all is left to the quarantine."""
    assert dirty_city.rejections(TABLE) == []
