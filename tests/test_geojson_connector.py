"""The GeoJSON connector: geometry lands as WKB that reads back as the same geometry, properties as
text columns, invalid geometry flagged (not dropped), broken features refused with their index, and
an unchanged file is not landed again."""

from __future__ import annotations

import importlib.util
import json
import tempfile
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

import connectors.geojson as geojson
from citybase.pipeline import table_chain
from connectors.geojson import GeoJsonSource
from connectors.landing import LandingZone, new_run_id
from connectors.registry import TableSpec

SOURCE = "natural_resources/land_planning"
TABLE = TableSpec("parcels", ("feature_index",), None, {}, {"file": "parcels.geojson"})


def feature(shape, /, **properties) -> dict:
    mapped = json.loads(shapely.to_geojson(shape)) if isinstance(shape, shapely.Geometry) else shape
    return {"type": "Feature", "properties": properties, "geometry": mapped}


def write(directory: Path, features: list, layout: str = "lines", name: str = "parcels.geojson") -> Path:
    """A FeatureCollection: one feature per line (our exports), one line, or pretty-printed."""
    path = directory / name
    items = [f if isinstance(f, str) else json.dumps(f, ensure_ascii=False) for f in features]
    if layout == "lines":
        text = '{"type":"FeatureCollection","features":[\n' + ",\n".join(items) + "\n]}\n"
    elif layout == "compact":
        text = '{"type":"FeatureCollection","features":[' + ",".join(items) + "]}"
    else:
        document = {"type": "FeatureCollection", "name": "x", "features": [json.loads(i) for i in items]}
        text = json.dumps(document, ensure_ascii=False, indent=2)
    path.write_text(text, encoding="utf-8")
    return path


def extract(directory: Path, state: dict | None = None, table: TableSpec = TABLE):
    source = GeoJsonSource(SOURCE, directory)
    try:
        extraction = source.extract(table, state or {})
        landed = pa.Table.from_batches(list(extraction.batches), extraction.schema)
    finally:
        source.close()
    return landed, extraction


coordinate = st.floats(-180, 180, allow_nan=False, allow_infinity=False)
points = st.builds(shapely.Point, coordinate, coordinate)
polygons = st.lists(st.tuples(coordinate, coordinate), min_size=3, max_size=12, unique=True).map(
    lambda xy: shapely.MultiPoint(xy).convex_hull
)
geometries = st.one_of(points, polygons, st.lists(points, min_size=1, max_size=4).map(shapely.MultiPoint))


@settings(max_examples=60, deadline=None)
@given(st.lists(geometries, min_size=1, max_size=5), st.sampled_from(["lines", "compact", "pretty"]))
def test_wkb_reads_back_as_the_same_geometry(shapes, layout):
    with tempfile.TemporaryDirectory() as directory:
        write(Path(directory), [feature(shape, n=i) for i, shape in enumerate(shapes)], layout)
        landed, extraction = extract(Path(directory))
    assert not extraction.rejections
    assert landed.column("feature_index").to_pylist() == list(range(len(shapes)))
    for shape, wkb, kind in zip(
        shapes, landed.column("geometry").to_pylist(), landed.column("geometry_type").to_pylist(), strict=True
    ):
        assert shapely.from_wkb(wkb).equals_exact(shape, tolerance=0)
        assert kind == shape.geom_type


