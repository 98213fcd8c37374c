"""Natural resources and planning (自然资源和规划局): divisions, land parcels (宗地) and buildings as GeoJSON.

The bureau's GIS exports its layers as GeoJSON files (WGS84, one feature per line), so the land
planning system is a folder of files, not a database. **Boundaries are synthetic**: real boundaries
are not available offline, so the twelve county-level divisions are a Voronoi partition of their
approximate real centres, clipped to a rough city outline (112.7-114.2 E, 34.2-34.98 N). The partition
is gap-free and non-overlapping by construction, which is all later stages rely on.

Parcels are rectangles on a per-division grid (so they never overlap), clustered towards each
division's centre; buildings are footprints on a grid of slots inside their parcel. Everything is
computed in a local metric projection (metres) and converted to degrees only when written. Text is
made a chunk of features at a time with vectorised string operations and streamed to the file.

Call order for ``simulate``: ``write_land_planning`` first; it returns the ``Cadastre`` (parcel
numbers, building ids and their attributes) that ``housing.write_property_registry`` needs.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import shapely
from numpy.dtypes import StringDType
from shapely.ops import voronoi_diagram

from citybase.codes import ZHENGZHOU_DIVISIONS
from citybase.codes.division import ZHENGZHOU_CITY_CODE
from citybase.simulator.formats import concat, digits
from citybase.simulator.output import SystemOutput
from citybase.simulator.population import DIVISION_SHARES, Households, Population
from citybase.simulator.sampling import allocate, runs, stream, weighted_top_k
from citybase.simulator.writer import DEFECT_COLUMNS

LAND_PLANNING = ("natural_resources", "land_planning")  # (department, system)
PARCELS = 300_000  # at scale 1.0
CHUNK_FEATURES = 100_000
DEFECTS_FILE = "defects_natural_resources__land_planning.csv"
LAND_PLANNING_DEFECT_KINDS = (
    "invalid_geometry",
    "division_mismatch",
    "duplicate_feature",
    "missing_property",
    "swapped_coordinates",
)

# A local equirectangular projection around the city: metres east/north of (LON0, LAT0).
LON0, LAT0 = 113.45, 34.62
METRES_PER_DEGREE_LON = 111_320.0 * math.cos(math.radians(LAT0))
METRES_PER_DEGREE_LAT = 110_574.0
COORDINATE_PLACES = 7  # about 1 cm

# Approximate real centres of the divisions (lon, lat), the Voronoi sites.
_CENTRES = {
    "410102": (113.61, 34.75),  # 中原区
    "410103": (113.64, 34.73),  # 二七区
    "410104": (113.68, 34.75),  # 管城回族区
    "410105": (113.66, 34.80),  # 金水区
    "410106": (113.30, 34.80),  # 上街区
    "410108": (113.62, 34.87),  # 惠济区
    "410122": (114.02, 34.72),  # 中牟县
    "410181": (113.02, 34.75),  # 巩义市
    "410182": (113.38, 34.79),  # 荥阳市
    "410183": (113.39, 34.54),  # 新密市
    "410184": (113.74, 34.40),  # 新郑市
    "410185": (113.05, 34.45),  # 登封市
}
# Further sites whose cells join a division: Xingyang wraps round Shangjie (an enclave in reality), and
# Jinshui reaches east over Zhengdong New Area.
_EXTRA_SITES = (("410182", (113.20, 34.88)), ("410182", (113.26, 34.69)), ("410105", (113.75, 34.78)))
# A rough outline of the city (lon, lat): the Yellow River to the north, the Song mountains to the south-west.
_CITY_OUTLINE = (
    (112.72, 34.68), (112.80, 34.80), (112.95, 34.86), (113.15, 34.88), (113.35, 34.93), (113.55, 34.975),
    (113.75, 34.97), (113.95, 34.93), (114.15, 34.88), (114.22, 34.75), (114.18, 34.60), (113.98, 34.52),
    (113.90, 34.38), (113.75, 34.26), (113.55, 34.30), (113.35, 34.30), (113.15, 34.27), (112.95, 34.32),
    (112.80, 34.42), (112.75, 34.55),
)  # fmt: skip
DIVISION_LEVELS = {"0": "市辖区", "2": "县", "8": "县级市"}  # by the code's fifth digit (GB/T 2260)
URBAN = np.array([division.code[4] == "0" for division in ZHENGZHOU_DIVISIONS])  # city districts
# Share of a division's area its parcels cover at scale 1.0 (built-up districts vs farmland counties).
_COVERED_SHARE = np.where(URBAN, 0.35, 0.08)
_TOWN_RADIUS = 4_000.0  # m: in counties, parcels farther from the centre are villages
ZONE_SIZE, SUBZONE_SIZE = 3_000.0, 500.0  # 地籍区 and 地籍子区 blocks, m

# GB/T 21010-2017 land use classes of the construction parcels the bureau registers.
LAND_USES = (
    ("0701", "城镇住宅用地"),
    ("0702", "农村宅基地"),
    ("05", "商服用地"),
    ("0601", "工业用地"),
    ("0604", "仓储用地"),
    ("08", "公共管理与公共服务用地"),
)
URBAN_HOUSING, RURAL_HOUSING, COMMERCIAL, INDUSTRIAL, STORAGE, PUBLIC = range(len(LAND_USES))
LAND_USE_CODES = np.array([code for code, _ in LAND_USES], dtype=StringDType())
LAND_USE_NAMES = np.array([name for _, name in LAND_USES], dtype=StringDType())
_LAND_USE_SHARES = {  # districts, county towns, villages
    "district": [0.50, 0.00, 0.15, 0.10, 0.07, 0.18],
    "town": [0.45, 0.00, 0.12, 0.23, 0.07, 0.13],
    "village": [0.00, 0.70, 0.00, 0.18, 0.05, 0.07],
}
# 宗地特征码 (GB/T 37346): G/J = state/collective ownership; B = construction land, C = homestead.
_RIGHT_TYPES = np.array(["国有建设用地使用权", "宅基地使用权"], dtype=StringDType())
BUILDING_USES = np.array(["住宅", "住宅", "商业服务", "工业", "仓储", "办公"], dtype=StringDType())  # by land use
_EXTRA_BUILDINGS = np.array([6.0, 0.2, 2.0, 2.5, 1.5, 2.0])  # Poisson mean of buildings beyond the first
_MAX_BUILDINGS_PER_PARCEL = 16
_FLOORS = np.array([(6, 33), (1, 3), (1, 25), (1, 4), (1, 2), (2, 12)])  # (lowest, highest) by land use
OLDEST_BUILDING_YEAR = 1955


@dataclass(frozen=True, eq=False)
class Cadastre:
    """The true parcels and buildings (metric bounds: minx, miny, maxx, maxy), for the systems built on them."""

    parcel_number: np.ndarray  # text, 19 characters
    parcel_division: np.ndarray  # index into ZHENGZHOU_DIVISIONS
    parcel_land_use: np.ndarray  # index into LAND_USES
    parcel_bounds: np.ndarray  # (n, 4) metres
    building_id: np.ndarray  # text: parcel number + 'F' + 4-digit building number
    building_parcel: np.ndarray  # index into the parcels
    building_floors: np.ndarray
    building_completed: np.ndarray  # year
    building_bounds: np.ndarray  # (n, 4) metres

    @property
    def building_land_use(self) -> np.ndarray:
        return self.parcel_land_use[self.building_parcel]

    @property
    def building_footprint(self) -> np.ndarray:
        """Footprint area in m²."""
        bounds = self.building_bounds
        return (bounds[:, 2] - bounds[:, 0]) * (bounds[:, 3] - bounds[:, 1])


def to_degrees(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return LON0 + np.asarray(x) / METRES_PER_DEGREE_LON, LAT0 + np.asarray(y) / METRES_PER_DEGREE_LAT


def to_metres(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return (np.asarray(lon) - LON0) * METRES_PER_DEGREE_LON, (np.asarray(lat) - LAT0) * METRES_PER_DEGREE_LAT


def _metric(coordinates: np.ndarray) -> np.ndarray:
    return np.column_stack(to_metres(coordinates[:, 0], coordinates[:, 1]))


def _degrees(coordinates: np.ndarray) -> np.ndarray:
    """Metres to degrees rounded to the written precision, so shared vertices stay identical."""
    lon, lat = to_degrees(coordinates[:, 0], coordinates[:, 1])
    scale = 10.0**COORDINATE_PLACES
    return np.column_stack([np.rint(lon * scale) / scale, np.rint(lat * scale) / scale])


@cache
def division_shapes() -> tuple[shapely.Polygon, ...]:
    """The divisions' synthetic boundaries in metres, in ``ZHENGZHOU_DIVISIONS`` order."""
    outline = shapely.Polygon(_metric(np.array(_CITY_OUTLINE)))
    owners = [division.code for division in ZHENGZHOU_DIVISIONS] + [code for code, _ in _EXTRA_SITES]
    sites = _metric(np.array([_CENTRES[d.code] for d in ZHENGZHOU_DIVISIONS] + [site for _, site in _EXTRA_SITES]))
    cells = shapely.get_parts(voronoi_diagram(shapely.multipoints(sites), envelope=outline.buffer(50_000)))
    # Node all cell edges and the outline together (on a 1 m grid) and rebuild the faces from that one
    # linework, so neighbouring divisions share their edges exactly: no slivers, no gaps.
    linework = shapely.union_all([*shapely.boundary(cells), outline.boundary], grid_size=1.0)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(linework)))
    inside = faces[shapely.contains(outline, shapely.point_on_surface(faces))]
    probes = shapely.get_coordinates(shapely.point_on_surface(inside))
    nearest = np.argmin(np.hypot(*(probes[:, None, :] - sites[None, :, :]).transpose(2, 0, 1)), axis=1)
    owner_of_face = np.array(owners)[nearest]
    shapes = [shapely.union_all(inside[owner_of_face == division.code]) for division in ZHENGZHOU_DIVISIONS]
    if not all(shape.geom_type == "Polygon" and shape.is_valid for shape in shapes):
        raise AssertionError("the synthetic division boundaries must be simple polygons")
    return tuple(shapes)


