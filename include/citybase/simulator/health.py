"""The Health Commission's vital records (卫健委 出生医学证明 / 死亡医学证明), delivered as daily CSV drops.

Hospitals report births and deaths to the commission, whose system exports one GB18030 CSV per day
and table into a shared folder: ``health/vital_records/births/births_YYYYMMDD.csv`` and
``.../deaths/deaths_YYYYMMDD.csv``. Parents and the deceased are real simulated residents, so later
stages can link the records to the household registration by ID number.

The dirt is what such exports carry: typed-in variants (other date formats, full-width or lower-case
ID characters, stray blanks, traditional characters, missing or mistyped ID numbers, parents' and the
deceased's names re-keyed with a same-sound character), re-sent rows,
and three file-level accidents: one file saved as UTF-8 (with a BOM, as Excel's "CSV UTF-8" writes it)
instead of GB18030, one file cut mid-row by a failed transfer, and the mother's ID column renamed
from 母亲身份证号 to 母亲证件号码 partway through the history. Every one is in the ground truth.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.dtypes import StringDType

from citybase.codes import ZHENGZHOU_DIVISIONS
from citybase.simulator import names
from citybase.simulator.defects import HOMOPHONE_NAME, defect_weights
from citybase.simulator.drops import (
    WHITESPACE_VARIANTS,
    DefectRow,
    csv_lines,
    has_traditional,
    other_date_format,
    plan_record_defects,
    to_fullwidth,
    to_traditional,
    write_defects,
    write_truth,
    wrong_check_char,
)
from citybase.simulator.formats import day_number
from citybase.simulator.output import SystemOutput
from citybase.simulator.places import CITY_NAME
from citybase.simulator.population import DIVISION_CODES, Population
from citybase.simulator.sampling import allocate, stream, weighted_top_k

VITAL_RECORDS = ("health", "vital_records")
BIRTHS, DEATHS = "births", "deaths"
BIRTHS_PER_RESIDENT_YEAR = 9.7 / 1000  # Zhengzhou's crude birth and death rates (statistical bulletin)
DEATHS_PER_RESIDENT_YEAR = 6.0 / 1000
ENCODING = "gb18030"
WRONG_ENCODING = "utf-8-sig"  # UTF-8 with a BOM: how the connector tells it from GB18030

MOTHER_ID_OLD, MOTHER_ID = "母亲身份证号", "母亲证件号码"  # the column's name before and after the rename
BIRTH_COLUMNS = (
    "出生证编号", "姓名", "性别", "出生日期", "出生地点", "母亲姓名", MOTHER_ID, "父亲姓名", "父亲身份证号",
    "行政区划代码", "签发日期",
)  # fmt: skip
DEATH_COLUMNS = ("死亡证明编号", "姓名", "性别", "身份证号", "死亡日期", "死因分类", "行政区划代码", "报告日期")
RECORD_DEFECTS = (
    "date_format",
    "fullwidth_chars",
    "lowercase_x",
    "stray_whitespace",
    "traditional_chars",
    "missing_field",
    "bad_check_digit",
    "duplicate_row",
)
FILE_DEFECTS = ("wrong_encoding", "truncated_file", "renamed_column")
DEFECTS_FILE = "defects_health__vital_records.csv"

# ICD-10 chapters with roughly the shares of deaths in urban China.
CAUSES = (
    ("循环系统疾病（I00-I99）", 0.44),
    ("肿瘤（C00-D48）", 0.25),
    ("呼吸系统疾病（J00-J99）", 0.09),
    ("损伤、中毒和外因的某些其他后果（S00-T98）", 0.06),
    ("内分泌、营养和代谢疾病（E00-E90）", 0.03),
    ("消化系统疾病（K00-K93）", 0.025),
    ("神经系统疾病（G00-G99）", 0.02),
    ("症状、体征和临床与实验室异常所见（R00-R99）", 0.02),
    ("泌尿生殖系统疾病（N00-N99）", 0.012),
    ("某些传染病和寄生虫病（A00-B99）", 0.008),
    ("精神和行为障碍（F00-F99）", 0.005),
    ("其他疾病", 0.04),
)
CITY_HOSPITALS = ("郑州大学第一附属医院", "河南省人民医院", "郑州大学第三附属医院", "郑州市妇幼保健院")
CITY_HOSPITAL_SHARE = 0.3  # the rest give birth in their own district's or county's hospital
LOCAL_HOSPITALS = tuple(
    f"{CITY_NAME}{d.name}妇幼保健院" if d.name.endswith("区") else f"{d.name}人民医院" for d in ZHENGZHOU_DIVISIONS
)
MALE_BIRTH_SHARE = 0.53
FATHER_SURNAME_SHARE = 0.92
MOTHER_AGES, FATHER_AGES = (20, 45), (22, 55)
GOMPERTZ_PER_YEAR = 0.09  # mortality roughly doubles every eight years of age
_RARE_CHARS = np.flatnonzero(np.isin(names.GIVEN_CHARS, list(names.RARE_GIVEN)))


@dataclass(frozen=True)
class _Layout:
    """A table's columns as landed, and which of them each kind of dirt touches."""

    table: str
    columns: tuple[str, ...]
    key: str
    date_column: str
    id_columns: tuple[str, ...]
    name_columns: tuple[str, ...]
    rekeyed_names: tuple[str, ...]  # copied from another system's record, not given here: homophone typos

    def file(self, day: dt.date) -> str:
        return f"{self.table}/{self.table}_{day:%Y%m%d}.csv"


