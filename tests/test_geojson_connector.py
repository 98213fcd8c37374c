"""The GeoJSON connector: geometry lands as WKB that reads back as the same geometry, properties as
text columns, invalid geometry flagged (not dropped), broken features refused with their index, and
an unchanged file is not landed again."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path
from unittest import mock

import duckdb
import numpy as np
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
    assert [(r.row, r.rule) for r in extraction.rejections] == [  # in file order, though found at different times
        (1, "invalid_json"),
        (3, "not_a_feature"),
        (4, "unreadable_geometry"),  # found when the batch's geometry is read
        (5, "bad_properties"),
        (6, "missing_geometry"),
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


# The fast reader (lines "{...},", decoded in bulk) and the general one (any layout) must land the same thing.


numbers = st.one_of(
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(["419.00", "1E5", "-0", "0.0", "-0.0", "1e-7", "-2.5E+3", "1e400"]),
)
json_strings = st.builds(json.dumps, st.text(max_size=8), ensure_ascii=st.booleans())
scalars = st.one_of(numbers, json_strings, st.sampled_from(["true", "false", "null"]))
nested = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=4)),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3),
    max_leaves=6,
).map(lambda value: json.dumps(value, ensure_ascii=False))
values = st.one_of(scalars, scalars, nested)
keys = st.sampled_from(["a", "b", "名称", "geometry", "feature_index", "k,\n", 'q"'])
properties = st.one_of(
    st.lists(st.tuples(keys, values), max_size=5).map(
        lambda pairs: "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in pairs) + "}"
    ),
    st.sampled_from(["null", "{}"]),
)
coordinate = st.one_of(
    st.integers(-180, 180).map(str),
    st.floats(-180, 180, allow_nan=False).map(repr),
    st.sampled_from(["-0", "1E1", "0.5e-3"]),
)
position = st.tuples(coordinate, coordinate).map(lambda xy: f"[{xy[0]},{xy[1]}]")


def _array(items) -> str:
    return "[" + ",".join(items) + "]"


line = st.lists(position, min_size=2, max_size=5).map(_array)
ring = st.lists(position, min_size=3, max_size=6).map(lambda ps: _array([*ps, ps[0]]))
polygon = st.lists(ring, min_size=1, max_size=2).map(_array)
coordinates_of = {
    "Point": position,
    "LineString": line,
    "MultiPoint": st.lists(position, min_size=1, max_size=3).map(_array),
    "Polygon": polygon,
    "MultiLineString": st.lists(line, min_size=1, max_size=2).map(_array),
    "MultiPolygon": st.lists(polygon, min_size=1, max_size=2).map(_array),
}
odd_coordinates = st.sampled_from(
    ["[]", "[[]]", '"x"', "[1,2,3]", "[[1,2,3],[4,5,6]]", "[[1,2]]", "[[[0,0],[1,0],[0,1]]]", "[[0,0],[1,1],[1e400,0]]"]
)
geometries = st.one_of(
    st.sampled_from(list(coordinates_of))
    .flatmap(lambda kind: st.tuples(st.just(kind), coordinates_of[kind] | odd_coordinates))
    .map(lambda kc: f'{{"type":"{kc[0]}","coordinates":{kc[1]}}}'),
    st.just("null"),
    st.just('{"type":"GeometryCollection","geometries":[{"type":"Point","coordinates":[1,2]}]}'),
    st.just('{"type":"Circle","coordinates":[1,2]}'),
)
features = st.builds(
    lambda props, geometry, id_, spaced: (
        '{"type":"Feature"'
        + (f',"id":{id_}' if id_ is not None else "")
        + f',"properties":{props}'
        + (f', "geometry": {geometry.replace(",", ", ")}' if spaced else f',"geometry":{geometry}')
        + "}"
    ),
    properties,
    geometries,
    st.none() | scalars | nested,
    st.booleans(),
)
not_features = st.sampled_from(
    [
        '{"type":"Point","coordinates":[1,2]}',
        '{"type":"Feature","properties":{}}',
        '{"type":"Feature","properties":[1],"geometry":null}',
        '{"type":"Feature","properties":{"n":NaN},"geometry":null}',  # not JSON, but the general reader's
        "[1,2]",
    ]
)
broken_lines = st.sampled_from(
    [
        '{"type":"Feature","properties":{"k":"cut"},"geometry":{"type":"Po',
        '{"type":"Feature","properties":{"k":1,},"geometry":null}',
        '{"type":"Feature","properties":{},"geometry":null}}',
        '  {"type":"Feature","properties":{},"geometry":null}',
        '{"type":"Feature","properties":{},"geometry":null} {"type":"Feature","properties":{},"geometry":null}',
        "",
    ]
)


def _landed(directory: Path, batch_size: int, general_only: bool = False, workers: int | None = None):
    """The table and (row, rule, message) of the rejections; ``general_only``: without the fast reader;
    ``workers``: segments of any size (each forked worker's part is then a few lines)."""

    def decline(self, offset, index):  # a fast reader that takes no line
        return offset, index
        yield

    source = GeoJsonSource(SOURCE, directory, batch_size=batch_size, workers=workers)
    with (
        mock.patch.object(geojson._FeatureStream, "_fast_lines", decline) if general_only else nullcontext(),
        mock.patch.object(geojson, "MIN_SEGMENT_BYTES", 1) if workers else nullcontext(),
    ):
        try:
            extraction = source.extract(TABLE, {})
            landed = pa.Table.from_batches(list(extraction.batches), extraction.schema)
        finally:
            source.close()
    return landed, [(r.row, r.rule, r.message) for r in extraction.rejections], extraction.state


def _write_text(directory: Path, text: str) -> None:
    (directory / "parcels.geojson").write_text(text, encoding="utf-8")


GEOS_OVERFLOW = pytest.mark.filterwarnings("ignore:overflow encountered in from_geojson:RuntimeWarning")  # 1e400


@GEOS_OVERFLOW
@settings(max_examples=150, deadline=None)
@given(st.lists(features | not_features, max_size=12), st.integers(1, 5))
def test_every_layout_lands_the_same(items, batch_size):
    """One feature per line (the fast reader) lands what one line or indented lines (the general reader) land."""
    layouts = {
        "lines": '{"type":"FeatureCollection","features":[\n' + ",\n".join(items) + "\n]}\n",
        "compact": '{"type":"FeatureCollection","features":[' + ",".join(items) + "]}",
        "indented": '{\n  "type": "FeatureCollection",\n  "features": [\n    ' + ",\n    ".join(items) + "\n  ]\n}\n",
    }
    landed = {}
    with tempfile.TemporaryDirectory() as directory:
        for layout, text in layouts.items():
            _write_text(Path(directory), text)
            table, rejections, state = _landed(Path(directory), batch_size)
            landed[layout] = (table, [(row, rule) for row, rule, _ in rejections], state["columns"])
    assert landed["lines"][0].schema == landed["compact"][0].schema == landed["indented"][0].schema
    assert landed["lines"][0].to_pylist() == landed["compact"][0].to_pylist() == landed["indented"][0].to_pylist()
    assert landed["lines"][1:] == landed["compact"][1:] == landed["indented"][1:]


@GEOS_OVERFLOW
@settings(max_examples=150, deadline=None)
@given(
    st.lists(features | not_features | broken_lines, max_size=12),
    st.integers(1, 5),
    st.sampled_from([",\n", "\n", ",\r\n", ",\n\n"]),
)
def test_the_fast_reader_decides_as_the_general_one(items, batch_size, separator):
    """Whatever the lines hold, reading them fast lands what the general reader alone lands, rejections included."""
    text = '{"type":"FeatureCollection","features":[\n' + separator.join(items) + "\n]}\n"
    with tempfile.TemporaryDirectory() as directory:
        _write_text(Path(directory), text)
        fast = _landed(Path(directory), batch_size)
        general = _landed(Path(directory), batch_size, general_only=True)
    assert fast[0].schema == general[0].schema
    assert fast[0].to_pylist() == general[0].to_pylist()
    assert fast[1:] == general[1:]


def test_coordinates_read_as_geos_reads_them(tmp_path):
    """Numbers in any JSON form land as the doubles GEOS's own reader makes of them (the integer -0 is 0)."""
    texts = ["-0", "-0.0", "1E5", "0.1", "12345678901234567890123", "4.9e-324", "-1.7976931348623157e308"]
    write(
        tmp_path,
        [
            f'{{"type":"Feature","properties":{{}},"geometry":{{"type":"Point","coordinates":[{t},{t}]}}}}'
            for t in texts
        ],
    )
    landed, extraction = extract(tmp_path)
    assert not extraction.rejections
    expected = [
        shapely.to_wkb(shapely.from_geojson(f'{{"type":"Point","coordinates":[{t},{t}]}}'), flavor="iso") for t in texts
    ]
    assert landed.column("geometry").to_pylist() == expected


def test_keys_first_seen_late_and_many_keys(tmp_path):
    """Keys the fast reader meets late, or more than its struct holds, still land, in order of first appearance."""
    many = {f"k{i}": i for i in range(geojson.MAX_FAST_KEYS + 5)}
    items = [
        feature(shapely.Point(0, 0), a=1),
        feature(shapely.Point(1, 1), b="x", a=2),
        feature(shapely.Point(2, 2), **many),
    ]
    write(tmp_path, items)
    landed, extraction = extract(tmp_path)
    assert not extraction.rejections
    assert landed.schema.names[2:5] == ["a", "b", "k0"]
    assert landed.column("b").to_pylist() == [None, "x", None]
    assert landed.column(f"k{geojson.MAX_FAST_KEYS + 4}").to_pylist() == [None, None, str(geojson.MAX_FAST_KEYS + 4)]


def test_bytes_that_are_not_utf8_refuse_the_rest_of_the_file(tmp_path):
    good = json.dumps(feature(shapely.Point(1, 2), k="宗地"), ensure_ascii=False).encode()
    bad = good.replace("宗".encode(), b"\xff\xfe")
    for layout in (b",\n", b","):
        (tmp_path / "parcels.geojson").write_bytes(
            b'{"type":"FeatureCollection","features":[\n' + layout.join([good, good, bad, good]) + b"\n]}\n"
        )
        landed, extraction = extract(tmp_path)
        assert landed.column("feature_index").to_pylist() == [0, 1]
        assert [(r.row, r.rule) for r in extraction.rejections] == [(None, "unreadable_file")]
        assert "not UTF-8" in extraction.rejections[0].message


grid = st.integers(0, 4).map(float)  # a small grid: collinear, repeated and touching vertices are frequent
rings = st.integers(3, geojson.SIMPLE_RING_MAX).flatmap(
    lambda size: st.lists(st.tuples(grid, grid) | st.tuples(coordinate, coordinate), min_size=size, max_size=size)
)


@settings(max_examples=400, deadline=None)
@given(st.lists(rings, min_size=1, max_size=20))
def test_a_simple_ring_is_judged_as_geos_judges_it(vertex_lists):
    """Where the bulk judgement of a one-ring polygon decides, it says what GEOS says."""
    for size in {len(vertices) for vertices in vertex_lists}:
        same_size = [[tuple(map(float, v)) for v in vertices] for vertices in vertex_lists if len(vertices) == size]
        valid, decided = geojson._simple_ring_validity(np.array(same_size, dtype=float))
        geos = shapely.is_valid(shapely.polygons([[*vertices, vertices[0]] for vertices in same_size]))
        assert (valid == geos)[decided].all()


@GEOS_OVERFLOW
def test_geometry_only_geos_can_judge_lands_as_geos_reads_it(tmp_path):
    """An unclosed ring, a number beyond a double, a third dimension, an empty part, a ring with a spike: the fast
    reader leaves them to GEOS, which lands or refuses them as the general reader does."""
    geometries = [
        '{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]}',
        '{"type":"LineString","coordinates":[[0,0],[1e400,1]]}',
        '{"type":"Point","coordinates":[1,2,3]}',
        '{"type":"MultiPolygon","coordinates":[[]]}',
        '{"type":"Polygon","coordinates":[[[0,0],[2,0],[1,0],[1,1],[0,0]]]}',
        '{"type":"Polygon","coordinates":[[[0,0],[4,0],[4,4],[0,4],[0,0]],[[1,1],[2,1],[2,2],[1,1]]]}',
    ]
    write(tmp_path, [f'{{"type":"Feature","properties":{{}},"geometry":{g}}}' for g in geometries])
    fast = _landed(tmp_path, 10)
    general = _landed(tmp_path, 10, general_only=True)
    assert fast[0].to_pylist() == general[0].to_pylist()
    assert [(row, rule) for row, rule, _ in fast[1]] == [(0, "unreadable_geometry"), (1, "unreadable_geometry")]
    assert fast[1] == general[1]
    assert fast[0].column("geometry_valid").to_pylist() == [True, True, False, True]


def test_our_exports_take_the_fast_reader(tmp_path):
    """One feature per line, as the planning system exports them: no feature goes to the general reader."""
    write(tmp_path, [feature(shapely.box(i, i, i + 1, i + 1), n=i, 名称="宗地") for i in range(5)])
    with mock.patch.object(geojson, "_general_table", side_effect=AssertionError("the general reader was used")):
        landed, extraction = extract(tmp_path)
    assert landed.num_rows == 5
    assert not extraction.rejections


# Segments: a large file is read by several processes at once, each from a line start of its part of the file on.


multiline_features = features.map(lambda text: json.dumps(json.loads(text), indent=1))
HEADS = ['{"type":"FeatureCollection","features":[\n', '{\n  "type": "FeatureCollection",\n  "features": [\n']
pretty_features = features.map(lambda text: textwrap.indent(json.dumps(json.loads(text), indent=2), "    "))


@GEOS_OVERFLOW
@settings(max_examples=150, deadline=None)
@given(
    st.lists(features | features | not_features | broken_lines | multiline_features | pretty_features, max_size=16),
    st.integers(1, 5),
    st.integers(2, 6),
    st.sampled_from([",\n", "\n", ",\n\n", ",\n    "]),
    st.sampled_from(["\n]}\n", "\n", ""]),
    st.sampled_from(HEADS),
)
def test_segments_land_what_one_reader_lands(items, batch_size, workers, separator, ending, head):
    """Whatever the lines hold (features over several or indented lines, broken lines, a file cut short), reading
    the file in segments lands what reading it from start to end lands: rows, indexes, rejections and state."""
    text = head + separator.join(items) + ending
    with tempfile.TemporaryDirectory() as directory:
        _write_text(Path(directory), text)
        segmented = _landed(Path(directory), batch_size, workers=workers)
        whole = _landed(Path(directory), batch_size, workers=1)
    assert segmented[0].schema == whole[0].schema
    assert segmented[0].to_pylist() == whole[0].to_pylist()
    assert segmented[1:] == whole[1:]


@contextmanager
def _workers_results():
    """The segments the workers hand back (None: a worker that failed), in the order they are asked for."""
    used, segment = [], geojson._SegmentWorker.segment

    def recorded(worker):
        used.append(result := segment(worker))
        return result

    with mock.patch.object(geojson._SegmentWorker, "segment", recorded):
        yield used


def _lines_file(directory: Path, count: int, **extra) -> str:
    """A file of one feature per line whose second half brings a property key the first half lacks."""
    items = [feature(shapely.Point(i, i), n=i, **(extra if i >= count // 2 else {})) for i in range(count)]
    write(directory, items)
    return (directory / "parcels.geojson").read_text()


def test_workers_read_the_segments_of_a_large_file(tmp_path):
    """Each segment after the first is read by a forked worker, and the keys it found land as columns."""
    _lines_file(tmp_path, 400, 名称="宗地")
    with _workers_results() as used:
        landed, rejections, state = _landed(tmp_path, 50, workers=4)
    assert len(used) == 3
    assert all(result is not None for result in used)
    assert landed.column("feature_index").to_pylist() == list(range(400))
    assert landed.column("n").to_pylist() == [str(i) for i in range(400)]
    assert landed.column("名称").to_pylist() == [None] * 200 + ["宗地"] * 200
    assert not rejections
    assert state["features"] == 400
    assert state["sha256"] == geojson.file_sha256(tmp_path / "parcels.geojson")


def test_a_failed_worker_s_segment_is_read_by_the_parent(tmp_path, caplog):
    """A worker that fails (here: every forked one) costs only time: its segment is read by the parent."""
    _lines_file(tmp_path, 300)
    parent, read_segment = os.getpid(), GeoJsonSource._read_segment

    def failing_in_workers(self, *args, **kwargs):
        if os.getpid() != parent:
            raise MemoryError("the worker ran out of memory")
        return read_segment(self, *args, **kwargs)

    with mock.patch.object(GeoJsonSource, "_read_segment", failing_in_workers):
        landed, rejections, _ = _landed(tmp_path, 50, workers=3)
    assert landed.column("feature_index").to_pylist() == list(range(300))
    assert not rejections
    assert caplog.text.count("MemoryError: the worker ran out of memory") == 2


def test_a_file_of_one_line_is_one_segment(tmp_path):
    """A segment starts at a line start, and a file of one line has no other: it is read by one reader."""
    write(tmp_path, [feature(shapely.Point(i, i), n=i) for i in range(50)], layout="compact")
    with mock.patch.object(geojson, "MIN_SEGMENT_BYTES", 1):
        assert geojson._segment_starts(tmp_path / "parcels.geojson", 4) == [(0, True)]


def test_a_pretty_printed_file_is_read_in_segments_too(tmp_path):
    """Features over several indented lines: segments start at a feature's first line, not taken as one feature
    per line, and land what one reader lands."""
    write(tmp_path, [feature(shapely.Point(i, i), n=i) for i in range(200)], layout="pretty")
    with mock.patch.object(geojson, "MIN_SEGMENT_BYTES", 1):
        starts = geojson._segment_starts(tmp_path / "parcels.geojson", 4)
    text = (tmp_path / "parcels.geojson").read_bytes()
    assert len(starts) == 4
    assert all(text[offset:].lstrip(b" ").startswith(b"{") and not by_line for offset, by_line in starts[1:])
    with _workers_results() as used:
        segmented = _landed(tmp_path, 50, workers=4)
    assert len(used) == 3
    assert all(result is not None and result.stopped == (n < 2) for n, result in enumerate(used))
    assert segmented[0].to_pylist() == _landed(tmp_path, 50, workers=1)[0].to_pylist()
    assert segmented[0].column("feature_index").to_pylist() == list(range(200))


_ORPHAN_PARENT = """
import os, sys, time
from pathlib import Path
from unittest import mock
import connectors.geojson as geojson
from connectors.registry import TableSpec

directory, pid_file = Path(sys.argv[1]), Path(sys.argv[2])
parent, read_segment = os.getpid(), geojson.GeoJsonSource._read_segment

def slow_in_workers(self, *args, **kwargs):
    if os.getpid() != parent:
        pid_file.write_text(str(os.getpid()))
        time.sleep(60)
    return read_segment(self, *args, **kwargs)

with mock.patch.object(geojson, "MIN_SEGMENT_BYTES", 1), mock.patch.object(
    geojson.GeoJsonSource, "_read_segment", slow_in_workers
):
    geojson.GeoJsonSource("s", directory, workers=2).extract(
        TableSpec("parcels", ("feature_index",), None, {}, {"file": "parcels.geojson"}), {}
    )
"""


def test_a_worker_dies_with_its_parent(tmp_path):
    """A task killed by its scheduler (SIGKILL: no clean-up runs) leaves no worker behind."""
    _lines_file(tmp_path, 200)
    pid_file = tmp_path / "worker.pid"
    command = [sys.executable, "-c", _ORPHAN_PARENT, str(tmp_path), str(pid_file)]
    parent = subprocess.Popen(command, cwd=Path(__file__).parents[1])
    try:
        deadline = time.monotonic() + 60
        while not pid_file.exists() or not pid_file.read_text():
            assert parent.poll() is None, "the parent ended before its worker started"
            assert time.monotonic() < deadline, "the worker never started"
            time.sleep(0.05)
        worker = int(pid_file.read_text())
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 10
        while Path(f"/proc/{worker}").exists() and "Z" not in _state(worker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not Path(f"/proc/{worker}").exists() or "Z" in _state(worker), "the worker outlived its parent"
    finally:
        parent.kill()
        parent.wait()


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"
