"""The air quality system's planted dirt, each defect held to its disposition against the ground truth.

Ground-truth keys of readings are station code + '|' + 'YYYY-MM-DD HH:MM:SS' (the true time). Blank and
sentinel (-999) concentrations and the later copy of a row sent twice are quarantined; one station's
datalogger times are standardised, not quarantined; a station's missing hours have no row and are
reported by int_air_quality_reading_gaps.
"""

from __future__ import annotations

import re

import pytest

READINGS = "environment/air_quality/readings"
POLLUTANT_OF_HEADER = {
    "PM2.5浓度": "pm25",
    "PM10浓度": "pm10",
    "臭氧浓度": "o3",
    "二氧化氮浓度": "no2",
    "二氧化硫浓度": "so2",
    "一氧化碳浓度": "co",
}
REASON_OF_KIND = {
    "blank_value": "missing_required_field",
    "sentinel_value": "invalid_value",
    "duplicate_row": "duplicate_record",
}
TRUTH_KEY = "concat(station_code, '|', strftime(measured_at, '%Y-%m-%d %H:%M:%S'))"


@pytest.fixture(scope="module")
def warehouse(dirty_city):
    return dirty_city.build("quarantine_air_quality_readings", "int_air_quality_reading_gaps")


@pytest.fixture(scope="module")
def defects(dirty_city) -> dict[str, list[dict[str, str]]]:
    by_kind: dict[str, list[dict[str, str]]] = {}
    for defect in dirty_city.defects(READINGS):
        by_kind.setdefault(defect["defect_kind"], []).append(defect)
    return by_kind


@pytest.fixture(scope="module")
def quarantined(warehouse) -> list[tuple[str, str, str]]:
    """(ground-truth key, reason, detail) of every quarantined reading."""
    return warehouse.query(
        """
        select
            concat(v.station_code, '|', strftime(v.measured_at, '%Y-%m-%d %H:%M:%S')),
            q.rejection_reason,
            q.rejection_detail
        from quarantine_air_quality_readings as q
        join int_air_quality_readings_validated as v
            on q.source_file = v._source_file and q.source_row = v._source_row
        """
    )


def test_nothing_rejected_at_landing(dirty_city):
    assert dirty_city.rejections(READINGS) == []


def test_every_defect_kind_is_known(defects):
    assert set(defects) == {*REASON_OF_KIND, "missing_hour", "timestamp_format"}


@pytest.mark.parametrize(("kind", "reason"), REASON_OF_KIND.items())
def test_row_defects_are_quarantined_with_their_reason(defects, quarantined, kind, reason):
    reasons: dict[str, set[str]] = {}
    for key, found, _ in quarantined:
        reasons.setdefault(key, set()).add(found)
    planted = {d["record_key"] for d in defects[kind]}
    assert planted
    assert {key for key in planted if reasons.get(key) != {reason}} == set()


@pytest.mark.parametrize("kind", ["blank_value", "sentinel_value"])
def test_quarantine_detail_names_the_pollutant(defects, quarantined, kind):
    details = {key: detail for key, _, detail in quarantined}
    for defect in defects[kind]:
        assert POLLUTANT_OF_HEADER[defect["column"]] in details[defect["record_key"]]


def test_a_row_sent_twice_keeps_one_passing_copy(warehouse, defects):
    keys = [d["record_key"] for d in defects["duplicate_row"]]
    rows = warehouse.query(
        f"""
        select {TRUTH_KEY} as truth_key, count(*) filter (where rejection_reason is null), count(*)
        from int_air_quality_readings_validated
        where {TRUTH_KEY} in (select unnest(?))
        group by truth_key
        """,
        [keys],
    )
    assert sorted(rows) == sorted((key, 1, 2) for key in keys)


def test_other_timestamp_format_is_standardised_not_quarantined(warehouse, defects):
    planted = defects["timestamp_format"]
    landed_text = {d["record_key"]: re.match(r"'([^']*)'", d["detail"]).group(1) for d in planted}
    rows = warehouse.query(
        f"""
        select {TRUTH_KEY}, measured_at_text, rejection_reason
        from int_air_quality_readings_validated
        where {TRUTH_KEY} in (select unnest(?))
        """,
        [list(landed_text)],
    )
    assert sorted((key, text, None) for key, text in landed_text.items()) == sorted(rows)
    assert all(text != key.split("|")[1] for key, text in landed_text.items())


def test_missing_hours_are_reported_as_gaps(warehouse, defects):
    gaps = warehouse.query("select gap_key, expected_file from int_air_quality_reading_gaps")
    expected = {
        (d["record_key"], re.search(r"readings/aqi_\d{8}\.csv", d["detail"]).group()) for d in defects["missing_hour"]
    }
    assert set(gaps) == expected


def test_nothing_clean_is_quarantined(defects, quarantined):
    planted = {(d["record_key"], REASON_OF_KIND[kind]) for kind in REASON_OF_KIND for d in defects[kind]}
    assert sorted({(key, reason) for key, reason, _ in quarantined} - planted) == []
    assert len(quarantined) == len(planted)


def test_passing_readings_equal_the_true_records(dirty_city, warehouse, defects):
    """Every delivered true reading of the first run passes once with its true values, unless dirt hit it."""
    truth = dirty_city.city / "ground_truth" / "air_quality_readings.parquet"
    hit = [d["record_key"] for kind in ("blank_value", "sentinel_value") for d in defects[kind]]
    (expected, passing, differing) = warehouse.query(
        """
        with truth as (
            select * from read_parquet(?)
            where delivered and concat(station_code, '|', "timestamp") not in (select unnest(?))
        ),
        passing as (
            select * from int_air_quality_readings_validated where rejection_reason is null
        )
        select
            (select count(*) from truth),
            count(passing.station_code),
            count(*) filter (
                where passing.aqi != truth.aqi or passing.pm25 != truth."PM2.5" or passing.pm10 != truth.PM10
                    or passing.o3 != truth.O3 or passing.no2 != truth.NO2 or passing.so2 != truth.SO2
                    or abs(passing.co - truth.CO) > 1e-9
            )
        from truth
        left join passing
            on passing.station_code = truth.station_code
            and strftime(passing.measured_at, '%Y-%m-%d %H:%M:%S') = truth."timestamp"
        """,
        [str(truth), hit],
    )[0]
    assert (passing, differing) == (expected, 0)