def division_boundaries() -> dict[str, shapely.Geometry]:
    """Division code -> boundary in WGS84 degrees as written to ``divisions.geojson`` (the city is the union)."""
    shapes = [shapely.transform(shape, _degrees) for shape in division_shapes()]
    boundaries = {division.code: shape for division, shape in zip(ZHENGZHOU_DIVISIONS, shapes, strict=True)}
    return {**boundaries, ZHENGZHOU_CITY_CODE: shapely.union_all(shapes)}


def write_land_planning(
    out_dir: Path,
    people: Population,
    households: Households,
    *,
    seed: int,
    scale: float,
    as_of: dt.date,
    defect_rate: float,
    truth_dir: Path,
) -> tuple[SystemOutput, Cadastre]:
    """Write ``divisions``, ``parcels`` and ``buildings`` GeoJSON under ``out_dir/natural_resources/land_planning``.

    Returns the system's output and the true cadastre, which ``write_property_registry`` takes next.
    ``households`` is accepted for the uniform generator signature; parcels follow where people live.
    """
    del households  # parcels follow residents (people.division); households add nothing here
    directory = Path(out_dir) / LAND_PLANNING[0] / LAND_PLANNING[1]
    directory.mkdir(parents=True, exist_ok=True)
    cadastre = simulate_cadastre(people, seed=seed, scale=scale, as_of=as_of)
    rng = stream(seed, "defects/land_planning")
    parcel_defects = _plan_defects(rng, len(cadastre.parcel_number), defect_rate, LAND_PLANNING_DEFECT_KINDS)
    building_defects = _plan_defects(
        rng,
        len(cadastre.building_id),
        defect_rate,
        tuple(k for k in LAND_PLANNING_DEFECT_KINDS if k != "division_mismatch"),
    )
    _write_divisions(directory / "divisions.geojson")
    records: list[tuple[str, str, str, str, str]] = []
    parcel_count = _write_layer(
        directory / "parcels.geojson", "parcels", _parcel_features(cadastre, parcel_defects, rng, records)
    )
    building_count = _write_layer(
        directory / "buildings.geojson", "buildings", _building_features(cadastre, building_defects, records)
    )
    truth_dir = Path(truth_dir)
    truth_dir.mkdir(parents=True, exist_ok=True)
    with (truth_dir / DEFECTS_FILE).open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(DEFECT_COLUMNS)
        writer.writerows((*LAND_PLANNING, *record) for record in records)
    key = "/".join(LAND_PLANNING)
    defects = dict.fromkeys(LAND_PLANNING_DEFECT_KINDS, 0)
    for record in records:
        defects[record[2]] += 1
    return (
        SystemOutput(
            key=key,
            location=str(directory),
            counts={
                f"{key}/divisions": len(ZHENGZHOU_DIVISIONS) + 1,
                f"{key}/parcels": parcel_count,
                f"{key}/buildings": building_count,
            },
            defects=defects,
        ),
        cadastre,
    )


