"""hr_social_security/social_insurance in the warehouse: every planted defect of insured_persons and arrears
ends standardised (landed with its true value) or quarantined with its reason, and nothing clean is quarantined.

Documented consequences of other systems' dirt, which the test accepts as such:
- an employer whose USCC the business registry holds with a mistyped check character (its own planted
  defect) is not in the registry, so its employees' records are orphan_reference;
- a homophone typo cannot be seen when the person's hukou record carries a broken ID number (the hukou's
  planted defect): there is no hukou name to compare with, and the record passes.
"""

from __future__ import annotations

import csv

import duckdb
import pytest

INSURED, ARREARS = "hr_social_security/social_insurance/insured_persons", "hr_social_security/social_insurance/arrears"
QUARANTINE = {INSURED: "quarantine_insured_persons", ARREARS: "quarantine_insurance_arrears"}
STAGED = {
    INSURED: ("stg_social_insurance__insured_persons", "insured_id"),
    ARREARS: ("stg_social_insurance__arrears", "arrears_id"),
}
QUARANTINED_AS = {
    "bad_check_digit": "invalid_id_number",
    "missing_field": "missing_required_field",
    "impossible_date": "impossible_date",
    "orphan_reference": "orphan_reference",
    "homophone_name": "name_mismatch",
    "duplicate_row": "duplicate_record",
}
STANDARDISED = ("lowercase_x", "stray_whitespace")
PLANTED = {
    INSURED: (*QUARANTINED_AS, *STANDARDISED),
    ARREARS: ("orphan_reference",),
}


@pytest.fixture(scope="module")
def warehouse(dirty_city):
    return dirty_city.build(*QUARANTINE.values())


@pytest.fixture(scope="module")
def truth(dirty_city):
    return dirty_city.city / "ground_truth"


def truth_rows(truth, table: str, columns: str) -> list[tuple]:
    """``columns`` of the ground truth's true records of ``table``."""
    with duckdb.connect() as connection:
        return connection.execute(
            f"select {columns} from read_parquet(?)", [str(truth / f"{table}.parquet")]
        ).fetchall()


def quarantined(warehouse, table_key: str) -> dict[str, str]:
    return dict(warehouse.query(f"select record_key, rejection_reason from {QUARANTINE[table_key]}"))


def staged_keys(warehouse, table_key: str) -> set[str]:
    model, key = STAGED[table_key]
    return {str(k) for (k,) in warehouse.query(f"select {key} from {model}")}


def deleted_keys(truth, table_key: str) -> set[str]:
    """Keys evolution deleted (e.g. settled arrears): legitimately absent from the warehouse."""
    department, system, table = table_key.split("/")
    with (truth / "changes.csv").open(encoding="utf-8", newline="") as handle:
        return {
            row["record_key"]
            for row in csv.DictReader(handle)
            if (row["department"], row["system"], row["table"], row["change"]) == (department, system, table, "delete")
        }


def hukou_ids_broken(dirty_city) -> set[int]:
    """person_ids whose hukou record carries a planted defect in id_number (no name to compare with)."""
    return {
        int(row["record_key"])
        for row in dirty_city.defects("public_security/hukou/persons")
        if row["column"] == "id_number"
    }


def registry_usccs_broken(dirty_city, truth) -> set[str]:
    """True USCCs of enterprises the business registry holds with a planted defect in uscc."""
    keys = [int(row["record_key"]) for row in dirty_city.defects("market_regulation/business_registry/enterprises")
            if row["column"] == "uscc"]  # fmt: skip
    return {uscc for key, uscc in truth_rows(truth, "enterprises", "enterprise_id, uscc") if key in keys}


@pytest.mark.parametrize(
    ("table_key", "kind"),
    [(table, kind) for table, kinds in PLANTED.items() for kind in kinds if kind in QUARANTINED_AS],
)
def test_defect_is_quarantined_with_its_reason(dirty_city, warehouse, truth, table_key, kind):
    planted = [row for row in dirty_city.defects(table_key) if row["defect_kind"] == kind]
    assert planted, f"no {kind} planted in {table_key}: the dirty city no longer exercises this rule"
    rejected, gone = quarantined(warehouse, table_key), deleted_keys(truth, table_key)
    unverifiable = set()
    if kind == "homophone_name":
        person = dict(truth_rows(truth, "insured_persons", "insured_id, person_id"))
        broken = hukou_ids_broken(dirty_city)
        unverifiable = {row["record_key"] for row in planted if int(person[int(row["record_key"])]) in broken}
    wrong = {
        row["record_key"]: rejected.get(row["record_key"])
        for row in planted
        if row["record_key"] not in gone | unverifiable and rejected.get(row["record_key"]) != QUARANTINED_AS[kind]
    }
    assert not wrong, f"{kind} records of {table_key} not quarantined as {QUARANTINED_AS[kind]}: {wrong}"
    assert not unverifiable & set(rejected), "a homophone without a hukou name to compare with cannot be flagged"


@pytest.mark.parametrize("kind", STANDARDISED)
def test_standardised_defect_lands_with_its_true_value(dirty_city, warehouse, truth, kind):
    planted = [row for row in dirty_city.defects(INSURED) if row["defect_kind"] == kind]
    assert planted
    assert not {row["record_key"] for row in planted} & set(quarantined(warehouse, INSURED))
    true = {
        str(key): (id_number, name)
        for key, id_number, name in truth_rows(truth, "insured_persons", "insured_id, id_number, name")
    }
    staged = {
        str(key): (id_number, name)
        for key, id_number, name in warehouse.query(
            "select insured_id, id_number, name from stg_social_insurance__insured_persons"
        )
    }
    differing = {row["record_key"]: staged.get(row["record_key"]) for row in planted if
                 staged.get(row["record_key"]) != true[row["record_key"]]}  # fmt: skip
    assert not differing, f"{kind}: staged values differ from the truth: {differing}"


@pytest.mark.parametrize("table_key", list(QUARANTINE))
def test_nothing_clean_is_quarantined(dirty_city, warehouse, truth, table_key):
    planted = {row["record_key"] for row in dirty_city.defects(table_key)}
    consequences = registry_usccs_broken(dirty_city, truth)
    model = QUARANTINE[table_key]
    extra = {
        key: (reason, employer)
        for key, reason, employer in warehouse.query(f"select record_key, rejection_reason, employer_uscc from {model}")
        if key not in planted and not (reason == "orphan_reference" and employer in consequences)
    }
    assert not extra, f"{table_key}: quarantined without a planted defect: {extra}"


@pytest.mark.parametrize("table_key", list(QUARANTINE))
def test_every_record_is_staged(dirty_city, warehouse, truth, table_key):
    """Nothing is lost on the way in: every true record and every double entry is in staging."""
    _, key = STAGED[table_key]
    true_keys = {str(k) for (k,) in truth_rows(truth, table_key.split("/")[2], key)}
    duplicates = {row["record_key"] for row in dirty_city.defects(table_key) if row["defect_kind"] == "duplicate_row"}
    missing = (true_keys | duplicates) - deleted_keys(truth, table_key) - staged_keys(warehouse, table_key)
    assert not missing, f"{table_key}: records missing from staging: {sorted(missing)[:20]}"
