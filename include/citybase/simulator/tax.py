"""The Tax Bureau's taxpayer credit ratings (税务局 纳税信用评价), delivered as a monthly Excel workbook.

Each month the bureau drops ``tax/credit_ratings/taxpayer_credit_YYYYMM.xlsx``: the current ratings
(A/B/M/C/D) of the enterprises it supervises, keyed by their unified social credit code. Like most
government workbooks it opens with a title and a "data as of" line above the header (the header is
row 3). Ratings come from the annual evaluation published each April, plus the month's dynamic
adjustments; enterprises set up during the rating year are rated M.

Dirt: credit codes typed in lower case or with stray blanks, ratings outside A/B/M/C/D ('E'), rows
exported twice. Every one is in the ground truth, keyed ``<uscc>|<YYYYMM>``.
"""

from __future__ import annotations

import datetime as dt
import string
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
from openpyxl import Workbook

from citybase.simulator.drops import (
    WHITESPACE_VARIANTS,
    DefectRow,
    TruthWriter,
    plan_record_defects,
    save_reproducibly,
    sheet_row,
    write_defects,
)
from citybase.simulator.formats import day_number
from citybase.simulator.market import INDIVIDUAL, LIVE, OPERATING, Enterprises
from citybase.simulator.output import SystemOutput
from citybase.simulator.places import CITY_NAME, DIVISION_NAMES
from citybase.simulator.sampling import stream

CREDIT_RATINGS = ("tax", "credit_ratings")
TABLE = "taxpayer_credit"
COLUMNS = ("序号", "纳税人识别号", "纳税人名称", "信用等级", "评价年度", "评价日期", "主管税务机关")
LETTERS = string.ascii_uppercase[: len(COLUMNS)]  # the columns' letters in the sheet
HEADER_ROW = 3  # a title row and a "data as of" row come first
SHEET = "纳税信用评价结果"
RATINGS = np.array(list("ABMCD"))
RATING_SHARES = np.array([0.18, 0.52, 0.22, 0.05, 0.03])
NEW_ENTERPRISE = 2  # M: set up during the rating year
ADJUSTED_PER_MONTH = 0.004  # re-rated in the month (downgrades after violations, credit repair)
RECORD_DEFECTS = ("lowercase_code", "stray_whitespace", "invalid_rating", "duplicate_row")
INVALID_RATING = "E"
DEFECTS_FILE = "defects_tax__credit_ratings.csv"
TAX_OFFICES = np.array(
    [f"国家税务总局{CITY_NAME}{n}税务局" if n.endswith("区") else f"国家税务总局{n}税务局" for n in DIVISION_NAMES]
)


def write_credit_ratings(
    out_dir: Path,
    enterprises: Enterprises,
    *,
    seed: int,
    scale: float,
    as_of: dt.date,
    defect_rate: float,
    months: int = 3,
    truth_dir: Path,
) -> SystemOutput:
    """Monthly workbooks for the ``months`` months up to ``as_of``, with their ground truth.

    Volumes follow ``enterprises`` (which already reflect ``scale``). Writes
    ``truth_dir/credit_ratings.parquet`` and ``defects_tax__credit_ratings.csv``. The same arguments
    always give the same bytes.
    """
    if months < 1:
        raise ValueError(f"months must be at least 1, got {months}")
    system_dir = Path(out_dir) / Path(*CREDIT_RATINGS)
    system_dir.mkdir(parents=True, exist_ok=True)
    truth_dir = Path(truth_dir)
    truth_dir.mkdir(parents=True, exist_ok=True)
    for stale in system_dir.glob(f"{TABLE}_*.xlsx"):
        stale.unlink()

    rateable = np.isin(enterprises.status, [LIVE, OPERATING]) & (enterprises.entity_type != INDIVIDUAL)
    truth = TruthWriter(truth_dir / "credit_ratings.parquet", _TRUTH_SCHEMA)  # a month's rows at a time
    defects: list[DefectRow] = []
    rows_written = 0
    current: tuple[int, np.ndarray, np.ndarray] | None = None  # rating year, rating, assessed-on day
    for month_start in _months(as_of, months):
        snapshot = min(_month_end(month_start), as_of)
        label = f"{month_start:%Y%m}"
        year = snapshot.year - 1 if snapshot.month >= 4 else snapshot.year - 2
        if current is None or current[0] != year:
            current = (year, *_annual_ratings(stream(seed, f"tax/ratings/{year}"), enterprises, year))
        _, rating, assessed = current
        listed = np.flatnonzero(rateable & (enterprises.established_on <= day_number(dt.date(year, 12, 31))))
        _adjust(stream(seed, f"tax/adjustments/{label}"), listed, rating, assessed, month_start, snapshot)

        true_rows = {
            "uscc": enterprises.uscc[listed].tolist(),
            "name": enterprises.name[listed].tolist(),
            "rating": RATINGS[rating[listed]].tolist(),
            "assessed_on": assessed[listed].astype("datetime64[D]").tolist(),
            "tax_office": TAX_OFFICES[enterprises.division[listed]].tolist(),
        }
        file = f"{TABLE}_{label}.xlsx"
        rows = _plant(stream(seed, f"tax/defects/{label}"), true_rows, year, label, defect_rate, defects)
        _write_workbook(system_dir / file, rows, month_start, snapshot)
        rows_written += len(rows)
        del rows
        truth.extend(
            {
                "record_key": [f"{uscc}|{label}" for uscc in true_rows["uscc"]],
                "month": [label] * len(listed),
                "uscc": true_rows["uscc"],
                "name": true_rows["name"],
                "rating": true_rows["rating"],
                "rating_year": [year] * len(listed),
                "assessed_on": [d.isoformat() for d in true_rows["assessed_on"]],
                "tax_office": true_rows["tax_office"],
                "enterprise_id": (listed + 1).tolist(),
                "file": [file] * len(listed),
            }
        )
        del true_rows
    truth.close()
    write_defects(truth_dir / DEFECTS_FILE, *CREDIT_RATINGS, defects)
    key = "/".join(CREDIT_RATINGS)
    return SystemOutput(
        key=key,
        location=str(system_dir),
        counts={f"{key}/{TABLE}": rows_written},
        defects=dict(Counter(d.defect_kind for d in defects)),
    )