# --- the true cadastre ---------------------------------------------------------------------------------------------


def simulate_cadastre(people: Population, *, seed: int, scale: float, as_of: dt.date) -> Cadastre:
    """Parcels in each division in proportion to its residents and area, and the buildings on them."""
    shapes = division_shapes()
    areas = shapely.area(np.array(shapes))
    residents = np.bincount(people.division, minlength=len(ZHENGZHOU_DIVISIONS)).astype(np.float64)
    resident_share = residents / residents.sum() if residents.sum() else DIVISION_SHARES
    weights = 0.6 * resident_share + 0.4 * areas / areas.sum()
    full_counts = allocate(PARCELS, weights)  # cell sizes are those of the whole city, whatever the scale
    counts = np.maximum(1, allocate(max(1, round(PARCELS * scale)), weights))
    rng = stream(seed, "planning/parcels")
    pieces = [
        _division_parcels(rng, index, shapes[index], int(counts[index]), int(full_counts[index]))
        for index in range(len(shapes))
    ]
    division = np.concatenate([np.full(len(p[0]), i) for i, p in enumerate(pieces)])
    bounds = np.concatenate([p[0] for p in pieces])
    land_use = np.concatenate([p[1] for p in pieces])
    numbers = np.concatenate([p[2] for p in pieces])
    return _buildings(stream(seed, "planning/buildings"), numbers, division, land_use, bounds, as_of)