BIRTH_LAYOUT = _Layout(
    BIRTHS, BIRTH_COLUMNS, "出生证编号", "出生日期", (MOTHER_ID, "父亲身份证号"), ("姓名", "母亲姓名", "父亲姓名"),
    ("母亲姓名", "父亲姓名"),
)  # fmt: skip
DEATH_LAYOUT = _Layout(DEATHS, DEATH_COLUMNS, "死亡证明编号", "死亡日期", ("身份证号",), ("姓名",), ("姓名",))
_LAYOUTS = {BIRTHS: BIRTH_LAYOUT, DEATHS: DEATH_LAYOUT}


def write_vital_records(
    out_dir: Path,
    people: Population,
    *,
    seed: int,
    scale: float,
    as_of: dt.date,
    defect_rate: float,
    days: int = 30,
    truth_dir: Path,
) -> SystemOutput:
    """Daily birth and death drops for the ``days`` days up to ``as_of``, with their ground truth.

    Volumes follow the residents in ``people`` (which already reflect ``scale``): about 335 births and
    207 deaths a day for the whole city. Writes ``truth_dir/births.parquet``, ``deaths.parquet`` and
    ``defects_health__vital_records.csv``. The same arguments always give the same bytes.
    """
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    system_dir = Path(out_dir) / Path(*VITAL_RECORDS)
    truth_dir = Path(truth_dir)
    truth_dir.mkdir(parents=True, exist_ok=True)
    file_days = np.arange(day_number(as_of) - days + 1, day_number(as_of) + 1)
    rng = stream(seed, "health/volumes")
    residents = len(people)
    birth_counts = rng.poisson(residents * BIRTHS_PER_RESIDENT_YEAR / 365, days)
    death_counts = rng.poisson(residents * DEATHS_PER_RESIDENT_YEAR / 365, days)

    deaths, deceased = _deaths(stream(seed, "health/deaths"), people, file_days, death_counts)
    births = _births(stream(seed, "health/births"), people, file_days, birth_counts, deceased)
    plan = _FilePlan.draw(stream(seed, "health/files"), file_days, {BIRTHS: births, DEATHS: deaths})

    defects: list[DefectRow] = []
    for layout, records in ((BIRTH_LAYOUT, births), (DEATH_LAYOUT, deaths)):
        _clear(system_dir / layout.table, f"{layout.table}_*.csv")
        rng = stream(seed, f"health/{layout.table}/defects")
        written, duplicated = _plant(rng, layout, records, defect_rate, plan.cut_record.get(layout.table), defects)
        _write_files(system_dir, layout, records, written, duplicated, file_days, plan, defects)
    defects.extend(plan.file_defects())

    _write_truth(truth_dir, births, deaths, plan)
    write_defects(truth_dir / DEFECTS_FILE, *VITAL_RECORDS, defects)
    key = "/".join(VITAL_RECORDS)
    duplicates = Counter(d.table for d in defects if d.defect_kind == "duplicate_row")
    return SystemOutput(
        key=key,
        location=str(system_dir),
        counts={f"{key}/{table}": len(records["key"]) + duplicates[table] for table, records in plan.tables.items()},
        defects=dict(Counter(d.defect_kind for d in defects)),
    )


