"""Helpers for the department systems that deliver files (CSV exports, Excel workbooks) instead of a database.

Those systems' dirt is typographic rather than structural: full-width characters typed with the input
method in the wrong mode, traditional characters from an old font or a Hong Kong keyboard, stray
blanks, dates in whatever format the clerk's spreadsheet chose. The helpers here plant that dirt one
record at a time (the volumes are small: days of births, months of ratings) and write the files and
their ground truth reproducibly, byte for byte.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from citybase.simulator.sampling import allocate
from citybase.simulator.writer import DEFECT_COLUMNS

# Simplified characters of the simulated names (surnames, given names) that have a distinct traditional form.
_TRADITIONAL_PAIRS = (
    "张張 刘劉 陈陳 杨楊 赵趙 黄黃 吴吳 孙孫 马馬 郑鄭 冯馮 邓鄧 罗羅 韩韓 许許 谢謝 叶葉 苏蘇 吕呂 卢盧 "
    "钟鍾 谭譚 陆陸 贾賈 龙龍 汤湯 萧蕭 邹鄒 闫閆 顾顧 龚龔 钱錢 严嚴 "
    "伟偉 强強 军軍 杰傑 涛濤 刚剛 辉輝 鹏鵬 华華 飞飛 凯凱 帅帥 宁寧 阳陽 国國 东東 轩軒 泽澤 诚誠 "
    "丽麗 艳艷 颖穎 红紅 兰蘭 凤鳳 洁潔 云雲 悦悅 诗詩 梦夢 瑶瑤 晓曉 乐樂 艺藝 铭銘 锦錦 静靜"
)
TRADITIONAL = {pair[0]: pair[1] for pair in _TRADITIONAL_PAIRS.split()}
_HAS_TRADITIONAL = re.compile(f"[{''.join(TRADITIONAL)}]")
FULLWIDTH_OFFSET = 0xFEE0  # '1' (U+0031) + offset = '１' (U+FF11), likewise for letters
IDEOGRAPHIC_SPACE = "\u3000"  # the full-width blank a Chinese input method types
WHITESPACE_VARIANTS = (" {}", "{} ", " {} ", "{}" + IDEOGRAPHIC_SPACE, "{}\t")
ID_CHECK_ALPHABET = "0123456789X"
TRUTH_ROW_GROUP = 1024 * 1024  # the rows in a Parquet row group that pq.write_table makes by default


def to_traditional(text: str) -> str:
    return "".join(TRADITIONAL.get(char, char) for char in text)


def has_traditional(text: str) -> bool:
    return bool(_HAS_TRADITIONAL.search(text))


def to_fullwidth(text: str) -> str:
    """ASCII letters and digits as the full-width forms a Chinese input method in full-width mode types."""
    return "".join(chr(ord(c) + FULLWIDTH_OFFSET) if c.isascii() and c.isalnum() else c for c in text)


def other_date_format(day: dt.date, choice: int) -> str:
    """The date as one of the formats seen besides ISO: 2020/1/5, 20200105, 2020年1月5日, 2020.01.05."""
    formats = (
        f"{day.year}/{day.month}/{day.day}",
        f"{day:%Y%m%d}",
        f"{day.year}年{day.month}月{day.day}日",
        f"{day:%Y.%m.%d}",
    )
    return formats[choice % len(formats)]


def wrong_check_char(id_number: str, shift: int) -> str:
    """The ID number with its check character replaced by another one (shift in 1..10)."""
    check = ID_CHECK_ALPHABET[(ID_CHECK_ALPHABET.index(id_number[-1]) + shift) % len(ID_CHECK_ALPHABET)]
    return id_number[:-1] + check


def plan_record_defects(
    rng: np.random.Generator, rows: int, defect_rate: float, kinds: tuple[str, ...], eligible: dict[str, np.ndarray]
) -> np.ndarray:
    """For each record the index into ``kinds`` of its one defect, or -1 for a clean record.

    A ``defect_rate`` share of the records is split evenly across the kinds; a kind only lands on
    records ``eligible[kind]`` allows (a lower-case x needs an ID ending in X), scarcest kind first, so a
    kind with too few candidates gets fewer records rather than none of the others.
    """
    assigned = np.full(rows, -1, dtype=np.int64)
    if rows == 0 or defect_rate <= 0:
        return assigned
    per_kind = allocate(round(defect_rate * rows), np.ones(len(kinds)))
    every = np.ones(rows, dtype=bool)
    masks = [eligible.get(kind, every) for kind in kinds]
    for index in sorted(range(len(kinds)), key=lambda k: (int(masks[k].sum()), k)):
        candidates = np.flatnonzero(masks[index] & (assigned < 0))
        chosen = rng.choice(candidates, min(int(per_kind[index]), len(candidates)), replace=False)
        assigned[chosen] = index
    return assigned


@dataclass(frozen=True)
class DefectRow:
    """One line of ``defects_<department>__<system>.csv``."""

    table: str
    record_key: str
    defect_kind: str
    column: str
    detail: str


def write_defects(path: Path, department: str, system: str, defects: list[DefectRow]) -> None:
    """The ground-truth defects of one file-drop system, with the columns of ``ground_truth/defects.csv``."""
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(DEFECT_COLUMNS)
        writer.writerows(
            (department, system, d.table, d.record_key, d.defect_kind, d.column, d.detail) for d in defects
        )


def write_truth(path: Path, columns: dict[str, list]) -> None:
    """True values as Parquet; text stays text except booleans and integer ids."""
    pq.write_table(pa.table({name: pa.array(values) for name, values in columns.items()}), path)


class TruthWriter:
    """``write_truth`` for columns that arrive in parts (a month at a time): the same file, byte for byte,
    without holding every part's values. Parts are kept as Arrow columns only until they fill a row group
    of the size ``pq.write_table`` cuts, which is then written.
    """

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self._path, self._schema = path, schema
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self._writer: pq.ParquetWriter | None = None

    def extend(self, columns: dict[str, list]) -> None:
        part = pa.table({name: pa.array(values, field.type) for (name, values), field in zip(
            columns.items(), self._schema, strict=True)}, schema=self._schema)  # fmt: skip
        self._pending.append(part)
        self._pending_rows += part.num_rows
        while self._pending_rows >= TRUTH_ROW_GROUP:
            self._write(TRUTH_ROW_GROUP)

    def close(self) -> None:
        if self._writer is None and not self._pending_rows:  # as write_truth writes empty lists: untyped
            write_truth(self._path, {name: [] for name in self._schema.names})
            return
        if self._pending_rows:
            self._write(self._pending_rows)
        self._writer.close()

    def _write(self, rows: int) -> None:
        pending = pa.concat_tables(self._pending).combine_chunks()
        if self._writer is None:
            self._writer = pq.ParquetWriter(self._path, self._schema)
        self._writer.write_table(pending.slice(0, rows))
        rest = pending.slice(rows)
        self._pending, self._pending_rows = [rest.combine_chunks()], rest.num_rows


def csv_lines(rows: list[tuple]) -> list[str]:
    """Each row as one CSV line with Windows line ends, the way the departments' export tools write them."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    lines = []
    for row in rows:
        writer.writerow(row)
        lines.append(buffer.getvalue())
        buffer.seek(0)
        buffer.truncate()
    return lines


ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_CORE_TIMES = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")