def _division_parcels(
    rng: np.random.Generator, index: int, shape: shapely.Polygon, count: int, full_count: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bounds, land use and parcel numbers of ``count`` parcels on one division's grid."""
    cell = float(np.clip(math.sqrt(_COVERED_SHARE[index] * shape.area / full_count), 25.0, 250.0))
    minx, miny, maxx, maxy = shape.bounds
    while True:
        inner = shapely.buffer(shape, -0.75 * cell)  # a cell centred in here lies wholly inside the division
        nx, ny = math.ceil((maxx - minx) / cell), math.ceil((maxy - miny) / cell)
        ix, iy = np.meshgrid(np.arange(nx), np.arange(ny))
        ix, iy = ix.ravel(), iy.ravel()
        cx, cy = minx + (ix + 0.5) * cell, miny + (iy + 0.5) * cell
        inside = shapely.contains_xy(inner, cx, cy)
        if inside.sum() >= count:
            break
        cell *= 0.8
    ix, iy, cx, cy = ix[inside], iy[inside], cx[inside], cy[inside]
    centre_x, centre_y = to_metres(*_CENTRES[ZHENGZHOU_DIVISIONS[index].code])
    distance = np.hypot(cx - centre_x, cy - centre_y)
    spread = math.sqrt(shape.area) / (2.0 if URBAN[index] else 4.0)
    chosen = np.sort(weighted_top_k(rng, np.exp(-distance / spread), count))
    ix, iy, cx, cy, distance = ix[chosen], iy[chosen], cx[chosen], cy[chosen], distance[chosen]

    zones_across = math.ceil((maxx - minx) / ZONE_SIZE)
    local_x, local_y = cx - minx, cy - miny
    zone = (local_y // ZONE_SIZE).astype(np.int64) * zones_across + (local_x // ZONE_SIZE).astype(np.int64) + 1
    per_zone = int(ZONE_SIZE // SUBZONE_SIZE)
    subzone = ((local_y % ZONE_SIZE) // SUBZONE_SIZE).astype(np.int64) * per_zone
    subzone += ((local_x % ZONE_SIZE) // SUBZONE_SIZE).astype(np.int64) + 1
    if zone.max(initial=0) > 999:
        raise AssertionError("a division spans more cadastral zones than three digits can number")
    order = np.lexsort((ix, iy, subzone, zone))
    ix, iy, cx, cy, distance, zone, subzone = (a[order] for a in (ix, iy, cx, cy, distance, zone, subzone))
    _, sequence = runs(zone * 1000 + subzone)

    if URBAN[index]:
        land_use = rng.choice(len(LAND_USES), count, p=_LAND_USE_SHARES["district"])
    else:
        village = distance > _TOWN_RADIUS
        town_use = rng.choice(len(LAND_USES), count, p=_LAND_USE_SHARES["town"])
        land_use = np.where(village, rng.choice(len(LAND_USES), count, p=_LAND_USE_SHARES["village"]), town_use)
    margins = cell * rng.uniform(0.04, 0.12, (count, 4))  # roads and setbacks between neighbouring parcels
    bounds = np.column_stack(
        [
            cx - cell / 2 + margins[:, 0],
            cy - cell / 2 + margins[:, 1],
            cx + cell / 2 - margins[:, 2],
            cy + cell / 2 - margins[:, 3],
        ]
    )
    feature = np.where(land_use == RURAL_HOUSING, "JC", "GB")
    numbers = concat(
        ZHENGZHOU_DIVISIONS[index].code,
        digits(zone, 3),
        digits(subzone, 3),
        feature.astype(StringDType()),
        digits(sequence + 1, 5),
    )
    return bounds, land_use, numbers


def _buildings(
    rng: np.random.Generator,
    numbers: np.ndarray,
    division: np.ndarray,
    land_use: np.ndarray,
    bounds: np.ndarray,
    as_of: dt.date,
) -> Cadastre:
    """Buildings on a grid of slots inside each parcel, each footprint well inside its slot."""
    per_parcel = np.minimum(1 + rng.poisson(_EXTRA_BUILDINGS[land_use]), _MAX_BUILDINGS_PER_PARCEL)
    parcel = np.repeat(np.arange(len(numbers)), per_parcel)
    _, slot = runs(parcel)
    columns = np.ceil(np.sqrt(per_parcel)).astype(np.int64)[parcel]
    rows = -(-per_parcel[parcel] // columns)
    minx, miny, maxx, maxy = (bounds[parcel, i] for i in range(4))
    width, height = (maxx - minx) / columns, (maxy - miny) / rows
    left, bottom = minx + (slot % columns) * width, miny + (slot // columns) * height
    inset = rng.uniform(0.1, 0.3, (len(parcel), 4))
    building_bounds = np.column_stack(
        [
            left + inset[:, 0] * width,
            bottom + inset[:, 1] * height,
            left + (1 - inset[:, 2]) * width,
            bottom + (1 - inset[:, 3]) * height,
        ]
    )
    use = land_use[parcel]
    low, high = _FLOORS[use, 0], _FLOORS[use, 1]
    floors = low + (rng.random(len(parcel)) ** 1.5 * (high - low + 1)).astype(np.int64)
    span = as_of.year - 1 - OLDEST_BUILDING_YEAR
    completed = as_of.year - 1 - (rng.random(len(parcel)) ** 1.8 * span).astype(np.int64)  # most are recent
    return Cadastre(
        parcel_number=numbers,
        parcel_division=division,
        parcel_land_use=land_use,
        parcel_bounds=bounds,
        building_id=concat(numbers[parcel], "F", digits(slot + 1, 4)),
        building_parcel=parcel,
        building_floors=floors,
        building_completed=completed,
        building_bounds=building_bounds,
    )


# --- defects --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Defects:
    rows: int
    kind: dict[str, np.ndarray]  # defect kind -> sorted row positions carrying it
    missing: np.ndarray  # for "missing_property" rows: which of the layer's optional properties is absent

    def rows_of(self, kind: str) -> np.ndarray:
        return self.kind.get(kind, np.empty(0, dtype=np.int64))


def _plan_defects(rng: np.random.Generator, rows: int, defect_rate: float, kinds: tuple[str, ...]) -> _Defects:
    """A ``defect_rate`` share of the rows, split evenly across ``kinds``; one defect per defective row."""
    total = min(round(defect_rate * rows), rows)
    chosen = rng.choice(rows, total, replace=False)
    parts = np.split(chosen, np.cumsum(allocate(total, np.ones(len(kinds))))[:-1])
    by_kind = {kind: np.sort(part) for kind, part in zip(kinds, parts, strict=True)}
    missing = rng.integers(0, 3, len(by_kind["missing_property"]))
    return _Defects(rows, by_kind, missing)


# --- GeoJSON text ---------------------------------------------------------------------------------------------------


def _decimal_text(values: np.ndarray, places: int) -> np.ndarray:
    """Exactly ``places`` decimals (non-negative values), without the float repr's occasional long tails."""
    scaled = np.rint(np.asarray(values) * 10**places).astype(np.int64)
    whole, fraction = np.divmod(scaled, 10**places)
    return concat(whole.astype(StringDType()), ".", digits(fraction, places))


def _quoted(values) -> np.ndarray:
    return concat('"', values, '"')


def _properties(fields: list[tuple[str, np.ndarray]], absent: np.ndarray) -> np.ndarray:
    """'{"k":v,...}' per row; ``absent[i]`` is the index of the field row i lacks, or -1."""
    result = None
    for position, (name, text) in enumerate(fields):
        member = np.where(absent == position, "", concat(f'"{name}":', text)).astype(StringDType())
        if result is None:
            result = member
        else:
            separator = np.where((result != "") & (member != ""), ",", "").astype(StringDType())
            result = concat(result, separator, member)
    return concat("{", result, "}")


def _rectangles(bounds: np.ndarray, bowtie: np.ndarray, swapped: np.ndarray) -> np.ndarray:
    """Polygon geometry text of axis-aligned rectangles (metres), some as bowties or with [lat, lon] order."""
    minx, miny, maxx, maxy = bounds.T
    xs = np.column_stack([minx, maxx, maxx, minx, minx])
    ys = np.column_stack([miny, miny, maxy, maxy, miny])
    xs[bowtie, 2], xs[bowtie, 3] = minx[bowtie], maxx[bowtie]  # vertices 3 and 4 exchanged: the ring crosses itself
    lon, lat = to_degrees(xs, ys)
    first, second = _decimal_text(lon, COORDINATE_PLACES), _decimal_text(lat, COORDINATE_PLACES)
    first[swapped], second[swapped] = second[swapped], first[swapped].copy()
    ring = None
    for vertex in range(5):
        point = concat("[", first[:, vertex], ",", second[:, vertex], "]")
        ring = point if ring is None else concat(ring, ",", point)
    return concat('{"type":"Polygon","coordinates":[[', ring, "]]}")


def _features(properties: np.ndarray, geometry: np.ndarray) -> np.ndarray:
    return concat('{"type":"Feature","properties":', properties, ',"geometry":', geometry, "}")


def _write_layer(path: Path, name: str, chunks: Iterator[np.ndarray]) -> int:
    """A FeatureCollection with one feature per line, written a chunk at a time; returns the feature count."""
    count = 0
    with path.open("w", encoding="utf-8") as file:
        file.write(f'{{"type":"FeatureCollection","name":"{name}","features":[\n')
        for chunk in chunks:
            if len(chunk):
                file.write(",\n" if count else "")
                file.write(",\n".join(chunk.tolist()))
                count += len(chunk)
        file.write("\n]}\n")
    return count


def _write_divisions(path: Path) -> None:
    levels = {division.code: DIVISION_LEVELS[division.code[4]] for division in ZHENGZHOU_DIVISIONS}
    names = {division.code: division.name for division in ZHENGZHOU_DIVISIONS}
    features = []
    for code, boundary in division_boundaries().items():
        properties = {
            "division_code": code,
            "name": names.get(code, "郑州市"),
            "level": levels.get(code, "地级市"),
            "parent_code": ZHENGZHOU_CITY_CODE if code != ZHENGZHOU_CITY_CODE else "410000",
            "boundary_source": "synthetic",
        }
        geometry = json.loads(shapely.to_geojson(boundary))
        geometry["coordinates"] = _rounded(geometry["coordinates"])
        features.append(
            json.dumps({"type": "Feature", "properties": properties, "geometry": geometry}, ensure_ascii=False)
        )
    _write_layer(path, "divisions", iter([np.array(features, dtype=StringDType())]))


def _rounded(coordinates):
    """Python floats print their shortest form: round-tripped 7-decimal values print as such."""
    if isinstance(coordinates, float | int):
        return round(float(coordinates), COORDINATE_PLACES)
    return [_rounded(c) for c in coordinates]


def _parcel_features(
    cadastre: Cadastre, defects: _Defects, rng: np.random.Generator, records: list
) -> Iterator[np.ndarray]:
    """Parcel features in parcel-number order, then the duplicated ones; defects noted in ``records``."""
    rows = defects.rows
    division_code = np.array([d.code for d in ZHENGZHOU_DIVISIONS], dtype=StringDType())[cadastre.parcel_division]
    mismatch = defects.rows_of("division_mismatch")
    wrong = (cadastre.parcel_division[mismatch] + rng.integers(1, len(ZHENGZHOU_DIVISIONS), len(mismatch))) % len(
        ZHENGZHOU_DIVISIONS
    )
    stated = division_code.copy()
    stated[mismatch] = np.array([d.code for d in ZHENGZHOU_DIVISIONS], dtype=StringDType())[wrong]
    missing_fields = ("land_use", "area_m2", "division_code")
    area = np.prod(cadastre.parcel_bounds[:, 2:] - cadastre.parcel_bounds[:, :2], axis=1)
    numbers = cadastre.parcel_number
    _note(records, "parcels", numbers, defects, missing_fields, stated=stated, true=division_code)
    absent = np.full(rows, -1)
    absent[defects.rows_of("missing_property")] = defects.missing
    duplicated = defects.rows_of("duplicate_feature")
    order = np.r_[np.arange(rows), duplicated]
    for start in range(0, len(order), CHUNK_FEATURES):
        chunk = order[start : start + CHUNK_FEATURES]
        is_copy = np.arange(start, start + len(chunk)) >= rows
        lacks = np.where(is_copy, -1, absent[chunk])
        land_use = cadastre.parcel_land_use[chunk]
        properties = _properties(
            [
                ("parcel_number", _quoted(numbers[chunk])),
                ("division_code", _quoted(stated[chunk])),
                ("land_use_code", _quoted(LAND_USE_CODES[land_use])),
                ("land_use", _quoted(LAND_USE_NAMES[land_use])),
                ("right_type", _quoted(_RIGHT_TYPES[(land_use == RURAL_HOUSING).astype(np.int64)])),
                ("area_m2", _decimal_text(area[chunk], 2)),
            ],
            # missing land_use -> field 3, area_m2 -> 5, division_code -> 1
            np.select([lacks == 0, lacks == 1, lacks == 2], [3, 5, 1], -1),
        )
        bowtie = np.isin(chunk, defects.rows_of("invalid_geometry")) & ~is_copy
        swapped = np.isin(chunk, defects.rows_of("swapped_coordinates")) & ~is_copy
        yield _features(properties, _rectangles(cadastre.parcel_bounds[chunk], bowtie, swapped))


def _building_features(cadastre: Cadastre, defects: _Defects, records: list) -> Iterator[np.ndarray]:
    """Building features in id order, then the duplicated ones; defects noted in ``records``."""
    rows = defects.rows
    missing_fields = ("floors", "use", "completion_year")
    ids = cadastre.building_id
    _note(records, "buildings", ids, defects, missing_fields)
    absent = np.full(rows, -1)
    absent[defects.rows_of("missing_property")] = defects.missing
    order = np.r_[np.arange(rows), defects.rows_of("duplicate_feature")]
    for start in range(0, len(order), CHUNK_FEATURES):
        chunk = order[start : start + CHUNK_FEATURES]
        is_copy = np.arange(start, start + len(chunk)) >= rows
        lacks = np.where(is_copy, -1, absent[chunk])
        parcel = cadastre.building_parcel[chunk]
        bounds = cadastre.building_bounds[chunk]
        properties = _properties(
            [
                ("building_id", _quoted(ids[chunk])),
                ("parcel_number", _quoted(cadastre.parcel_number[parcel])),
                ("floors", cadastre.building_floors[chunk].astype(StringDType())),
                ("use", _quoted(BUILDING_USES[cadastre.parcel_land_use[parcel]])),
                ("completion_year", cadastre.building_completed[chunk].astype(StringDType())),
                ("footprint_m2", _decimal_text(np.prod(bounds[:, 2:] - bounds[:, :2], axis=1), 2)),
            ],
            np.select([lacks == 0, lacks == 1, lacks == 2], [2, 3, 4], -1),
        )
        bowtie = np.isin(chunk, defects.rows_of("invalid_geometry")) & ~is_copy
        swapped = np.isin(chunk, defects.rows_of("swapped_coordinates")) & ~is_copy
        yield _features(properties, _rectangles(bounds, bowtie, swapped))


def _note(
    records: list,
    table: str,
    keys: np.ndarray,
    defects: _Defects,
    missing_fields: tuple[str, ...],
    *,
    stated: np.ndarray | None = None,
    true: np.ndarray | None = None,
) -> None:
    """Append (table, record_key, defect_kind, column, detail) for every defect of the layer, by feature index."""
    noted = []
    for row in defects.rows_of("invalid_geometry").tolist():
        noted.append((row, "invalid_geometry", "geometry", f"feature {row}: ring vertices 3 and 4 exchanged (bowtie)"))
    for row in defects.rows_of("division_mismatch").tolist():
        detail = f"feature {row}: division_code {stated[row]}, geometry lies in {true[row]}"
        noted.append((row, "division_mismatch", "division_code", detail))
    for copy, row in enumerate(defects.rows_of("duplicate_feature").tolist()):
        detail = f"feature {defects.rows + copy} repeats feature {row}"
        noted.append((defects.rows + copy, "duplicate_feature", "", detail))
    for row, field in zip(defects.rows_of("missing_property").tolist(), defects.missing.tolist(), strict=True):
        name = missing_fields[field]
        noted.append((row, "missing_property", name, f"feature {row}: property {name} absent"))
    for row in defects.rows_of("swapped_coordinates").tolist():
        noted.append((row, "swapped_coordinates", "geometry", f"feature {row}: coordinates given as [lat, lon]"))
    noted.sort(key=lambda item: item[0])
    for row, kind, column, detail in noted:
        key = keys[row if row < defects.rows else defects.rows_of("duplicate_feature")[row - defects.rows]]
        records.append((table, str(key), kind, column, detail))
