"""The city-scale benchmark's inputs: the persons copied with fresh keys (and no dangling reference), exported
as GB18030 as they are."""

from __future__ import annotations

import csv
import sqlite3

from bench.city_scale import replicate
from bench.file_drop import export_gb18030

PERSONS = [
    (1, "410183194104104228", "刘凤艳", "郑州市新密市矿区街道平安路96号"),
    (2, "41018219460810471x", "王晓艺", None),
    (5, None, "李\u3000明", '金水区"花园路"12号, 3单元'),  # an ideographic space, quotes and a comma
]


def _persons(path) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute(
            "create table persons (person_id INTEGER PRIMARY KEY, id_number TEXT, name TEXT, "
            "address TEXT references addresses (address))"
        )
        connection.executemany("insert into persons values (?, ?, ?, ?)", PERSONS)


def test_replicate_copies_every_row_under_fresh_keys(tmp_path):
    _persons(tmp_path / "small.sqlite")
    assert replicate(tmp_path / "small.sqlite", tmp_path / "large.sqlite", 3) == 9
    with sqlite3.connect(tmp_path / "large.sqlite") as connection:
        rows = connection.execute("select * from persons order by person_id").fetchall()
        assert not connection.execute("pragma foreign_key_list(persons)").fetchall()
    assert [row[0] for row in rows] == [1, 2, 5, 6, 7, 10, 11, 12, 15]
    assert [row[1:] for row in rows] == [person[1:] for person in PERSONS] * 3


def test_export_writes_the_table_as_gb18030_csv(tmp_path):
    _persons(tmp_path / "small.sqlite")
    export_gb18030(tmp_path / "small.sqlite", tmp_path / "drop")
    assert [path.name for path in (tmp_path / "drop").iterdir()] == ["persons.csv"]  # the UTF-8 copy is gone
    with (tmp_path / "drop" / "persons.csv").open(encoding="gb18030", newline="") as handle:
        header, *rows = csv.reader(handle)
    assert header == ["person_id", "id_number", "name", "address"]
    assert rows == [[str(key), *("" if value is None else value for value in rest)] for key, *rest in PERSONS]
