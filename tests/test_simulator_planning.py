"""The planning bureau's layers and the property register: divisions that tile the city, parcels and
buildings where they belong, owners who are real adults, and every planted defect where the ground
truth says it is (and no others). One small city per module."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import itertools
import json
import re
import sqlite3
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely

from citybase.codes import ZHENGZHOU_DIVISIONS, id_number_problem
from citybase.simulator.housing import DEFECTS_FILE as HOUSING_DEFECTS
from citybase.simulator.housing import TRUTH_FILE, write_property_registry
from citybase.simulator.planning import DEFECTS_FILE as PLANNING_DEFECTS
from citybase.simulator.planning import write_land_planning
from citybase.simulator.population import RESIDENTS, simulate_population
from connectors.geojson import GeoJsonSource
from connectors.registry import TableSpec

SCALE = 0.002
SEED = 7
AS_OF = dt.date(2025, 12, 31)
DEFECT_RATE = 0.05
CODES = {division.code for division in ZHENGZHOU_DIVISIONS}
CERTIFICATE = re.compile(r"豫\((\d{4})\)(郑州市|中牟县|巩义市|荥阳市|新密市|新郑市|登封市)不动产权第\d{7}号")


def _generate(out_dir: Path, people, households):
    arguments = {"seed": SEED, "scale": SCALE, "as_of": AS_OF, "defect_rate": DEFECT_RATE}
    output, cadastre = write_land_planning(out_dir, people, households, truth_dir=out_dir / "truth", **arguments)
    housing = write_property_registry(out_dir, people, households, cadastre, truth_dir=out_dir / "truth", **arguments)
    return output, cadastre, housing


@pytest.fixture(scope="module")
def population():
    return simulate_population(round(RESIDENTS * SCALE), AS_OF, SEED)


@pytest.fixture(scope="module")
def city(tmp_path_factory, population):
    out_dir = tmp_path_factory.mktemp("planning")
    output, cadastre, housing = _generate(out_dir, *population)
    return out_dir, output, cadastre, housing


def _layer_dir(out_dir: Path) -> Path:
    return out_dir / "natural_resources" / "land_planning"


def _features(path: Path) -> list[dict]:
    """Our writer puts one feature per line; the standard parse must agree with that."""
    lines = path.read_text("utf-8").splitlines()
    features = [json.loads(line.rstrip(",")) for line in lines[1:-1]]
    assert features == json.loads(path.read_text("utf-8"))["features"]
    return features


def _defects(path: Path) -> dict[str, list[dict]]:
    by_kind = defaultdict(list)
    with path.open(encoding="utf-8") as file:
        for record in csv.DictReader(file):
            by_kind[record["defect_kind"]].append(record)
    return by_kind


def _feature_index(record: dict) -> int:
    return int(re.match(r"feature (\d+)", record["detail"]).group(1))


@pytest.fixture(scope="module")
def layers(city):
    out_dir = city[0]
    divisions = {f["properties"]["division_code"]: shapely.geometry.shape(f["geometry"]) for f in _features(
        _layer_dir(out_dir) / "divisions.geojson"
    )}  # fmt: skip
    parcels = _features(_layer_dir(out_dir) / "parcels.geojson")
    buildings = _features(_layer_dir(out_dir) / "buildings.geojson")
    return divisions, parcels, buildings, _defects(out_dir / "truth" / PLANNING_DEFECTS)


def test_same_arguments_give_the_same_files(city, population, tmp_path):
    out_dir = city[0]
    _generate(tmp_path, *population)
    for relative in (
        "natural_resources/land_planning/divisions.geojson",
        "natural_resources/land_planning/parcels.geojson",
        "natural_resources/land_planning/buildings.geojson",
        f"truth/{PLANNING_DEFECTS}",
        f"truth/{HOUSING_DEFECTS}",
    ):
        assert (
            hashlib.sha256((out_dir / relative).read_bytes()).digest()
            == hashlib.sha256((tmp_path / relative).read_bytes()).digest()
        ), relative
    query = "SELECT * FROM property_registrations ORDER BY registration_id"
    with (
        sqlite3.connect(out_dir / "housing/property_registry.sqlite") as a,
        sqlite3.connect(tmp_path / "housing/property_registry.sqlite") as b,
    ):
        assert a.execute(query).fetchall() == b.execute(query).fetchall()


def test_divisions_tile_the_city_without_overlap(layers):
    divisions = layers[0]
    assert set(divisions) == CODES | {"410100"}
    counties = [divisions[code] for code in sorted(CODES)]
    assert all(shape.is_valid and shape.area > 0 for shape in counties)
    for a, b in itertools.combinations(counties, 2):
        assert a.intersection(b).area < 1e-10  # about 1 m²: shared edges only
    union = shapely.union_all(counties)
    assert union.is_valid
    assert union.geom_type == "Polygon"
    assert union.symmetric_difference(divisions["410100"]).area < 1e-10
    minx, miny, maxx, maxy = union.bounds
    assert minx >= 112.7
    assert maxx <= 114.25
    assert miny >= 34.2
    assert maxy <= 34.98


def test_parcels_lie_in_their_division_except_the_planted_mismatches(layers):
    divisions, parcels, _, defects = layers
    mismatched = {r["record_key"] for r in defects["division_mismatch"]}
    displaced = {r["record_key"] for kind in ("invalid_geometry", "swapped_coordinates") for r in defects[kind]}
    assert mismatched
    assert displaced
    checked = 0
    for feature in parcels:
        properties = feature["properties"]
        number, stated = properties["parcel_number"], properties.get("division_code")
        assert re.fullmatch(r"41\d{4}\d{6}(GB|JC)\d{5}", number)
        if number in displaced:
            continue
        geometry = shapely.geometry.shape(feature["geometry"])
        assert geometry.within(divisions[number[:6]]), number  # the number's prefix is where it truly lies
        if stated is not None:
            assert geometry.within(divisions[stated]) == (number not in mismatched), number
            checked += 1
    assert checked > 0.9 * len(parcels)


def test_buildings_lie_in_their_parcel(layers):
    _, parcels, buildings, defects = layers
    displaced = {r["record_key"] for kind in ("invalid_geometry", "swapped_coordinates") for r in defects[kind]}
    parcel_shapes = {f["properties"]["parcel_number"]: shapely.geometry.shape(f["geometry"]) for f in parcels}
    inside = 0
    for feature in buildings:
        properties = feature["properties"]
        building, parcel = properties["building_id"], properties["parcel_number"]
        assert building.startswith(parcel + "F")
        if building in displaced or parcel in displaced:
            continue
        assert shapely.geometry.shape(feature["geometry"]).within(parcel_shapes[parcel]), building
        inside += 1
    assert inside > 0.9 * len(buildings)


@pytest.mark.parametrize("layer", ["parcels", "buildings"])
def test_every_planted_geojson_defect_is_in_the_file_and_no_other(layers, layer):
    _, parcels, buildings, defects = layers
    features, key = (parcels, "parcel_number") if layer == "parcels" else (buildings, "building_id")
    records = {kind: [r for r in rows if r["table"] == layer] for kind, rows in defects.items()}
    kinds = ["invalid_geometry", "duplicate_feature", "missing_property", "swapped_coordinates"]
    assert all(records[kind] for kind in kinds + (["division_mismatch"] if layer == "parcels" else []))

    shapes = [shapely.geometry.shape(f["geometry"]) for f in features]
    invalid = {i for i, shape in enumerate(shapes) if not shape.is_valid}
    assert invalid == {_feature_index(r) for r in records["invalid_geometry"]}
    swapped = {i for i, shape in enumerate(shapes) if shape.bounds[0] < 90}  # longitude where latitude belongs
    assert swapped == {_feature_index(r) for r in records["swapped_coordinates"]}

    keys = Counter(f["properties"][key] for f in features)
    copies = {_feature_index(r): r for r in records["duplicate_feature"]}
    assert {k for k, n in keys.items() if n > 1} == {r["record_key"] for r in copies.values()}
    for index, record in copies.items():
        original = int(record["detail"].rsplit(" ", 1)[1])
        assert features[index] == features[original]
        assert index >= len(features) - len(copies)

    full = max(len(f["properties"]) for f in features)
    lacking = {i: f for i, f in enumerate(features) if len(f["properties"]) < full}
    assert set(lacking) == {_feature_index(r) for r in records["missing_property"]}
    for record in records["missing_property"]:
        assert record["column"] not in features[_feature_index(record)]["properties"]
    assert all(features[_feature_index(r)]["properties"][key] == r["record_key"] for r in records["missing_property"])


def test_connector_lands_every_parcel_and_flags_the_bowties(city, layers):
    source = GeoJsonSource("natural_resources/land_planning", _layer_dir(city[0]))
    extraction = source.extract(TableSpec("parcels", ("feature_index",), None, {}, {"file": "parcels.geojson"}), {})
    table = pa.Table.from_batches(list(extraction.batches), extraction.schema)
    source.close()
    assert table.num_rows == len(layers[1])
    assert not extraction.rejections
    flagged = np.flatnonzero(~np.array(table.column("geometry_valid").to_pylist()))
    assert set(flagged.tolist()) == {
        _feature_index(r) for r in layers[3]["invalid_geometry"] if r["table"] == "parcels"
    }


# --- the property register ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def register(city):
    out_dir = city[0]
    truth = pq.read_table(out_dir / "truth" / TRUTH_FILE).to_pylist()
    with sqlite3.connect(out_dir / "housing/property_registry.sqlite") as connection:
        connection.row_factory = sqlite3.Row
        rows = {row["registration_id"]: dict(row) for row in connection.execute("SELECT * FROM property_registrations")}
    return truth, rows, _defects(out_dir / "truth" / HOUSING_DEFECTS)


def test_owners_are_real_adult_residents(register, population, city):
    people, households = population
    truth = register[0]
    assert 0.85 * len(households) < len(truth) < 0.95 * len(households)
    owners = np.array([row["owner_person_id"] for row in truth]) - 1
    assert (people.id_numbers(owners) == np.array([row["owner_id_number"] for row in truth])).all()
    assert (people.names(owners) == np.array([row["owner_name"] for row in truth])).all()
    births = people.birth[owners].astype("datetime64[D]").astype(object)
    for row, birth in zip(truth, births, strict=True):
        registered = dt.date.fromisoformat(row["registered_on"])
        assert registered <= AS_OF
        adult_on = (
            birth.replace(year=birth.year + 18)
            if (birth.month, birth.day) != (2, 29)
            else dt.date(birth.year + 18, 3, 1)
        )
        assert adult_on <= registered, row
        assert id_number_problem(row["owner_id_number"]) is None
        match = CERTIFICATE.fullmatch(row["registration_no"])
        assert match
        assert int(match.group(1)) == registered.year
    assert len({row["registration_no"] for row in truth}) == len(truth)
    buildings = set(city[2].building_id.tolist())
    assert {row["building_id"] for row in truth} <= buildings
    assert len({(row["building_id"], row["unit"]) for row in truth}) == len(truth)


def test_every_planted_register_defect_is_in_the_database_and_no_other(register, city):
    truth, rows, defects = register
    buildings = set(city[2].building_id.tolist())
    true_by_id = {row["registration_id"]: row for row in truth}
    assert all(defects[kind] for kind in ("bad_check_digit", "missing_field", "duplicate_row", "orphan_building"))
    assert len(rows) == len(truth) + len(defects["duplicate_row"])

    bad_ids = {key for key, row in rows.items() if id_number_problem(row["owner_id_number"]) is not None}
    assert bad_ids == {int(r["record_key"]) for r in defects["bad_check_digit"]}
    for key in bad_ids:
        assert rows[key]["owner_id_number"][:17] == true_by_id[key]["owner_id_number"][:17]
    assert {k for k, row in rows.items() if row["owner_name"] is None} == {
        int(r["record_key"]) for r in defects["missing_field"]
    }
    assert {k for k, row in rows.items() if row["building_id"] not in buildings} == {
        int(r["record_key"]) for r in defects["orphan_building"]
    }
    for record in defects["duplicate_row"]:
        copy, original = rows[int(record["record_key"])], rows[int(record["detail"].rsplit(" ", 1)[1])]
        assert {**copy, "registration_id": 0} == {**original, "registration_id": 0}
    untouched = set(true_by_id) - {int(r["record_key"]) for rows_ in defects.values() for r in rows_}
    for key in untouched:
        stored, true = rows[key], true_by_id[key]
        assert {k: stored[k] for k in stored} == {k: true[k] for k in stored}