def save_reproducibly(
    workbook, path: Path, when: dt.datetime, more_rows: Iterable[str] = (), dimension: str | None = None
) -> None:
    """Save an openpyxl workbook so that the same content gives the same bytes.

    openpyxl stamps the save time into docProps/core.xml and the zip entries; both are pinned here
    (the document times to ``when``, the entries to the zip epoch). ``more_rows``, worksheet XML of rows
    (see ``sheet_row``), are streamed onto the end of the only worksheet's data as it is copied.
    ``dimension`` (``"A1:G523000"``) is the sheet's used range, declared as Excel and WPS declare it:
    openpyxl's write-only mode leaves it out, and a reader without it parses the whole sheet to learn its size.
    """
    buffer = io.BytesIO()
    workbook.save(buffer)
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as source, zipfile.ZipFile(path, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "docProps/core.xml":
                data = _CORE_TIMES.sub(lambda m: m.group(1) + stamp + m.group(3), data)
            pinned = zipfile.ZipInfo(info.filename, date_time=ZIP_EPOCH)
            pinned.compress_type = zipfile.ZIP_DEFLATED
            pinned.external_attr = 0o600 << 16
            if info.filename != "xl/worksheets/sheet1.xml":
                target.writestr(pinned, data)
                continue
            head, tail = data.split(b"</sheetData>")
            if dimension is not None:
                head = _with_dimension(head, dimension)
            with target.open(pinned, "w") as entry:
                entry.write(head)
                rows = iter(more_rows)
                while chunk := "".join(itertools.islice(rows, 10_000)):
                    entry.write(chunk.encode())
                entry.write(b"</sheetData>" + tail)


def _with_dimension(head: bytes, dimension: str) -> bytes:
    """The worksheet XML's head with ``<dimension>`` where the schema puts it: after ``<sheetPr>``, if any."""
    end = head.find(b"</sheetPr>")
    at = end + len(b"</sheetPr>") if end >= 0 else head.index(b">", head.index(b"<worksheet")) + 1
    return head[:at] + f'<dimension ref="{dimension}" />'.encode() + head[at:]


def sheet_row(number: int, cells: Iterable[tuple[str, object]]) -> str:
    """Worksheet row ``number`` as openpyxl writes it, ~50 times faster: ``cells`` are (column letter,
    value) with a value an int, a non-empty str (an inline string) or a date (a serial in the workbook's
    first cell style, openpyxl's date format, which the workbook must already hold)."""
    xml = [f'<row r="{number}">']
    for column, value in cells:
        if isinstance(value, str) and value:
            stripped = value.strip()
            space = ' xml:space="preserve"' if stripped and stripped != value else ""
            xml.append(f'<c r="{column}{number}" t="inlineStr"><is><t{space}>{escape(value)}</t></is></c>')
        elif isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            xml.append(f'<c r="{column}{number}" s="1" t="n"><v>{value.toordinal() - _EXCEL_DAY_ZERO}</v></c>')
        elif isinstance(value, int) and not isinstance(value, bool):
            xml.append(f'<c r="{column}{number}" t="n"><v>{value}</v></c>')
        else:  # openpyxl writes these otherwise (empty cells, booleans, datetimes, floats)
            raise TypeError(f"sheet_row writes ints, non-empty strs and dates, not {value!r}")
    xml.append("</row>")
    return "".join(xml)


_EXCEL_DAY_ZERO = dt.date(1899, 12, 30).toordinal()  # Excel's serial 0 (serials count from 1900-03-01 on)
