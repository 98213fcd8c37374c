"""The workbook benchmark's two sides land the same rows from a drop shaped as the tax bureau's."""

from __future__ import annotations

import datetime as dt

import pyarrow.parquet as pq
from openpyxl import Workbook

from bench.workbook import _ours, _pandas

HEADER = ["序号", "纳税人识别号", "纳税人名称", "信用等级", "评价年度", "评价日期", "主管税务机关"]


def _month(path, rows: int) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["国家税务总局郑州市税务局 纳税信用评价结果"])
    sheet.append(["数据截止日期：2025-10-31"])
    sheet.append(HEADER)
    for number in range(1, rows + 1):
        sheet.append([number, f"91410100MA{number:08d}", f"企业{number}", "B", 2024, dt.date(2025, 4, 11), "金水区"])
    book.save(path)


def test_both_sides_land_every_row_under_the_header(tmp_path):
    drop = tmp_path / "drop"
    drop.mkdir()
    _month(drop / "taxpayer_credit_202510.xlsx", 7)
    _month(drop / "taxpayer_credit_202511.xlsx", 5)
    landed = _ours(drop, tmp_path / "ours")
    assert landed == _pandas(drop, tmp_path / "pandas") == _pandas(drop, tmp_path / "calamine", "calamine") == 12
    (landed,) = (tmp_path / "ours").rglob("batch-*.parquet")
    table = pq.read_table(landed)
    assert table.column_names[: len(HEADER)] == HEADER
    assert table.column("评价日期").to_pylist()[0] == "2025-04-11"
    assert table.column("序号").to_pylist()[:2] == ["1", "2"]
