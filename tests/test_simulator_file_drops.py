"""The simulated file-drop systems: reproducible bytes, census-like volumes, every planted defect really in
the files, parents and the deceased real residents, and the connector landing exactly what it should."""

from __future__ import annotations

import ast
import codecs
import contextlib
import csv
import datetime as dt
import hashlib
import io
import math
import re
import unicodedata
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from citybase.codes import id_number_problem, uscc_problem
from citybase.simulator.defects import HOMOPHONE_NAME, HOMOPHONE_SHARE, defect_weights
from citybase.simulator.drops import TRUTH_ROW_GROUP, TruthWriter, save_reproducibly, sheet_row, write_truth
from citybase.simulator.health import (
    BIRTH_COLUMNS,
    BIRTHS_PER_RESIDENT_YEAR,
    DEATH_COLUMNS,
    DEATHS_PER_RESIDENT_YEAR,
    MOTHER_ID,
    MOTHER_ID_OLD,
    RECORD_DEFECTS,
    write_vital_records,
)
from citybase.simulator.market import simulate_enterprises
from citybase.simulator.population import simulate_population
from citybase.simulator.sampling import allocate
from citybase.simulator.tax import COLUMNS as TAX_COLUMNS
from citybase.simulator.tax import HEADER_ROW, write_credit_ratings
from citybase.simulator.tax import RECORD_DEFECTS as TAX_DEFECTS
from connectors.file_drop import FileDropSource
from connectors.registry import TableSpec
from tests.test_homophones import explains_homophone_typo

RESIDENTS, ENTERPRISES = 250_000, 8_000
AS_OF = dt.date(2025, 12, 31)
DAYS = 30
HEALTH_DEFECT_RATE = 0.16  # high, so that every kind shows up at this small scale
BIRTHS_SPEC = TableSpec(
    "births", ("出生证编号",), None, {}, {"pattern": "births/*.csv", "renames": {MOTHER_ID_OLD: MOTHER_ID}}
)
DEATHS_SPEC = TableSpec("deaths", ("死亡证明编号",), None, {}, {"pattern": "deaths/*.csv"})
TAX_SPEC = TableSpec(
    "taxpayer_credit", ("_source_file", "纳税人识别号"), None, {},
    {"pattern": "taxpayer_credit_*.xlsx", "format": "xlsx", "header_row": HEADER_ROW},
)  # fmt: skip
BIRTH_TRUTH = dict(
    zip(
        BIRTH_COLUMNS,
        ("certificate_no", "child_name", "sex", "birth_date", "birth_place", "mother_name", "mother_id_number",
         "father_name", "father_id_number", "division_code", "issued_on"),
        strict=True,
    )
)  # fmt: skip
DEATH_TRUTH = dict(
    zip(
        DEATH_COLUMNS,
        ("record_no", "name", "sex", "id_number", "death_date", "cause", "division_code", "reported_on"),
        strict=True,
    )
)


@pytest.fixture(scope="module")
def city():
    people, _ = simulate_population(RESIDENTS, AS_OF, seed=7)
    enterprises = simulate_enterprises(ENTERPRISES, people, AS_OF, seed=7)
    return people, enterprises


def generate(out_dir: Path, city, seed: int = 7) -> dict:
    people, enterprises = city
    truth = out_dir / "ground_truth"
    health = write_vital_records(
        out_dir, people, seed=seed, scale=0.02, as_of=AS_OF, defect_rate=HEALTH_DEFECT_RATE, days=DAYS, truth_dir=truth
    )
    tax = write_credit_ratings(
        out_dir, enterprises, seed=seed, scale=0.004, as_of=AS_OF, defect_rate=0.05, months=3, truth_dir=truth
    )
    return {"out": out_dir, "truth": truth, "health": health, "tax": tax}


@pytest.fixture(scope="module")
def drops(city, tmp_path_factory) -> dict:
    return generate(tmp_path_factory.mktemp("drops"), city)


def defects(drops, system: str) -> list[dict]:
    with (drops["truth"] / f"defects_{system}.csv").open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def truth(drops, name: str) -> list[dict]:
    return pq.read_table(drops["truth"] / f"{name}.parquet").to_pylist()


def decode(raw: bytes) -> str:
    """Independently of the connector: a BOM means UTF-8, anything else must be GB18030."""
    return raw[3:].decode("utf-8") if raw.startswith(codecs.BOM_UTF8) else raw.decode("gb18030")