def _deaths(
    rng: np.random.Generator, people: Population, file_days: np.ndarray, counts: np.ndarray
) -> tuple[dict, np.ndarray]:
    """Deaths of real residents, mostly elderly (Gompertz weights), reported 0-3 days after the death."""
    count = min(int(counts.sum()), len(people))
    age = (file_days[-1] - people.birth) / 365.25
    deceased = rng.permutation(weighted_top_k(rng, np.exp(GOMPERTZ_PER_YEAR * age), count))
    reported = np.repeat(file_days, counts)[:count]
    died = np.maximum(reported - rng.integers(0, 4, count), people.birth[deceased])
    shares = np.array([share for _, share in CAUSES])
    cause = rng.choice(len(CAUSES), count, p=shares / shares.sum())
    division_codes = DIVISION_CODES[people.division[deceased]].astype(str).tolist()
    first_serial = int(rng.integers(1_000_000, 5_000_000))
    records = {
        "key": [f"SW{code}{first_serial + i:07d}" for i, code in enumerate(division_codes)],
        "day": reported,
        "姓名": people.names(deceased).tolist(),
        "性别": np.where(people.male[deceased], "男", "女").tolist(),
        "身份证号": people.id_numbers(deceased).tolist(),
        "死亡日期": _iso(died),
        "死因分类": [CAUSES[c][0] for c in cause.tolist()],
        "行政区划代码": division_codes,
        "报告日期": _iso(reported),
        "person_id": (deceased + 1).tolist(),
    }
    records["死亡证明编号"] = records["key"]
    return records, deceased


def _births(
    rng: np.random.Generator, people: Population, file_days: np.ndarray, counts: np.ndarray, deceased: np.ndarray
) -> dict:
    """Births to real resident mothers (20-45, weighted towards 29) and fathers (22-55), certified 0-14 days on."""
    alive = np.ones(len(people), dtype=bool)
    alive[deceased] = False
    mothers = _parents(rng, people, alive & ~people.male, MOTHER_AGES, 29, 5, file_days, int(counts.sum()))
    fathers = _parents(rng, people, alive & people.male, FATHER_AGES, 31, 6, file_days, int(counts.sum()))
    count = min(len(mothers), len(fathers))
    mothers, fathers = mothers[:count], fathers[:count]
    issued = np.repeat(file_days, counts)[:count]
    born = issued - np.minimum(rng.geometric(0.35, count) - 1, 14)
    male = rng.random(count) < MALE_BIRTH_SHARE
    surname = np.where(rng.random(count) < FATHER_SURNAME_SHARE, people.surname[fathers], people.surname[mothers])
    birth_year = born.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    given1, given2 = names.draw_given_names(rng, male, birth_year)
    if count and not np.isin(np.r_[given1, given2], _RARE_CHARS).any():
        # Every drop carries at least one name outside GBK, so every run exercises GB18030.
        rare = _RARE_CHARS[int(rng.integers(0, len(_RARE_CHARS)))]
        given1[0], given2[0] = (rare, given2[0]) if given2[0] == names.NO_CHAR else (given1[0], rare)
    division = people.division[mothers]
    hospital = np.where(
        rng.random(count) < CITY_HOSPITAL_SHARE,
        np.array(CITY_HOSPITALS)[rng.integers(0, len(CITY_HOSPITALS), count)],
        np.array(LOCAL_HOSPITALS)[division],
    )
    first_serial = int(rng.integers(100_000_000, 600_000_000))
    keys = [f"Q410{first_serial + i:09d}" for i in range(count)]
    return {
        "key": keys,
        "day": issued,
        "出生证编号": keys,
        "姓名": names.render_names(surname, given1, given2).tolist(),
        "性别": np.where(male, "男", "女").tolist(),
        "出生日期": _iso(born),
        "出生地点": hospital.tolist(),
        "母亲姓名": people.names(mothers).tolist(),
        MOTHER_ID: people.id_numbers(mothers).tolist(),
        "父亲姓名": people.names(fathers).tolist(),
        "父亲身份证号": people.id_numbers(fathers).tolist(),
        "行政区划代码": DIVISION_CODES[division].astype(str).tolist(),
        "签发日期": _iso(issued),
        "mother_person_id": (mothers + 1).tolist(),
        "father_person_id": (fathers + 1).tolist(),
    }