_TRUTH_SCHEMA = pa.schema(
    [(name, pa.int64() if name in ("rating_year", "enterprise_id") else pa.string()) for name in (
        "record_key", "month", "uscc", "name", "rating", "rating_year", "assessed_on", "tax_office", "enterprise_id",
        "file",
    )]
)  # fmt: skip


def _months(as_of: dt.date, months: int) -> list[dt.date]:
    """First days of the ``months`` calendar months ending with ``as_of``'s, oldest first."""
    index = as_of.year * 12 + as_of.month - 1
    return [dt.date(i // 12, i % 12 + 1, 1) for i in range(index - months + 1, index + 1)]


def _month_end(first: dt.date) -> dt.date:
    return (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


def _annual_ratings(rng: np.random.Generator, enterprises: Enterprises, year: int) -> tuple[np.ndarray, np.ndarray]:
    """Every enterprise's rating for ``year`` (published in April of the next year) and when it was assessed."""
    count = len(enterprises)
    rating = rng.choice(len(RATINGS), count, p=RATING_SHARES)
    rating[enterprises.established_on >= day_number(dt.date(year, 1, 1))] = NEW_ENTERPRISE
    assessed = day_number(dt.date(year + 1, 4, 1)) + rng.integers(0, 25, count)
    return rating, assessed


def _adjust(
    rng: np.random.Generator,
    listed: np.ndarray,
    rating: np.ndarray,
    assessed: np.ndarray,
    month_start: dt.date,
    snapshot: dt.date,
) -> None:
    """The month's dynamic adjustments, kept for the following months of the same rating year."""
    first, last = day_number(month_start), day_number(snapshot)
    if not len(listed):
        return
    changed = listed[rng.random(len(listed)) < ADJUSTED_PER_MONTH]
    rating[changed] = (rating[changed] + rng.integers(1, len(RATINGS), len(changed))) % len(RATINGS)
    assessed[changed] = np.maximum(assessed[changed], first + rng.integers(0, last - first + 1, len(changed)))


def _plant(
    rng: np.random.Generator,
    true_rows: dict[str, list],
    year: int,
    label: str,
    defect_rate: float,
    defects: list[DefectRow],
) -> list[list]:
    """The month's rows as exported: 序号 numbered after duplication, one defect at most per record."""
    count = len(true_rows["uscc"])
    has_letters = np.array([any(c.isalpha() for c in uscc) for uscc in true_rows["uscc"]], dtype=bool)
    assigned = plan_record_defects(rng, count, defect_rate, RECORD_DEFECTS, {"lowercase_code": has_letters})
    rows: list[list] = []
    for record in range(count):
        uscc, rating = true_rows["uscc"][record], true_rows["rating"][record]
        row = [0, uscc, true_rows["name"][record], rating, year, true_rows["assessed_on"][record]]
        row.append(true_rows["tax_office"][record])
        kind = RECORD_DEFECTS[assigned[record]] if assigned[record] >= 0 else None
        key = f"{uscc}|{label}"
        if kind == "lowercase_code":
            row[1] = uscc.lower()
            defects.append(DefectRow(TABLE, key, kind, "纳税人识别号", f"{row[1]!r}, true {uscc!r}"))
        elif kind == "stray_whitespace":
            row[1] = WHITESPACE_VARIANTS[int(rng.integers(0, len(WHITESPACE_VARIANTS)))].format(uscc)
            defects.append(DefectRow(TABLE, key, kind, "纳税人识别号", f"{row[1]!r}, true {uscc!r}"))
        elif kind == "invalid_rating":
            row[3] = INVALID_RATING
            defects.append(DefectRow(TABLE, key, kind, "信用等级", f"{INVALID_RATING!r}, true {rating!r}"))
        rows.append(row)
        if kind == "duplicate_row":
            rows.append(list(row))
            defects.append(DefectRow(TABLE, key, kind, "", f"row exported twice in {TABLE}_{label}.xlsx"))
    for number, row in enumerate(rows, start=1):
        row[0] = number
    return rows


def _write_workbook(path: Path, rows: list[list], month_start: dt.date, snapshot: dt.date) -> None:
    """A workbook with the title rows real government workbooks carry. openpyxl writes the title rows, the
    header and the first row (whose date gives the workbook its date style); the other rows are rendered
    as the same XML by ``sheet_row``: openpyxl's cell writer took a quarter of ``simulate``'s time."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(SHEET)
    sheet.append([f"国家税务总局郑州市税务局 {month_start.year}年{month_start.month}月纳税信用评价结果"])
    sheet.append([f"数据截止日期：{snapshot.isoformat()}"])
    sheet.append(list(COLUMNS))
    if rows:
        sheet.append(rows[0])
    first = HEADER_ROW + 2  # the sheet row of ``rows[1]``
    more = (sheet_row(number, zip(LETTERS, row, strict=True)) for number, row in enumerate(rows[1:], start=first))
    used = f"A1:{LETTERS[-1]}{HEADER_ROW + len(rows)}"
    save_reproducibly(workbook, path, dt.datetime.combine(snapshot, dt.time(9, 0)), more, dimension=used)