def parsed(drops, table: str) -> dict[str, list[list[str]]]:
    """Each file's records (header first) as the system wrote them, by path relative to the system folder."""
    folder = drops["out"] / "health" / "vital_records"
    return {
        path.relative_to(folder).as_posix(): list(csv.reader(io.StringIO(decode(path.read_bytes()), newline="")))
        for path in sorted((folder / table).glob("*.csv"))
    }


def hashes(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_the_same_seed_gives_the_same_bytes(drops, city, tmp_path):
    again = generate(tmp_path / "again", city)
    assert hashes(again["out"]) == hashes(drops["out"])
    other = generate(tmp_path / "other", city, seed=8)
    first = hashes(drops["out"])
    changed = [name for name, digest in hashes(other["out"]).items() if first.get(name) != digest]
    assert any(name.startswith("health/") for name in changed)
    assert any(name.startswith("tax/") for name in changed)


def test_volumes_follow_the_city_rates(drops):
    for name, rate in (("births", BIRTHS_PER_RESIDENT_YEAR), ("deaths", DEATHS_PER_RESIDENT_YEAR)):
        expected = RESIDENTS * rate * DAYS / 365
        assert abs(len(truth(drops, name)) - expected) < 5 * math.sqrt(expected), name
    files = parsed(drops, "births")
    assert len(files) == DAYS
    assert min(files) == f"births/births_{AS_OF - dt.timedelta(days=DAYS - 1):%Y%m%d}.csv"
    assert max(files) == f"births/births_{AS_OF:%Y%m%d}.csv"


def test_parents_and_the_deceased_are_real_residents(drops, city):
    people, _ = city
    as_of = np.datetime64(AS_OF, "D").astype(np.int64)
    births = truth(drops, "births")
    for parent, male, (youngest, oldest) in (("mother", False, (20, 46)), ("father", True, (22, 56))):
        index = np.array([b[f"{parent}_person_id"] for b in births]) - 1
        assert people.id_numbers(index).tolist() == [b[f"{parent}_id_number"] for b in births]
        assert people.names(index).tolist() == [b[f"{parent}_name"] for b in births]
        assert (people.male[index] == male).all()
        age = (as_of - people.birth[index]) / 365.25
        assert age.min() >= youngest
        assert age.max() <= oldest
    deaths = truth(drops, "deaths")
    index = np.array([d["person_id"] for d in deaths]) - 1
    assert len(set(index.tolist())) == len(deaths)
    assert people.id_numbers(index).tolist() == [d["id_number"] for d in deaths]
    assert np.median((as_of - people.birth[index]) / 365.25) >= 65  # mostly elderly
    assert all(id_number_problem(d["id_number"]) is None for d in deaths)


def test_every_record_defect_is_in_the_files_and_clean_records_are_true(drops):
    planted = defects(drops, "health__vital_records")
    kinds = Counter(d["defect_kind"] for d in planted)
    assert {*RECORD_DEFECTS, HOMOPHONE_NAME} <= set(kinds), kinds
    for table, key_column, mapping in (("births", "出生证编号", BIRTH_TRUTH), ("deaths", "死亡证明编号", DEATH_TRUTH)):
        true = {t[mapping[key_column]]: t for t in truth(drops, table)}
        rows: dict[str, list[dict]] = {}
        for records in parsed(drops, table).values():
            header = [MOTHER_ID if c == MOTHER_ID_OLD else c for c in records[0]]
            for record in records[1:]:
                if len(record) == len(header):
                    rows.setdefault(record[0], []).append(dict(zip(header, record, strict=True)))
        touched = set()
        for defect in (d for d in planted if d["table"] == table and "/" not in d["record_key"]):
            key, kind, column = defect["record_key"], defect["defect_kind"], defect["column"]
            touched.add(key)
            if kind == "duplicate_row":
                assert len(rows[key]) == 2
                assert rows[key][0] == rows[key][1]
                continue
            [row] = rows[key]
            written, _, true_value = defect["detail"].partition(", true ")
            true_value, _, typo = true_value.partition("; ")  # a homophone typo says which character it swapped
            written, true_value = ast.literal_eval(written), ast.literal_eval(true_value)
            assert row[column] == written != true_value == true[key][mapping[column]]
            assert _defect_explains(kind, written, true_value, typo), (kind, written, true_value, typo)
            assert {c: v for c, v in row.items() if c != column} == {
                c: true[key][mapping[c]] for c in row if c != column
            }  # one defect per record: the other columns are true
        clean = [key for key in rows if key not in touched]
        assert clean
        for key in clean:
            [row] = rows[key]
            assert row == {column: true[key][name] for column, name in mapping.items()}


def test_homophone_typos_hit_the_re_keyed_names_at_their_share_of_the_defects(drops):
    planted = [d for d in defects(drops, "health__vital_records") if d["defect_kind"] == HOMOPHONE_NAME]
    weights = defect_weights((*RECORD_DEFECTS, HOMOPHONE_NAME))
    for table, columns in (("births", {"母亲姓名", "父亲姓名"}), ("deaths", {"姓名"})):  # not the newborn's name
        typos = [d for d in planted if d["table"] == table]
        assert {d["column"] for d in typos} <= columns
        records = len(truth(drops, table))
        assert len(typos) == allocate(round(HEALTH_DEFECT_RATE * records), weights)[-1]
        assert len(typos) / records == pytest.approx(HEALTH_DEFECT_RATE * HOMOPHONE_SHARE, abs=0.005)


def _defect_explains(kind: str, written: str, true: str, typo: str) -> bool:
    if kind == "date_format":
        parts = re.findall(r"\d+", written)
        year, month, day = (parts[0][:4], parts[0][4:6], parts[0][6:]) if len(parts) == 1 else parts
        return dt.date(int(year), int(month), int(day)).isoformat() == true
    if kind == "fullwidth_chars":
        return any("\uff10" <= c <= "\uff3a" for c in written) and unicodedata.normalize("NFKC", written) == true
    if kind == "lowercase_x":
        return written.endswith("x") and written.upper() == true
    if kind == "stray_whitespace":
        return written.strip() == true
    if kind == "traditional_chars":  # Big5 is the traditional character set
        return len(written) == len(true) and all(w == t or _in_big5(w) for w, t in zip(written, true, strict=True))
    if kind == "missing_field":
        return written == ""
    if kind == "bad_check_digit":
        return written[:17] == true[:17] and "check" in (id_number_problem(written) or "")
    if kind == HOMOPHONE_NAME:
        return explains_homophone_typo(written, true, typo)
    return False


def _in_big5(char: str) -> bool:
    try:
        char.encode("big5")
    except UnicodeEncodeError:
        return False
    return True


def test_file_level_defects_are_really_in_the_files(drops):
    folder = drops["out"] / "health" / "vital_records"
    planted = {d["defect_kind"]: d for d in defects(drops, "health__vital_records") if "/" in d["record_key"]}
    assert set(planted) == {"wrong_encoding", "truncated_file", "renamed_column"}

    wrong = planted["wrong_encoding"]["record_key"]
    for path in sorted(folder.rglob("*.csv")):
        raw = path.read_bytes()
        if path.relative_to(folder).as_posix() == wrong:
            assert raw.startswith(codecs.BOM_UTF8)
            text = raw.decode("utf-8-sig")
            with contextlib.suppress(UnicodeDecodeError):
                assert raw.decode("gb18030") != text  # as GB18030 it is mojibake at best
        else:
            assert not raw.startswith(codecs.BOM_UTF8)
            raw.decode("gb18030")
            with pytest.raises(UnicodeDecodeError):
                raw.decode("utf-8")

    cut = folder / planted["truncated_file"]["record_key"]
    raw = cut.read_bytes()
    assert not raw.endswith(b"\r\n")
    last = decode(raw).split("\r\n")[-1]
    key = planted["truncated_file"]["detail"].split("(")[1].split(")")[0]
    assert last.startswith(key + ",")
    assert last.count(",") < len(DEATH_COLUMNS if key.startswith("SW") else BIRTH_COLUMNS) - 1

    renamed = planted["renamed_column"]["record_key"]
    headers = {name: records[0] for name, records in parsed(drops, "births").items()}
    assert all((MOTHER_ID in header) == (name >= renamed) for name, header in headers.items())
    assert all((MOTHER_ID_OLD in header) == (name < renamed) for name, header in headers.items())
    assert min(headers) < renamed


def test_names_outside_gbk_are_in_the_drops(drops):
    def outside_gbk(text: str) -> bool:
        try:
            text.encode("gbk")
        except UnicodeEncodeError:
            return True
        return False

    births = truth(drops, "births")
    assert any(outside_gbk(b["child_name"]) for b in births)
    rare = next(b for b in births if outside_gbk(b["child_name"]))
    folder = drops["out"] / "health" / "vital_records"
    assert rare["child_name"] in decode((folder / rare["file"]).read_bytes())


def land(folder: Path, table: TableSpec) -> tuple[pa.Table, list]:
    extraction = FileDropSource("x/y", folder).extract(table, {})
    landed = pa.Table.from_batches(list(extraction.batches), schema=extraction.schema)
    return landed, extraction.rejections


def test_the_connector_lands_every_whole_row_and_rejects_exactly_the_cut_one(drops):
    folder = drops["out"] / "health" / "vital_records"
    planted = {d["defect_kind"]: d for d in defects(drops, "health__vital_records") if "/" in d["record_key"]}
    cut_file = planted["truncated_file"]["record_key"]
    rejected = []
    for table, spec, mapping in (("births", BIRTHS_SPEC, BIRTH_TRUTH), ("deaths", DEATHS_SPEC, DEATH_TRUTH)):
        files = parsed(drops, table)
        landed, rejections = land(folder, spec)
        whole = [(name, number) for name, records in files.items() for number, r in enumerate(records[1:], 1)]
        if cut_file in files:
            whole.remove((cut_file, len(files[cut_file]) - 1))
        assert sorted(zip(landed["_source_file"].to_pylist(), landed["_source_row"].to_pylist(), strict=True)) == whole
        rejected += [(r.file, r.row, r.rule) for r in rejections]
        true = {t[mapping[spec.primary_key[0]]]: t for t in truth(drops, table)}
        assert {t["file"] for t in true.values() if not t["delivered"]} <= {cut_file}
        landed_keys = set(landed[spec.primary_key[0]].to_pylist())
        assert landed_keys == {key for key, t in true.items() if t["delivered"]}
    assert rejected == [(cut_file, len(parsed(drops, cut_file.split("/")[0])[cut_file]) - 1, "truncated_row")]


def test_the_wrong_encoding_file_lands_as_the_true_text(drops):
    folder = drops["out"] / "health" / "vital_records"
    wrong = next(d for d in defects(drops, "health__vital_records") if d["defect_kind"] == "wrong_encoding")
    table = wrong["table"]
    spec, mapping = (BIRTHS_SPEC, BIRTH_TRUTH) if table == "births" else (DEATHS_SPEC, DEATH_TRUTH)
    landed, _ = land(folder, spec)
    true = {t[mapping[spec.primary_key[0]]]: t for t in truth(drops, table)}
    dirty = {d["record_key"] for d in defects(drops, "health__vital_records")}
    from_file = [row for row in landed.to_pylist() if row["_source_file"] == wrong["record_key"]]
    clean = [row for row in from_file if row[spec.primary_key[0]] not in dirty]
    assert clean
    for row in clean:
        assert {c: row[c] for c in mapping} == {c: true[row[spec.primary_key[0]]][name] for c, name in mapping.items()}


def test_without_the_rename_the_renamed_files_are_schema_drift(drops):
    folder = drops["out"] / "health" / "vital_records"
    renamed = next(d for d in defects(drops, "health__vital_records") if d["defect_kind"] == "renamed_column")
    undeclared = TableSpec("births", ("出生证编号",), None, {}, {"pattern": "births/*.csv"})
    _, rejections = land(folder, undeclared)
    drifted = sorted(r.file for r in rejections if r.rule == "schema_drift")
    assert drifted[0] == renamed["record_key"]
    assert drifted == sorted(name for name in parsed(drops, "births") if name >= renamed["record_key"])


def test_credit_rating_workbooks_land_whole_with_their_dirt(drops):
    folder = drops["out"] / "tax" / "credit_ratings"
    landed, rejections = land(folder, TAX_SPEC)
    assert rejections == []
    assert landed.num_rows == drops["tax"].counts["tax/credit_ratings/taxpayer_credit"]
    assert landed.schema.names[: len(TAX_COLUMNS)] == list(TAX_COLUMNS)
    rows = landed.to_pylist()
    planted = defects(drops, "tax__credit_ratings")
    assert {d["defect_kind"] for d in planted} == set(TAX_DEFECTS)
    by_key = Counter((row["纳税人识别号"], row["_source_file"][-11:-5]) for row in rows)
    for defect in planted:
        uscc, month = defect["record_key"].split("|")
        if defect["defect_kind"] == "duplicate_row":
            assert by_key[(uscc, month)] == 2
        else:
            written = ast.literal_eval(defect["detail"].partition(", true ")[0])
            column = defect["column"]
            matches = [r for r in rows if r["_source_file"].endswith(f"{month}.xlsx") and r[column] == written]
            assert matches, defect
    true = truth(drops, "credit_ratings")
    assert len(true) + sum(d["defect_kind"] == "duplicate_row" for d in planted) == landed.num_rows
    assert all(uscc_problem(t["uscc"]) is None for t in true)
    assert {t["rating"] for t in true} == set("ABMCD")
    assert all(row["评价日期"] is None or len(row["评价日期"]) == 10 for row in rows)


def test_credit_rating_workbooks_declare_their_used_range_as_excel_does(drops):
    """A reader may size a sheet from its declared range instead of parsing it whole; it must be the truth."""
    for path in sorted((drops["out"] / "tax" / "credit_ratings").glob("*.xlsx")):
        book = load_workbook(path, read_only=True)
        sheet = book.worksheets[0]
        declared = sheet.calculate_dimension()
        sheet.reset_dimensions()
        assert declared == sheet.calculate_dimension(force=True), path.name
        book.close()


def test_truth_written_in_parts_is_the_file_written_at_once(tmp_path):
    """Credit ratings hand their truth over a month at a time: past a row group, and with an empty part, the
    file must still be the bytes ``write_truth`` makes of all the rows at once."""
    rows = TRUTH_ROW_GROUP + 70_000
    key = np.arange(rows)
    columns = {"record_key": [f"{k:x}|202512" for k in key.tolist()], "enterprise_id": (key + 1).tolist()}
    schema = pa.schema([("record_key", pa.string()), ("enterprise_id", pa.int64())])
    write_truth(tmp_path / "at_once.parquet", columns)
    writer = TruthWriter(tmp_path / "in_parts.parquet", schema)
    for start, stop in (
        (0, 600_000),
        (600_000, 600_000),
        (600_000, TRUTH_ROW_GROUP + 10),
        (TRUTH_ROW_GROUP + 10, rows),
    ):
        writer.extend({name: values[start:stop] for name, values in columns.items()})
    writer.close()
    assert pq.ParquetFile(tmp_path / "at_once.parquet").metadata.num_row_groups == 2
    assert (tmp_path / "in_parts.parquet").read_bytes() == (tmp_path / "at_once.parquet").read_bytes()


cell_text = st.text(
    st.sampled_from(["a", "Z", "9", "郑", "𠮷", " ", "\t", "\u3000", "&", "<", ">", '"', "'"]), min_size=1
)
cell_values = st.one_of(st.integers(0, 10**9), cell_text, st.dates(dt.date(1900, 3, 1), dt.date(2100, 12, 31)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(cell_values, min_size=1, max_size=4), min_size=1, max_size=6))
def test_rows_rendered_by_sheet_row_give_the_bytes_openpyxl_gives(tmp_path_factory, rows):
    """The tax workbooks' rows after the first are rendered by ``sheet_row``, not openpyxl: same file."""
    when, folder = dt.datetime(2025, 12, 31, 9), tmp_path_factory.mktemp("xlsx")

    def workbook(rows_by_openpyxl):
        book = Workbook(write_only=True)
        sheet = book.create_sheet("S")
        sheet.append(["title"])
        sheet.append([dt.date(2025, 1, 1)])  # a date before any row: the workbook's date style is the first
        for row in rows_by_openpyxl:
            sheet.append(row)
        return book

    save_reproducibly(workbook(rows), folder / "openpyxl.xlsx", when)
    rendered = (sheet_row(number, zip("ABCD", row, strict=False)) for number, row in enumerate(rows, start=3))
    save_reproducibly(workbook([]), folder / "rendered.xlsx", when, rendered)
    assert (folder / "openpyxl.xlsx").read_bytes() == (folder / "rendered.xlsx").read_bytes()


@pytest.mark.parametrize("value", ["", True, 1.5, None, dt.datetime(2025, 1, 1, 9)])
def test_sheet_row_refuses_what_it_would_write_otherwise_than_openpyxl(value):
    with pytest.raises(TypeError, match="sheet_row writes"):
        sheet_row(4, [("A", value)])