def _parents(
    rng: np.random.Generator,
    people: Population,
    candidates: np.ndarray,
    ages: tuple[int, int],
    peak_age: float,
    spread: float,
    file_days: np.ndarray,
    count: int,
) -> np.ndarray:
    """``count`` distinct residents aged within ``ages`` on every day of the period, weighted around ``peak_age``."""
    youngest_birth = file_days[0] - 14 - round(ages[0] * 365.25)
    oldest_birth = file_days[-1] - round(ages[1] * 365.25)
    pool = np.flatnonzero(candidates & (people.birth <= youngest_birth) & (people.birth >= oldest_birth))
    age = (file_days[-1] - people.birth[pool]) / 365.25
    weights = np.exp(-0.5 * ((age - peak_age) / spread) ** 2)
    return rng.permutation(pool[weighted_top_k(rng, weights, min(count, len(pool)))])


@dataclass(frozen=True)
class _FilePlan:
    """Which files carry the file-level accidents."""

    file_days: np.ndarray
    tables: dict[str, dict]
    rename_from: int | None  # index of the first births file with the new column name
    wrong_encoding: tuple[str, int] | None  # (table, day index)
    truncated: tuple[str, int] | None
    cut_field: int  # the truncated row keeps this many fields
    cut_record: dict[str, int]  # table -> position of the record cut in half (never given other defects)

    @classmethod
    def draw(cls, rng: np.random.Generator, file_days: np.ndarray, tables: dict[str, dict]) -> _FilePlan:
        days = len(file_days)
        rename_from = None
        if days >= 2:
            low = max(1, days // 3)
            rename_from = int(rng.integers(low, max(low + 1, 2 * days // 3)))
        sizes = {
            (t, i): int((records["day"] == d).sum()) for t, records in tables.items() for i, d in enumerate(file_days)
        }
        files = sorted(sizes)
        truncatable = [f for f in files if sizes[f] >= 2]
        truncated = truncatable[int(rng.integers(0, len(truncatable)))] if truncatable else None
        recodable = [f for f in files if sizes[f] >= 1 and f != truncated]
        wrong_encoding = recodable[int(rng.integers(0, len(recodable)))] if recodable else None
        cut_record, cut_field = {}, 0
        if truncated:
            table, index = truncated
            cut_record[table] = int(np.flatnonzero(tables[table]["day"] == file_days[index])[-1])
            cut_field = int(rng.integers(1, len(_LAYOUTS[table].columns) - 1))  # at least one field short
        return cls(file_days, tables, rename_from, wrong_encoding, truncated, cut_field, cut_record)

    def day(self, index: int) -> dt.date:
        return self.file_days[index].astype("datetime64[D]").item()

    def header(self, layout: _Layout, index: int) -> tuple[str, ...]:
        if layout.table == BIRTHS and self.rename_from is not None and index < self.rename_from:
            return tuple(MOTHER_ID_OLD if c == MOTHER_ID else c for c in layout.columns)
        return layout.columns

    def file_defects(self) -> list[DefectRow]:
        rows = []
        if self.rename_from is not None:
            rows.append(
                DefectRow(
                    BIRTHS,
                    BIRTH_LAYOUT.file(self.day(self.rename_from)),
                    "renamed_column",
                    MOTHER_ID,
                    f"{MOTHER_ID_OLD} is called {MOTHER_ID} from this file on",
                )
            )
        if self.wrong_encoding:
            table, index = self.wrong_encoding
            layout = _LAYOUTS[table]
            detail = "UTF-8 with a BOM instead of GB18030"
            rows.append(DefectRow(table, layout.file(self.day(index)), "wrong_encoding", "", detail))
        if self.truncated:
            table, index = self.truncated
            layout = _LAYOUTS[table]
            key = self.tables[table]["key"][self.cut_record[table]]
            detail = f"cut inside the last row ({key}): {self.cut_field} of {len(layout.columns)} fields complete"
            rows.append(DefectRow(table, layout.file(self.day(index)), "truncated_file", "", detail))
        return rows


def _plant(
    rng: np.random.Generator,
    layout: _Layout,
    records: dict,
    defect_rate: float,
    spared: int | None,
    defects: list[DefectRow],
) -> tuple[list[list[str]], np.ndarray]:
    """The rows as the system writes them (one defect at most per record) and which records are sent twice."""
    count = len(records["key"])
    columns = [records[c] for c in layout.columns]
    written = [list(row) for row in zip(*columns, strict=True)] if count else []
    position = {c: i for i, c in enumerate(layout.columns)}
    ends_with_x = np.array([any(records[c][r].endswith("X") for c in layout.id_columns) for r in range(count)], bool)
    traditional = np.array([any(has_traditional(records[c][r]) for c in layout.name_columns) for r in range(count)])
    open_to_defects = np.ones(count, dtype=bool)
    if spared is not None:
        open_to_defects[spared] = False
    total = round(defect_rate * count)
    typos = _homophone_typos(rng, layout, records, total, open_to_defects)
    open_to_defects[list(typos)] = False
    eligible = {
        "lowercase_x": ends_with_x & open_to_defects,
        "traditional_chars": traditional.astype(bool) & open_to_defects,
    }
    eligible.update({kind: open_to_defects for kind in RECORD_DEFECTS if kind not in eligible})
    assigned = plan_record_defects(rng, count, (total - len(typos)) / max(count, 1), RECORD_DEFECTS, eligible)
    duplicated = np.zeros(count, dtype=bool)
    assigned[list(typos)] = len(RECORD_DEFECTS)
    for record in np.flatnonzero(assigned >= 0).tolist():
        key = records["key"][record]
        if record in typos:
            column, value, typo = typos[record]
            written[record][position[column]] = value
            detail = f"{value!r}, true {records[column][record]!r}; {typo}"
            defects.append(DefectRow(layout.table, key, HOMOPHONE_NAME, column, detail))
            continue
        kind = RECORD_DEFECTS[assigned[record]]
        if kind == "duplicate_row":
            duplicated[record] = True
            file = layout.file(records["day"][record].astype("datetime64[D]").item())
            defects.append(DefectRow(layout.table, key, kind, "", f"row sent twice in {file}"))
            continue
        if kind == "date_format":
            column = layout.date_column
        elif kind == "lowercase_x":
            column = _pick(rng, [c for c in layout.id_columns if records[c][record].endswith("X")])
        elif kind == "traditional_chars":
            column = _pick(rng, [c for c in layout.name_columns if has_traditional(records[c][record])])
        elif kind == "stray_whitespace":
            column = _pick(rng, [*layout.name_columns, *layout.id_columns])
        else:
            column = _pick(rng, list(layout.id_columns))
        true = records[column][record]
        value = _distort(rng, kind, true)
        written[record][position[column]] = value
        defects.append(DefectRow(layout.table, key, kind, column, f"{value!r}, true {true!r}"))
    return written, duplicated


def _homophone_typos(
    rng: np.random.Generator, layout: _Layout, records: dict, total: int, open_to_defects: np.ndarray
) -> dict[int, tuple[str, str, str]]:
    """Homophone typos in the re-keyed names, their share of the ``total`` record defects (``defect_weights``):
    record -> (column, the name as typed, which character was swapped for which)."""
    wanted = int(allocate(total, defect_weights((*RECORD_DEFECTS, HOMOPHONE_NAME)))[-1])
    columns = layout.rekeyed_names
    can = np.array([names.mistypable(np.array(records[c], dtype=StringDType())) for c in columns])
    can = can.reshape(len(columns), len(open_to_defects))
    candidates = np.flatnonzero(can.any(axis=0) & open_to_defects)
    chosen = np.sort(rng.choice(candidates, min(wanted, len(candidates)), replace=False))
    which = np.where(can[:, chosen], rng.random((len(columns), len(chosen))), -1.0).argmax(axis=0)
    typos = {}
    for index, column in enumerate(columns):
        rows = chosen[which == index].tolist()
        typed, details = names.mistype_names(rng, np.array([records[column][r] for r in rows], dtype=StringDType()))
        for row, value, detail in zip(rows, typed.tolist(), details.tolist(), strict=True):
            typos[row] = (column, value, detail)
    return typos


def _pick(rng: np.random.Generator, options: list[str]) -> str:
    return options[int(rng.integers(0, len(options)))]


def _distort(rng: np.random.Generator, kind: str, true: str) -> str:
    if kind == "date_format":
        return other_date_format(dt.date.fromisoformat(true), int(rng.integers(0, 4)))
    if kind == "fullwidth_chars":
        return to_fullwidth(true)
    if kind == "lowercase_x":
        return true[:-1] + "x"
    if kind == "stray_whitespace":
        return WHITESPACE_VARIANTS[int(rng.integers(0, len(WHITESPACE_VARIANTS)))].format(true)
    if kind == "traditional_chars":
        return to_traditional(true)
    if kind == "missing_field":
        return ""
    if kind == "bad_check_digit":
        return wrong_check_char(true, int(rng.integers(1, 11)))
    raise ValueError(f"unknown defect kind {kind!r}")


def _write_files(
    system_dir: Path,
    layout: _Layout,
    records: dict,
    written: list[list[str]],
    duplicated: np.ndarray,
    file_days: np.ndarray,
    plan: _FilePlan,
    defects: list[DefectRow],
) -> None:
    """One file per day, header included even on a day without records; duplicates follow their original."""
    (system_dir / layout.table).mkdir(parents=True, exist_ok=True)
    days = records["day"]
    for index, day in enumerate(file_days):
        positions = np.flatnonzero(days == day).tolist()
        rows = []
        for position in positions:
            rows.append(written[position])
            if duplicated[position]:
                rows.append(written[position])
        lines = csv_lines([plan.header(layout, index), *rows])
        if plan.truncated == (layout.table, index):
            last = lines[-1]
            commas = [i for i, char in enumerate(last) if char == ","]
            lines[-1] = last[: commas[plan.cut_field - 1] + 1]
        encoding = WRONG_ENCODING if plan.wrong_encoding == (layout.table, index) else ENCODING
        path = system_dir / layout.file(plan.day(index))
        path.write_bytes("".join(lines).encode(encoding))


def _write_truth(truth_dir: Path, births: dict, deaths: dict, plan: _FilePlan) -> None:
    """True values per record key, the file each record was sent in, and whether it arrived whole."""

    def delivery(table: str, layout: _Layout, records: dict) -> dict:
        files = [layout.file(d.astype("datetime64[D]").item()) for d in records["day"]]
        delivered = [True] * len(files)
        if table in plan.cut_record:
            delivered[plan.cut_record[table]] = False
        return {"file": files, "delivered": delivered}

    write_truth(
        truth_dir / "births.parquet",
        {
            "certificate_no": births["key"],
            "child_name": births["姓名"],
            "sex": births["性别"],
            "birth_date": births["出生日期"],
            "birth_place": births["出生地点"],
            "mother_name": births["母亲姓名"],
            "mother_id_number": births[MOTHER_ID],
            "mother_person_id": births["mother_person_id"],
            "father_name": births["父亲姓名"],
            "father_id_number": births["父亲身份证号"],
            "father_person_id": births["father_person_id"],
            "division_code": births["行政区划代码"],
            "issued_on": births["签发日期"],
            **delivery(BIRTHS, BIRTH_LAYOUT, births),
        },
    )
    write_truth(
        truth_dir / "deaths.parquet",
        {
            "record_no": deaths["key"],
            "name": deaths["姓名"],
            "sex": deaths["性别"],
            "id_number": deaths["身份证号"],
            "person_id": deaths["person_id"],
            "death_date": deaths["死亡日期"],
            "cause": deaths["死因分类"],
            "division_code": deaths["行政区划代码"],
            "reported_on": deaths["报告日期"],
            **delivery(DEATHS, DEATH_LAYOUT, deaths),
        },
    )


def _iso(days: np.ndarray) -> list[str]:
    return np.asarray(days).astype("datetime64[D]").astype(str).tolist()


def _clear(directory: Path, pattern: str) -> None:
    """Remove an earlier simulation's drops, so a shorter or shifted period leaves no stale day behind."""
    for path in directory.glob(pattern):
        path.unlink()


# ---------------------------------------------------------------------------------------------------
# One more day, as ``citybase evolve`` delivers it


def write_evolved_day(
    system_dir: Path,
    day: dt.date,
    rng: np.random.Generator,
    births: dict[str, np.ndarray],
    deaths: dict[str, np.ndarray],
) -> tuple[list[str], list[str]]:
    """The day's births and deaths files for the people the household registry gained and lost that day.

    ``births``: name, male, mother_name, mother_id_number, father_name, father_id_number, division_code
    (the mother's); ``deaths``: name, male, id_number, division_code, birth_day (day number). Birth
    certificates are issued on the day of birth; deaths are reported 0-3 days after. Numbers come from
    ranges the simulated history never uses. Evolved days carry no planted dirt, so what lands can be
    checked against ``ground_truth/changes.csv`` record for record. Returns the certificate numbers
    and the death record numbers, in file order.
    """
    today = day_number(day)
    n_births, n_deaths = len(births["name"]), len(deaths["name"])
    division = np.searchsorted(DIVISION_CODES, births["division_code"]).clip(0, len(DIVISION_CODES) - 1)
    hospital = np.where(
        rng.random(n_births) < CITY_HOSPITAL_SHARE,
        np.array(CITY_HOSPITALS)[rng.integers(0, len(CITY_HOSPITALS), n_births)],
        np.array(LOCAL_HOSPITALS)[division],
    )
    birth_keys = [f"Q410{today * 1000 + i:09d}" for i in range(n_births)]
    day_text = [day.isoformat()] * n_births
    birth_records = {
        "key": birth_keys,
        "day": np.full(n_births, today),
        "出生证编号": birth_keys,
        "姓名": list(births["name"]),
        "性别": np.where(births["male"], "男", "女").tolist(),
        "出生日期": day_text,
        "出生地点": hospital.tolist(),
        "母亲姓名": list(births["mother_name"]),
        MOTHER_ID: list(births["mother_id_number"]),
        "父亲姓名": list(births["father_name"]),
        "父亲身份证号": list(births["father_id_number"]),
        "行政区划代码": np.asarray(births["division_code"]).astype(str).tolist(),
        "签发日期": day_text,
    }
    codes = np.asarray(deaths["division_code"]).astype(str).tolist()
    death_keys = [f"SW{code}{6_000_000 + today % 3000 * 1000 + i:07d}" for i, code in enumerate(codes)]
    shares = np.array([share for _, share in CAUSES])
    cause = rng.choice(len(CAUSES), n_deaths, p=shares / shares.sum())
    death_records = {
        "key": death_keys,
        "day": np.full(n_deaths, today),
        "死亡证明编号": death_keys,
        "姓名": list(deaths["name"]),
        "性别": np.where(deaths["male"], "男", "女").tolist(),
        "身份证号": list(deaths["id_number"]),
        "死亡日期": _iso(np.maximum(today - rng.integers(0, 4, n_deaths), deaths["birth_day"])),
        "死因分类": [CAUSES[c][0] for c in cause.tolist()],
        "行政区划代码": codes,
        "报告日期": [day.isoformat()] * n_deaths,
    }
    file_days = np.array([today])
    tables = {BIRTHS: birth_records, DEATHS: death_records}
    plan = _FilePlan(file_days, tables, None, None, None, 0, {})
    for layout, records in ((BIRTH_LAYOUT, birth_records), (DEATH_LAYOUT, death_records)):
        written = [list(row) for row in zip(*(records[c] for c in layout.columns), strict=True)]
        duplicated = np.zeros(len(written), dtype=bool)
        _write_files(Path(system_dir), layout, records, written, duplicated, file_days, plan, [])
    return birth_keys, death_keys
