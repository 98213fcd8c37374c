"""The bus network system's planted dirt, each defect held to its disposition against the ground truth.

Ground-truth keys of ridership are date + '|' + line id + '|' + stop id with the true ids (an orphan
stop's landed id is in the detail), and the file name for a missing file. Negative counts, retired
stops and the later copy of a row sent twice are quarantined; a day whose file never arrived has no
rows and is reported by int_bus_ridership_gaps.
"""

from __future__ import annotations

import re

import pytest

RIDERSHIP = "transport/bus_network/ridership"
REASON_OF_KIND = {
    "negative_count": "invalid_value",
    "orphan_stop": "orphan_reference",
    "duplicate_row": "duplicate_record",
}
LANDED_KEY = "concat(service_date, '|', line_id, '|', stop_id)"


@pytest.fixture(scope="module")
def warehouse(dirty_city):
    # line_stops too: its relationship tests to lines and stops run whenever those are built
    return dirty_city.build("quarantine_bus_ridership", "int_bus_ridership_gaps", "stg_bus_network__line_stops")


@pytest.fixture(scope="module")
def defects(dirty_city) -> dict[str, list[dict[str, str]]]:
    by_kind: dict[str, list[dict[str, str]]] = {}
    for defect in dirty_city.defects(RIDERSHIP):
        by_kind.setdefault(defect["defect_kind"], []).append(defect)
    return by_kind


def landed_key(defect: dict[str, str]) -> str:
    """The key as the row landed: an orphan stop carries the retired id the detail names."""
    if defect["defect_kind"] != "orphan_stop":
        return defect["record_key"]
    date, line, _ = defect["record_key"].split("|")
    retired = re.match(r"'([^']*)'", defect["detail"]).group(1)
    return f"{date}|{line}|{retired}"


@pytest.fixture(scope="module")
def quarantined(warehouse) -> list[tuple[str, str, str]]:
    """(landed key, reason, detail) of every quarantined ridership row."""
    return warehouse.query(f"select {LANDED_KEY}, rejection_reason, rejection_detail from quarantine_bus_ridership")


def test_nothing_rejected_at_landing(dirty_city):
    assert dirty_city.rejections(RIDERSHIP) == []


def test_every_defect_kind_is_known(defects):
    assert set(defects) == {*REASON_OF_KIND, "missing_file"}


@pytest.mark.parametrize(("kind", "reason"), REASON_OF_KIND.items())
def test_row_defects_are_quarantined_with_their_reason(defects, quarantined, kind, reason):
    reasons: dict[str, set[str]] = {}
    for key, found, _ in quarantined:
        reasons.setdefault(key, set()).add(found)
    planted = {landed_key(d) for d in defects[kind]}
    assert planted
    assert {key for key in planted if reasons.get(key) != {reason}} == set()


def test_orphan_detail_names_the_stop_and_its_table(defects, quarantined):
    details = {key: detail for key, _, detail in quarantined}
    for defect in defects["orphan_stop"]:
        stop = landed_key(defect).split("|")[2]
        assert f"stop_id {stop} is not in transport/bus_network/stops" in details[landed_key(defect)]


def test_a_row_sent_twice_keeps_one_passing_copy(warehouse, defects):
    keys = [d["record_key"] for d in defects["duplicate_row"]]
    rows = warehouse.query(
        f"""
        select {LANDED_KEY} as landed_key, count(*) filter (where rejection_reason is null), count(*)
        from int_bus_ridership_validated
        where {LANDED_KEY} in (select unnest(?))
        group by landed_key
        """,
        [keys],
    )
    assert sorted(rows) == sorted((key, 1, 2) for key in keys)


def test_missing_file_is_reported_as_a_gap(warehouse, defects):
    gaps = warehouse.query("select expected_file from int_bus_ridership_gaps")
    assert sorted(file for (file,) in gaps) == sorted(d["record_key"] for d in defects["missing_file"])
    landed = warehouse.query(
        "select count(*) from stg_bus_network__ridership where _source_file in (select unnest(?))",
        [[d["record_key"] for d in defects["missing_file"]]],
    )
    assert landed == [(0,)]


def test_nothing_clean_is_quarantined(defects, quarantined):
    planted = {(landed_key(d), REASON_OF_KIND[kind]) for kind in REASON_OF_KIND for d in defects[kind]}
    assert sorted({(key, reason) for key, reason, _ in quarantined} - planted) == []
    assert len(quarantined) == len(planted)


def test_passing_ridership_equals_the_true_records(dirty_city, warehouse, defects):
    """Every delivered true row of the first run passes exactly once with its true counts, unless dirt hit it."""
    truth = dirty_city.city / "ground_truth" / "bus_ridership.parquet"
    hit = [d["record_key"] for kind in ("negative_count", "orphan_stop") for d in defects[kind]]
    (expected, passing, differing) = warehouse.query(
        """
        with truth as (
            select * from read_parquet(?)
            where delivered and concat("date", '|', line_id, '|', stop_id) not in (select unnest(?))
        ),
        passing as (
            select * from int_bus_ridership_validated where rejection_reason is null
        )
        select
            (select count(*) from truth),
            count(passing.line_id),
            count(*) filter (where passing.boardings != truth.boardings or passing.alightings != truth.alightings)
        from truth
        left join passing
            on cast(passing.service_date as varchar) = truth."date"
            and passing.line_id = truth.line_id
            and passing.stop_id = truth.stop_id
        """,
        [str(truth), hit],
    )[0]
    assert (passing, differing) == (expected, 0)