def test_properties_land_as_text_columns(tmp_path):
    write(
        tmp_path,
        [
            {**feature(shapely.Point(113.6, 34.7), parcel_number="A1", area_m2=None), "id": 7},
            '{"type":"Feature","properties":{"parcel_number":"A2","area_m2":419.00,"floors":12,'
            '"public":true,"tags":["住宅",1.50],"名称":"郑州"},"geometry":{"type":"Point","coordinates":[1,2]}}',
            feature(shapely.Point(0, 0), parcel_number="A3", geometry="a property named like a column"),
            {"type": "Feature", "properties": None, "geometry": None},
        ],
    )
    landed, extraction = extract(tmp_path)
    assert not extraction.rejections
    rows = landed.to_pylist()
    assert landed.schema.names == [
        "feature_index", "feature_id", "parcel_number", "area_m2", "floors", "public", "tags", "名称",
        "property__geometry", "geometry", "geometry_type", "geometry_valid",
    ]  # fmt: skip
    assert all(landed.schema.field(name).type == pa.string() for name in landed.schema.names[1:9])
    assert rows[0]["feature_id"] == "7"
    assert rows[0]["area_m2"] is None
    assert rows[0]["floors"] is None  # a key the feature does not have
    assert (rows[1]["area_m2"], rows[1]["floors"], rows[1]["public"]) == ("419.00", "12", "true")  # literal text
    assert json.loads(rows[1]["tags"]) == ["住宅", 1.5]
    assert rows[1]["名称"] == "郑州"
    assert rows[2]["property__geometry"] == "a property named like a column"
    assert rows[3]["geometry"] is None
    assert rows[3]["geometry_type"] is None
    assert rows[3]["geometry_valid"] is None


def test_invalid_geometry_is_flagged_not_dropped(tmp_path):
    bowtie = shapely.Polygon([(0, 0), (1, 0), (0, 1), (1, 1), (0, 0)])
    write(tmp_path, [feature(shapely.box(0, 0, 1, 1), k="ok"), feature(bowtie, k="bowtie")])
    landed, extraction = extract(tmp_path)
    assert not extraction.rejections
    assert landed.column("geometry_valid").to_pylist() == [True, False]
    assert shapely.from_wkb(landed.column("geometry")[1].as_py()).equals_exact(bowtie, tolerance=0)


def test_broken_features_are_rejected_with_their_index(tmp_path):
    good = feature(shapely.Point(1, 2), k="good")
    write(
        tmp_path,
        [
            good,
            '{"type":"Feature","properties":{"k":"cut"},"geometry":{"type":"Po',  # a line cut short
            good,
            {"type": "Point", "coordinates": [1, 2]},  # a bare geometry
            {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0]]]}},
            {"type": "Feature", "properties": ["x"], "geometry": None},
            {"type": "Feature", "properties": {}},
            good,
        ],
    )
    landed, extraction = extract(tmp_path)
    assert landed.column("feature_index").to_pylist() == [0, 2, 7]
    assert [(r.row, r.rule) for r in extraction.rejections] == [
        (1, "invalid_json"),
        (3, "not_a_feature"),
        (5, "bad_properties"),
        (6, "missing_geometry"),
        (4, "unreadable_geometry"),  # found when the batch's geometry is read
    ]
    assert all(
        r.file == "parcels.geojson" and r.source == SOURCE and r.table == "parcels" for r in extraction.rejections
    )


def test_a_syntax_error_in_a_one_line_file_refuses_the_rest(tmp_path):
    good = json.dumps(feature(shapely.Point(1, 2)))
    write(tmp_path, [good, '{"type":"Feature","properties":{"k":1,},"geometry":null}', good], layout="compact")
    landed, extraction = extract(tmp_path)
    assert landed.num_rows == 1
    assert [(r.row, r.rule) for r in extraction.rejections] == [(1, "invalid_json"), (None, "unreadable_file")]
    assert "rest of the file" in extraction.rejections[1].message


def test_features_cut_by_read_chunks_are_read_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(geojson, "READ_CHUNK", 7)
    shapes = [shapely.box(i, i, i + 1.123456789, i + 2) for i in range(30)]
    for layout in ("lines", "compact", "pretty"):
        write(tmp_path, [feature(shape, 名="宗地" * i) for i, shape in enumerate(shapes)], layout)
        landed, extraction = extract(tmp_path)
        assert not extraction.rejections
        assert [shapely.from_wkb(w) for w in landed.column("geometry").to_pylist()] == shapes
        assert extraction.state["sha256"] == geojson.file_sha256(tmp_path / "parcels.geojson")


def test_an_unchanged_file_is_not_landed_again(tmp_path):
    directory, zone = tmp_path / "system", LandingZone(tmp_path / "landing")
    directory.mkdir()
    write(directory, [feature(shapely.Point(i, i), n=i) for i in range(5)])

    def land() -> int:
        source = GeoJsonSource(SOURCE, directory)
        run_id = new_run_id()
        landing = zone.land_table(
            SOURCE, "parcels", run_id, source.extract(TABLE, zone.latest_state(SOURCE, "parcels"))
        )
        zone.complete_run(SOURCE, run_id, run_id, [landing])
        source.close()
        return landing.rows

    assert land() == 5
    assert land() == 0  # same bytes: nothing landed
    assert land() == 0
    snapshot = zone.runs(SOURCE)[0].run_id
    assert table_chain(zone.runs(SOURCE), "parcels") == [snapshot]  # the runs that found it unchanged are skipped
    write(directory, [feature(shapely.Point(i, i), n=i) for i in range(6)])
    assert land() == 6  # changed: a full snapshot again
    assert table_chain(zone.runs(SOURCE), "parcels") == [zone.runs(SOURCE)[-1].run_id]


def _landed_parquet(tmp_path: Path, shapes: list) -> Path:
    directory = tmp_path / "system"
    directory.mkdir()
    write(directory, [feature(shape) for shape in shapes])
    source = GeoJsonSource(SOURCE, directory)
    landing = LandingZone(tmp_path / "landing").land_table(SOURCE, "parcels", new_run_id(), source.extract(TABLE, {}))
    source.close()
    return Path(landing.path) / "batch-00001.parquet"


SHAPES = [shapely.box(113.6, 34.7, 113.61, 34.71), shapely.Point(113.65, 34.75)]


def test_duckdb_reads_the_landed_wkb(tmp_path):
    parquet = _landed_parquet(tmp_path, SHAPES)
    rows = duckdb.sql(
        f"SELECT geometry, geometry_type FROM read_parquet('{parquet}') ORDER BY feature_index"
    ).fetchall()
    assert [shapely.from_wkb(bytes(wkb)) for wkb, _ in rows] == SHAPES
    assert [kind for _, kind in rows] == ["Polygon", "Point"]


@pytest.mark.skipif(
    importlib.util.find_spec("duckdb_extension_spatial") is None,
    reason="duckdb-extension-spatial is not installed and extensions are never downloaded: no ST_GeomFromWKB",
)
def test_duckdb_spatial_parses_the_landed_wkb(tmp_path):
    from citybase.duckdb_extensions import load_extension

    parquet = _landed_parquet(tmp_path, SHAPES)
    connection = duckdb.connect()
    load_extension(connection, "spatial")
    texts = connection.sql(
        f"SELECT ST_AsText(ST_GeomFromWKB(geometry)) FROM read_parquet('{parquet}') ORDER BY feature_index"
    ).fetchall()
    assert [shapely.from_wkt(text) for (text,) in texts] == SHAPES


def test_nested_values_keep_numbers_and_strings_apart(tmp_path):
    write(
        tmp_path,
        [
            '{"type":"Feature","id":{"n":1.50},"properties":{"tags":["12",12,1.50,true,null],"m":{"a":"x"},"n":1.50},'
            '"geometry":null}',
            '{"type":"Feature","id":"12","properties":{"tags":"[12]","n":"1.50"},"geometry":null}',
        ],
    )
    landed, extraction = extract(tmp_path)
    assert not extraction.rejections
    rows = landed.to_pylist()
    assert (rows[0]["feature_id"], rows[0]["tags"], rows[0]["m"], rows[0]["n"]) == (
        '{"n":1.5}', '["12",12,1.5,true,null]', '{"a":"x"}', "1.50",
    )  # fmt: skip
    assert (rows[1]["feature_id"], rows[1]["tags"], rows[1]["n"]) == ("12", "[12]", "1.50")
